#!/bin/sh
# strata-img resize against qemu-img resize on twin images: output, errors, exit codes and the
# resulting size and content.
. "$SRC_DIR/tests/lib/tap.sh"

mkdir -p ours ref
compare_resize() {
	name=$1
	shift
	(cd ours && "$IMG" resize "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img resize "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.e
	qemu-img info --output=json ours/"$img" | grep virtual-size >>o.out 2>&1
	qemu-img info --output=json ref/"$img" | grep virtual-size >>r.out 2>&1
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
}

img=z.raw
for d in ours ref; do
	qemu-img create -q -f raw $d/z.raw 1M
	qemu-io -f raw -c 'write -P 9 0 1M' $d/z.raw >/dev/null
done
compare_resize "grow absolute" -f raw z.raw 2M
compare_resize "grow relative" -f raw z.raw +1M
compare_resize "shrink without --shrink" -f raw z.raw -- -512k
compare_resize "shrink relative" -f raw --shrink z.raw -- -512k
compare_resize "bad size" -f raw z.raw 1X
compare_resize "grow preallocated" -f raw --preallocation=full z.raw +1M
compare_resize "bad preallocation" -f raw --preallocation=bogus z.raw +1M
compare_resize "quiet" -q -f raw z.raw 4M
compare_resize "probed raw warns" z.raw 5M
compare_resize "missing size" -f raw z.raw
compare_resize "shrink below zero" -f raw z.raw -- -100M
compare_resize "shrink to an unaligned size" -f raw --shrink z.raw 1000
compare_resize "missing file" -f raw nofile.raw 1M
same_file "content after resizes" ours/z.raw ref/z.raw
tap_end
