#!/bin/sh
# Our NBD client's queue against qemu-nbd (unix socket and 127.0.0.1 TCP): up to 48 queued
# reads of 4k to 1M (payloads that arrive with the next reply's header behind them in one
# recv, and 64k+ payloads read straight into their buffers) in an order that mixes sizes and
# offsets, each checked for its own pattern, holes included; a sequential depth-16 bench over
# the whole export; queued writes, then the image compared byte for byte and check-clean.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

IO=$SRC_DIR/build/rel/strata-io
IMG=$SRC_DIR/build/rel/strata-img
sock=$TEST_TMPDIR/s
nbd_chunks

check_url() { # NAME URL
	eval "\"$IO\" -f raw $reads -c aio_flush \"$2\"" >o.io 2>&1 &&
		[ "$(grep -c '^read ' o.io)" -eq 48 ] && ! grep -q -i "fail\|error" o.io
	tap_result $? "$1: 48 queued reads of 4k-64k, each its own pattern" || sed 's/^/# /' o.io
	# 1M reads span 16 chunks: compared against the reference file instead
	"$IO" -f raw -c "aio_read -v 1M 1M" -c "aio_read -v 5M 1M" -c aio_flush "$2" 2>&1 |
		grep -v '^read \|^[0-9.]* bytes\|ops/sec' >got.txt
	qemu-io -f raw -c "read -v 1M 1M" -c "read -v 5M 1M" ref.raw 2>&1 |
		grep -v '^read \|^[0-9.]* bytes\|ops/sec' >want.txt
	[ -s want.txt ] && cmp -s got.txt want.txt
	tap_result $? "$1: two queued 1M reads dump what qemu-io reads from the image"
	"$IMG" bench -c 512 -d 16 -s 64k -f raw "$2" >o.io 2>&1 &&
		grep -q '^Run completed' o.io && "$IMG" compare -q -f raw -F raw "$2" ref.raw
	tap_result $? "$1: bench 64k depth 16 over the export, then the same bytes" ||
		sed 's/^/# /' o.io
}

nbd_start "$sock" qemu-nbd -f qcow2 -t -k "$sock" q.qcow2 || echo "# qemu-nbd did not start"
check_url unix "nbd+unix:///?socket=$sock"
nbd_stop
port=$(nbd_free_port)
qemu-nbd -f qcow2 -t -b 127.0.0.1 -p "$port" q.qcow2 >>server.log 2>&1 &
nbd_pid=$!
nbd_pids="$nbd_pids $nbd_pid"
nbd_wait_tcp "$port" || echo "# qemu-nbd (tcp) did not start"
T="nbd://127.0.0.1:$port"
check_url tcp "$T"
"$IO" -f raw -c "aio_write -P 0xa5 64k 64k" -c "aio_write -P 0xa6 4M 4k" -c "aio_write -P 0xa7 7M 1M" \
	-c aio_flush -c "aio_read -P 0xa5 64k 64k" -c "aio_read -P 0xa7 7M 1M" -c aio_flush "$T" \
	>o.io 2>&1 && ! grep -q -i "fail\|error" o.io
tap_result $? "tcp: queued writes read back" || sed 's/^/# /' o.io
nbd_stop
nbd_written_ok
tap_result $? "the image is check-clean and holds the written data"
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
