#!/bin/sh
# strata-img bench against qemu-img bench: the same report lines (run time masked), the same
# errors and exit codes, and written data that reads back with the pattern.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f raw b.raw 4M
mask() { sed -e 's/Run completed in [0-9.]* seconds./Run completed in X seconds./' "$@"; }

compare_bench() {
	name=$1
	shift
	"$IMG" bench "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img bench "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	mask o.out >o.m; mask r.out >r.m; normalize r.err >r.e
	if cmp -s o.m r.m && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.m r.m | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
}

compare_bench "read defaults" -c 1000 -f raw b.raw
compare_bench "read qd1 64k" -c 100 -d 1 -s 64k -f raw b.raw
compare_bench "write with offset and step" -w -c 100 -o 1M -S 8k -f raw b.raw
compare_bench "write with flush interval" -w -c 100 -d 4 --flush-interval=8 -f raw b.raw
compare_bench "O_DIRECT reads" -c 100 -t none -f raw b.raw
compare_bench "io_uring reads" -c 100 -i io_uring -f raw b.raw
compare_bench "offset wraps at the end" -c 2000 -s 4k -o 4092k -f raw b.raw
compare_bench "flush interval without -w" --flush-interval=4 -f raw b.raw
compare_bench "flush interval below depth" -w --flush-interval=4 -f raw b.raw
compare_bench "bad count" -c x -f raw b.raw
compare_bench "missing file" -c 1 nofile.raw
compare_bench "no file" -c 1

"$IMG" bench -w -c 64 -s 64k --pattern=171 -f raw b.raw >/dev/null
check "written pattern reads back in qemu-io" qemu-io -f raw -c 'read -P 0xab 0 4M' b.raw
tap_end
