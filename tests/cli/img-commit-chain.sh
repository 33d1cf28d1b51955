#!/bin/sh
# commit -b NAME finds the base as qemu-img 7.2 does (NAME relative to the image above each
# layer, never to the working directory), and plain commit of a vmdk overlay commits (the
# overlay keeps its data: vmdk cannot be emptied), compared with qemu-img on twin copies.
. "$SRC_DIR/tests/lib/tap.sh"

mkdir -p d/sub
qemu-img create -q -f qcow2 d/sub/base.qcow2 1M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 d/sub/mid.qcow2
qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 d/top.qcow2
qemu-io -c 'write -P 7 0 64k' d/top.qcow2 >/dev/null
tar cf chain.tar d
for b in base.qcow2 sub/base.qcow2 d/sub/base.qcow2 mid.qcow2 sub/mid.qcow2 "$PWD/d/sub/base.qcow2" \
	 ../d/sub/base.qcow2; do
	for t in qemu-img "$IMG"; do
		rm -rf d
		tar xf chain.tar
		$t commit -b "$b" d/top.qcow2 >x.out 2>&1
		echo "rc=$?" >>x.out
		for i in d/top.qcow2 d/sub/mid.qcow2 d/sub/base.qcow2; do
			qemu-io -r -c 'read -P 7 0 64k' $i | grep -c verification >>x.out
		done
		normalize x.out >x.$(basename $t)
	done
	same_file "commit -b $b: as qemu-img" x.strata-img x.qemu-img
done

for t in qemu-img "$IMG"; do
	rm -f base.vmdk top.vmdk
	qemu-img create -q -f vmdk base.vmdk 1M
	qemu-io -c 'write -P 1 0 1M' base.vmdk >/dev/null
	qemu-img create -q -f vmdk -b base.vmdk -F vmdk top.vmdk
	qemu-io -c 'write -P 2 64k 64k' top.vmdk >/dev/null
	$t commit top.vmdk >x.out 2>&1
	echo "rc=$?" >>x.out
	qemu-io -r -c 'read -P 1 0 64k' -c 'read -P 2 64k 64k' -c 'read -P 1 128k 896k' base.vmdk |
		grep -c verification >>x.out
	qemu-img map top.vmdk >>x.out
	qemu-img check base.vmdk | head -n 1 >>x.out
	normalize x.out >x.$(basename $t)
done
same_file "commit of a vmdk overlay: as qemu-img" x.strata-img x.qemu-img

tap_end
