#!/bin/sh
# A qcow2 cut short, also inside its header cluster: qemu-img reads the missing bytes as zeros
# (its host layer zero-fills a read past the end), so it opens such a file when the header
# fields it needs are there and `check` reports what is missing. strata-img must do exactly the
# same: info, check and check --output=json compared with qemu-img (output and exit status) for
# prefixes of fresh v3, v2, backing-file and zstd images, and no read-only command may change
# the file. Also the compression-type checks of the header, in qemu's words.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 base.qcow2 1M
qemu-img create -q -f qcow2 v3.qcow2 64M
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 64M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 back.qcow2 64M
qemu-img create -q -f qcow2 -o compression_type=zstd zstd.qcow2 64M
qemu-io -c 'write -P 7 0 64k' v3.qcow2 >/dev/null

for img in v3 v2 back zstd; do
	for len in 0 8 72 100 104 112 200 300 500 1000 4096 65536 196608; do
		head -c $len $img.qcow2 >t.qcow2
		cp t.qcow2 t.orig
		for cmd in info check; do
			compare_img "$img cut at $len: $cmd" $cmd t.qcow2
			compare_img "$img cut at $len: $cmd --output=json" $cmd --output=json t.qcow2
		done
		same_file "$img cut at $len: unchanged by info and check" t.qcow2 t.orig
	done
done
# the compression type field against its incompatible feature bit (read from the header's
# first 105 bytes, so a cut file reaches these checks too)
cp zstd.qcow2 nobit.qcow2
printf '\000' | dd of=nobit.qcow2 bs=1 seek=79 conv=notrunc 2>/dev/null
cp zstd.qcow2 type2.qcow2
printf '\002' | dd of=type2.qcow2 bs=1 seek=104 conv=notrunc 2>/dev/null
cp v3.qcow2 zlibbit.qcow2
printf '\010' | dd of=zlibbit.qcow2 bs=1 seek=79 conv=notrunc 2>/dev/null
for img in nobit type2 zlibbit; do
	compare_img "$img: info" info $img.qcow2
done
tap_end
