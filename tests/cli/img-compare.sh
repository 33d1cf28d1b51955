#!/bin/sh
# strata-img compare against qemu-img compare: identical, different (sector offsets), size
# mismatch (plain and strict), allocation differences in strict mode, errors and exit codes.
. "$SRC_DIR/tests/lib/tap.sh"


qemu-img create -q -f raw c1.raw 4M
qemu-img create -q -f qcow2 c2.qcow2 4M
compare_img "empty raw vs empty qcow2" compare c1.raw c2.qcow2
qemu-io -f raw -c 'write -P 1 1000 1' c1.raw >/dev/null
compare_img "one byte differs" compare c1.raw c2.qcow2
compare_img "one byte differs, reversed" compare c2.qcow2 c1.raw
compare_img "quiet" compare -q c1.raw c2.qcow2
qemu-img create -q -f qcow2 c3.qcow2 5M
compare_img "size mismatch, zero tail" compare c2.qcow2 c3.qcow2
compare_img "strict size mismatch" compare -s c2.qcow2 c3.qcow2
qemu-io -c 'write -P 5 4M 1' c3.qcow2 >/dev/null
compare_img "size mismatch, data in tail" compare c2.qcow2 c3.qcow2
qemu-io -c 'write -z 0 64k' c2.qcow2 >/dev/null
qemu-img create -q -f qcow2 c4.qcow2 4M
compare_img "strict: zero cluster vs unallocated" compare -s c2.qcow2 c4.qcow2
compare_img "not strict: zero cluster vs unallocated" compare c2.qcow2 c4.qcow2
compare_img "explicit formats" compare -f raw -F qcow2 c1.raw c4.qcow2
qemu-io -c 'write -P 0 0 64k' c4.qcow2 >/dev/null
compare_img "strict: zero cluster vs zero data" compare -s c2.qcow2 c4.qcow2
compare_img "zero cluster vs zero data" compare c2.qcow2 c4.qcow2
qemu-io -c 'write -P 7 2M 300k' c4.qcow2 >/dev/null
qemu-img convert -O raw c4.qcow2 c4.raw
compare_img "converted copy identical" compare c4.qcow2 c4.raw
qemu-io -f raw -c 'write -P 8 2M 512' c4.raw >/dev/null
compare_img "converted copy, one sector changed" compare c4.qcow2 c4.raw
qemu-img create -q -f qcow2 -b c4.raw -F raw ov.qcow2
compare_img "overlay reads through backing" compare ov.qcow2 c4.raw
compare_img "missing second file" compare c1.raw nofile
compare_img "one file only" compare c1.raw
compare_img "unknown option" compare --bogus c1.raw c2.qcow2
tap_end
