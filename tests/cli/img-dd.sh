#!/bin/sh
# strata-img dd against qemu-img dd on twin directories: messages, exit codes, output image
# size, format and content.
. "$SRC_DIR/tests/lib/tap.sh"

mkdir -p ours ref
for d in ours ref; do
	qemu-img create -q -f raw $d/in.raw 1M
	qemu-io -f raw -c 'write -P 1 0 512k' -c 'write -P 2 512k 512k' $d/in.raw >/dev/null
done

compare_dd() {
	name=$1
	out=$2
	shift 2
	(cd ours && "$IMG" dd "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img dd "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.e
	if [ -n "$out" ] && [ -f "ref/$out" ]; then
		qemu-img info --output=json "ours/$out" | grep -E '"(virtual-size|format)"' >>o.out
		qemu-img info --output=json "ref/$out" | grep -E '"(virtual-size|format)"' >>r.out
		qemu-img compare "ours/$out" "ref/$out" >>o.out 2>&1
		echo "Images are identical." >>r.out
	fi
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
}

compare_dd "whole image" o1.raw if=in.raw of=o1.raw
compare_dd "bs count skip (skip counts against count)" o2.raw if=in.raw of=o2.raw bs=4k count=10 skip=2
compare_dd "qcow2 output" o3.qcow2 -O qcow2 if=in.raw of=o3.qcow2
compare_dd "odd block size" o4.raw if=in.raw of=o4.raw bs=1000
compare_dd "skip only" o5.raw if=in.raw of=o5.raw skip=1000
compare_dd "count past the end" o6.raw if=in.raw of=o6.raw bs=64k count=100
compare_dd "skip past the end" o7.raw if=in.raw of=o7.raw bs=1M skip=3
compare_dd "vdi output with input format" o8.vdi -f raw -O vdi if=in.raw of=o8.vdi bs=64k count=3
compare_dd "no output" "" if=in.raw
compare_dd "unknown operand" "" if=in.raw of=x bogus=1
compare_dd "bad count" "" if=in.raw of=x count=abc
compare_dd "bs=0" "" if=in.raw of=x bs=0
compare_dd "missing input" "" if=nofile of=x
tap_end
