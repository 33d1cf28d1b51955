#!/bin/sh
# strata-img rebase against qemu-img rebase on twin directories: the same content and the same
# allocation afterwards (map), the same backing file recorded, the same errors and exit codes.
. "$SRC_DIR/tests/lib/tap.sh"

mkdir -p ours ref
for d in ours ref; do
	qemu-img create -q -f raw $d/b0.raw 4M
	qemu-io -f raw -c 'write -P 1 0 4M' $d/b0.raw >/dev/null
	qemu-img create -q -f raw $d/b1.raw 4M
	qemu-io -f raw -c 'write -P 1 0 2M' -c 'write -P 1 3M 1000' $d/b1.raw >/dev/null
	qemu-img create -q -f raw $d/short.raw 1M
	qemu-io -f raw -c 'write -P 1 0 1M' $d/short.raw >/dev/null
	qemu-img create -q -f qcow2 -b b0.raw -F raw $d/top.qcow2
	qemu-io -c 'write -P 9 1M 64k' -c 'write -P 8 3149824 512' $d/top.qcow2 >/dev/null
	cp $d/top.qcow2 $d/top0.qcow2
done

compare_rebase() {
	name=$1
	img=$2
	shift 2
	(cd ours && "$IMG" rebase "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img rebase "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.e
	for d in ours ref; do
		(cd $d && qemu-img info -U "$img" | grep '^backing file'
		 qemu-img map --output=json -U "$img" 2>&1 | sed 's/"offset": [0-9]*//') >$d.state 2>&1
	done
	if cmp -s o.out r.out && cmp -s o.err r.e && cmp -s ours.state ref.state; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
		diff ours.state ref.state | head -n 20 | sed 's/^/# /'
	fi
}

compare_rebase "safe rebase onto a different backing" top.qcow2 -b b1.raw -F raw top.qcow2
check "content unchanged by the safe rebase" qemu-img compare ours/top.qcow2 ref/top0.qcow2
compare_rebase "rebase onto a shorter backing" top.qcow2 -b short.raw -F raw top.qcow2
check "content unchanged again" qemu-img compare ours/top.qcow2 ref/top0.qcow2
compare_rebase "unsafe rebase to a missing file" top.qcow2 -u -b nofile -F raw top.qcow2
compare_rebase "safe rebase with a missing old backing" top.qcow2 -b b0.raw -F raw top.qcow2
compare_rebase "unsafe rebase back" top.qcow2 -u -b b1.raw -F raw top.qcow2
compare_rebase "missing new backing" top.qcow2 -b nofile2 -F raw top.qcow2
compare_rebase "no -b without -u" top.qcow2 top.qcow2
compare_rebase "no backing format" top.qcow2 -b b0.raw top.qcow2
compare_rebase "remove the backing file (safe)" top.qcow2 -b "" top.qcow2
check "content unchanged after removing the backing" qemu-img compare ours/top.qcow2 ref/top0.qcow2
compare_rebase "raw has no backing file" b0.raw -f raw -b x -F raw b0.raw
check "qemu-img check clean" qemu-img check ours/top.qcow2
tap_end
