#!/bin/sh
# strata-img map against qemu-img map: human and JSON output for raw files with holes and data,
# qcow2 backing chains with data, zero clusters and unallocated ranges, and option errors.
. "$SRC_DIR/tests/lib/tap.sh"


qemu-img create -q -f raw r.raw 4M
qemu-io -f raw -c 'write -P 1 0 4k' -c 'write -P 2 1M 64k' -c 'write -P 3 3M 1M' r.raw >/dev/null
compare_img "raw human" map -f raw r.raw
compare_img "raw json" map -f raw --output=json r.raw
compare_img "raw json window" map -f raw --output=json --start-offset=512k --max-length=1M r.raw

qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -c 'write -P 1 1M 128k' -c 'write -z 2M 64k' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-io -c 'write -P 2 0 64k' -c 'write -z 1M 64k' mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 3 3M 192k' top.qcow2 >/dev/null
compare_img "qcow2 chain human" map top.qcow2
compare_img "qcow2 chain json" map --output=json top.qcow2
compare_img "qcow2 chain json window" map --output=json --start-offset=1M --max-length=100k top.qcow2
compare_img "qcow2 single layer json" map --output=json base.qcow2
qemu-img create -q -f vdi -o static=on st.vdi 4M
qemu-io -c 'write -P 1 0 64k' st.vdi >/dev/null
compare_img "static vdi human (data known to be zero is not listed)" map st.vdi
compare_img "static vdi json" map --output=json st.vdi
compare_img "window past the end" map --output=json --start-offset=8M r.raw
compare_img "missing file" map nofile.qcow2
compare_img "bad --output" map --output=yaml r.raw
compare_img "no file name" map
tap_end
