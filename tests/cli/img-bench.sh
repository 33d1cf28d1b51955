#!/bin/sh
# strata-img bench against qemu-img bench: the same report lines (run time masked), the same
# errors and exit codes, and written data that reads back with the pattern.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f raw b.raw 4M
MASK='s/Run completed in [0-9.]* seconds./Run completed in X seconds./'


compare_img "read defaults" bench -c 1000 -f raw b.raw
compare_img "read qd1 64k" bench -c 100 -d 1 -s 64k -f raw b.raw
compare_img "write with offset and step" bench -w -c 100 -o 1M -S 8k -f raw b.raw
compare_img "write with flush interval" bench -w -c 100 -d 4 --flush-interval=8 -f raw b.raw
compare_img "O_DIRECT reads" bench -c 100 -t none -f raw b.raw
compare_img "io_uring reads" bench -c 100 -i io_uring -f raw b.raw
compare_img "offset wraps at the end" bench -c 2000 -s 4k -o 4092k -f raw b.raw
compare_img "flush interval without -w" bench --flush-interval=4 -f raw b.raw
compare_img "flush interval below depth" bench -w --flush-interval=4 -f raw b.raw
compare_img "bad count" bench -c x -f raw b.raw
compare_img "missing file" bench -c 1 nofile.raw
compare_img "no file" bench -c 1

"$IMG" bench -w -c 64 -s 64k --pattern=171 -f raw b.raw >/dev/null
check "written pattern reads back in qemu-io" qemu-io -f raw -c 'read -P 0xab 0 4M' b.raw
tap_end
