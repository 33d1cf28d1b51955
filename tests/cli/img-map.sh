#!/bin/sh
# strata-img map against qemu-img map: human and JSON output for raw files with holes and data,
# qcow2 backing chains with data, zero clusters and unallocated ranges, and option errors.
. "$SRC_DIR/tests/lib/tap.sh"

compare_map() {
	name=$1
	shift
	"$IMG" map "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img map "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	normalize r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -n 20 | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
}

qemu-img create -q -f raw r.raw 4M
qemu-io -f raw -c 'write -P 1 0 4k' -c 'write -P 2 1M 64k' -c 'write -P 3 3M 1M' r.raw >/dev/null
compare_map "raw human" -f raw r.raw
compare_map "raw json" -f raw --output=json r.raw
compare_map "raw json window" -f raw --output=json --start-offset=512k --max-length=1M r.raw

qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -c 'write -P 1 1M 128k' -c 'write -z 2M 64k' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-io -c 'write -P 2 0 64k' -c 'write -z 1M 64k' mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 3 3M 192k' top.qcow2 >/dev/null
compare_map "qcow2 chain human" top.qcow2
compare_map "qcow2 chain json" --output=json top.qcow2
compare_map "qcow2 chain json window" --output=json --start-offset=1M --max-length=100k top.qcow2
compare_map "qcow2 single layer json" --output=json base.qcow2
compare_map "window past the end" --output=json --start-offset=8M r.raw
compare_map "missing file" nofile.qcow2
compare_map "bad --output" --output=yaml r.raw
compare_map "no file name"
tap_end
