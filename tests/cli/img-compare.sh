#!/bin/sh
# strata-img compare against qemu-img compare: identical, different (sector offsets), size
# mismatch (plain and strict), allocation differences in strict mode, errors and exit codes.
. "$SRC_DIR/tests/lib/tap.sh"

compare_cmp() {
	name=$1
	shift
	"$IMG" compare "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img compare "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	normalize r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
}

qemu-img create -q -f raw c1.raw 4M
qemu-img create -q -f qcow2 c2.qcow2 4M
compare_cmp "empty raw vs empty qcow2" c1.raw c2.qcow2
qemu-io -f raw -c 'write -P 1 1000 1' c1.raw >/dev/null
compare_cmp "one byte differs" c1.raw c2.qcow2
compare_cmp "one byte differs, reversed" c2.qcow2 c1.raw
compare_cmp "quiet" -q c1.raw c2.qcow2
qemu-img create -q -f qcow2 c3.qcow2 5M
compare_cmp "size mismatch, zero tail" c2.qcow2 c3.qcow2
compare_cmp "strict size mismatch" -s c2.qcow2 c3.qcow2
qemu-io -c 'write -P 5 4M 1' c3.qcow2 >/dev/null
compare_cmp "size mismatch, data in tail" c2.qcow2 c3.qcow2
qemu-io -c 'write -z 0 64k' c2.qcow2 >/dev/null
qemu-img create -q -f qcow2 c4.qcow2 4M
compare_cmp "strict: zero cluster vs unallocated" -s c2.qcow2 c4.qcow2
compare_cmp "not strict: zero cluster vs unallocated" c2.qcow2 c4.qcow2
compare_cmp "explicit formats" -f raw -F qcow2 c1.raw c4.qcow2
qemu-io -c 'write -P 0 0 64k' c4.qcow2 >/dev/null
compare_cmp "strict: zero cluster vs zero data" -s c2.qcow2 c4.qcow2
compare_cmp "zero cluster vs zero data" c2.qcow2 c4.qcow2
qemu-io -c 'write -P 7 2M 300k' c4.qcow2 >/dev/null
qemu-img convert -O raw c4.qcow2 c4.raw
compare_cmp "converted copy identical" c4.qcow2 c4.raw
qemu-io -f raw -c 'write -P 8 2M 512' c4.raw >/dev/null
compare_cmp "converted copy, one sector changed" c4.qcow2 c4.raw
qemu-img create -q -f qcow2 -b c4.raw -F raw ov.qcow2
compare_cmp "overlay reads through backing" ov.qcow2 c4.raw
compare_cmp "missing second file" c1.raw nofile
compare_cmp "one file only" c1.raw
compare_cmp "unknown option" --bogus c1.raw c2.qcow2
tap_end
