#!/bin/sh
# convert -o backing_file=B[,backing_fmt=F] is convert -B B [-F F], as in qemu-img 7.2: what the
# source leaves to its backing file is not copied into the target (same map, same content).
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 B.qcow2 1M
qemu-io -c 'write -P 0x44 0 64k' B.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b B.qcow2 -F qcow2 SRC.qcow2
qemu-io -c 'write -P 0x55 128k 64k' SRC.qcow2 >/dev/null
qemu-img convert -O raw SRC.qcow2 src.raw
for src in SRC.qcow2 src.raw; do
	for o in "-o backing_file=B.qcow2,backing_fmt=qcow2" "-o backing_file=B.qcow2 -F qcow2" \
		 "-B B.qcow2 -F qcow2"; do
		for t in qemu-img "$IMG"; do
			rm -f dst.qcow2
			$t convert -O qcow2 $o $src dst.qcow2 >x.out 2>&1
			echo "rc=$?" >>x.out
			qemu-io -r -c map dst.qcow2 >>x.out
			qemu-img compare $src dst.qcow2 >>x.out 2>&1
			qemu-img info dst.qcow2 | grep backing >>x.out
			qemu-img check dst.qcow2 | head -n 1 >>x.out
			normalize x.out >x.$(basename $t)
		done
		same_file "convert $o $src: as qemu-img" x.strata-img x.qemu-img
	done
done
compare_img "-o backing_file with two sources refused" \
	convert -O qcow2 -o backing_file=B.qcow2,backing_fmt=qcow2 SRC.qcow2 src.raw d2.qcow2

tap_end
