#!/bin/sh
# strata-img create / info against qemu-img on raw images: identical stdout, stderr and exit
# codes, for good and bad input.
. "$SRC_DIR/tests/lib/tap.sh"

# compare_cmd NAME ARGS...: runs "strata-img ARGS" and "qemu-img ARGS" in twin directories
# (same relative file names) and compares stdout, stderr and the exit status.
compare_cmd() {
	name=$1
	shift
	mkdir -p ours ref
	(cd ours && "$IMG" "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.err2
	if cmp -s o.out r.out && cmp -s o.err r.err2; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'
		diff o.err r.err2 | sed 's/^/# /'
	fi
}

for size in 0 1 511 512 1000 64k 1M 1.5M 1G 3G 2T 0x10000 1.3k 100b; do
	compare_cmd "create raw $size" create -f raw img.raw "$size"
	compare_cmd "info raw $size" info img.raw
	compare_cmd "info -f raw --output=json $size" info -f raw --output=json img.raw
done
for mode in off falloc full; do
	compare_cmd "create preallocation=$mode" create -f raw -o preallocation=$mode pre.raw 3M
	compare_cmd "info preallocation=$mode" info pre.raw
	compare_cmd "info json preallocation=$mode" info --output=json pre.raw
done
compare_cmd "create -q" create -q -f raw q.raw 1M
compare_cmd "create -o size=" create -f raw -o size=4k osize.raw
compare_cmd "create -o help" create -f raw -o help
compare_cmd "info sparse file with data" info q.raw

# bad input
compare_cmd "size 1X" create -f raw bad.raw 1X
compare_cmd "size -1" create -f raw bad.raw -1
compare_cmd "size overflow" create -f raw bad.raw 99999999999999999999
compare_cmd "size 9E" create -f raw bad.raw 9E
compare_cmd "size 1.5 without suffix" create -f raw bad.raw 1.5
compare_cmd "unknown -o key" create -f raw -o foo=bar bad.raw 1M
compare_cmd "bad preallocation" create -f raw -o preallocation=bogus bad.raw 1M
compare_cmd "unknown format" create -f nosuch bad.raw 1M
compare_cmd "no size" create -f raw bad.raw
compare_cmd "no file name" create -f raw
compare_cmd "size twice" create -f raw -o size=1k bad.raw 2k
compare_cmd "backing for raw" create -f raw -b x -F raw bad.raw 1M
compare_cmd "missing directory" create -f raw /nonexistent/dir/bad.raw 1M
compare_cmd "unknown option" create --bogus -f raw bad.raw 1M
compare_cmd "info missing file" info nofile.raw
compare_cmd "info no file name" info
compare_cmd "info two file names" info a b
compare_cmd "info bad --output" info --output=xml img.raw
compare_cmd "info unknown option" info --bogus img.raw
compare_cmd "info unknown driver" info -f nosuch img.raw
compare_cmd "unknown command" bogus
compare_cmd "no command" 
mkdir -p ours/dir ref/dir
compare_cmd "info on a directory" info dir
: >ours/empty.raw; : >ref/empty.raw
compare_cmd "info zero-length file" info empty.raw
compare_cmd "info zero-length json" info --output=json empty.raw
compare_cmd "check raw" check img.raw
compare_cmd "check raw json" check --output=json img.raw

# -o help for every format: sorted, host-file options left out
for f in raw qcow2 vmdk vdi; do
	compare_cmd "create -f $f -o help" create -f $f -o help
done
# size taken from the backing file shows in the "Formatting" line
for d in ours ref; do qemu-img create -q -f qcow2 $d/base.qcow2 10M; done
compare_cmd "qcow2 size from backing" create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
compare_cmd "vmdk size from backing" create -f vmdk -b base.qcow2 -F qcow2 top.vmdk
compare_cmd "missing backing file" create -f qcow2 -b nobase.qcow2 -F qcow2 top2.qcow2
compare_cmd "backing without -F" create -f qcow2 -b base.qcow2 nf.qcow2
compare_cmd "backing without -F, missing" create -f qcow2 -b nobase.qcow2 nf2.qcow2
compare_cmd "backing without -F, -u" create -f qcow2 -u -b nobase.qcow2 nf3.qcow2 1M

# invoked through a symlink named qemu-img, messages carry that name
ln -s "$IMG" qemu-img
./qemu-img info nofile.raw 2>link.err
qemu-img info nofile.raw 2>ref.err
same_file "messages carry argv[0]'s name" link.err ref.err

tap_end
