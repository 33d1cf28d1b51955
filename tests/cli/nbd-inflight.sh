#!/bin/sh
# Several requests in flight on one strata-nbd connection (tests/cli/nbd-mix.py): replies go
# out as requests complete (an out-of-range read sent after two 1 MiB reads is answered
# first), the server's counters (STRATA_NBD_STATS=1) show requests overlapping, and a seeded
# mix of reads, writes (some FUA), write-zeroes and flushes at queue depth 16 leaves the image
# byte for byte as qemu-nbd leaves a copy after the same mix, check-clean: raw (the engine's
# io_uring queue), raw with cache=none (O_DIRECT), qcow2, and the poll(2) loop. Over a slow
# disk, a stalled read holds neither its session nor another.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

qemu-img create -q -f qcow2 base.qcow2 16M
qemu-io -f qcow2 -c "write -q -P 0x11 0 4M" -c "write -q -P 0x22 8M 2M" base.qcow2 >/dev/null
qemu-img convert -f qcow2 -O raw base.qcow2 base.raw
sock=$TEST_TMPDIR/s
mix() { timeout 300 python3 "$SRC_DIR/tests/cli/nbd-mix.py" "$sock" "$@"; }
ops=3000

# the reference: qemu-nbd serving copies, the same seeded mix
for fmt in raw qcow2; do
	cp base.$fmt q.$fmt
	cp base.raw q-model.$fmt
	nbd_start "$sock" qemu-nbd -f $fmt -t -k "$sock" q.$fmt || echo "# qemu-nbd did not start"
	mix mix 7 $ops q-model.$fmt >q.out 2>&1
	tap_result $? "qemu-nbd ($fmt): the mix reads back what it wrote" || sed 's/^/# /' q.out
	nbd_stop
	qemu-img compare -q -f $fmt -F raw q.$fmt q-model.$fmt
	tap_result $? "qemu-nbd ($fmt): the image holds what the mix wrote"
done

# stats LOG: passes when the server had requests in flight together and answered out of order
stats_ok() {
	sed -n 's/^strata-nbd: stats: max-in-flight \([0-9]*\) out-of-order \([0-9]*\)$/\1 \2/p' "$1" |
		awk '{ok = $1 >= 2 && $2 >= 1} END {exit !ok}'
}

# name fmt cache env...
run_case() {
	name=$1 fmt=$2 cache=$3
	shift 3
	cp base.$fmt img.$fmt
	cp base.raw model.raw
	: >server.log
	if ! nbd_start "$sock" env STRATA_NBD_STATS=1 "$@" "$NBD" -f $fmt -t --cache=$cache \
		-k "$sock" img.$fmt; then
		tap_result 1 "$name: strata-nbd starts"
		sed 's/^/# /' server.log
		return
	fi
	mix order base.raw >order.out 2>&1
	grep -q '^reply order 3 ' order.out
	tap_result $? "$name: the bad request's reply overtakes two 1 MiB reads" || sed 's/^/# /' order.out
	mix mix 7 $ops model.raw >s.out 2>&1
	tap_result $? "$name: the qd16 mix reads back what it wrote" || sed 's/^/# /' s.out
	grep -q "^ok $ops interleaved 0$" s.out
	tap_result $? "$name: each reply's chunks came together" || sed 's/^/# /' s.out
	nbd_stop
	grep stats server.log | sed 's/^/# /'
	stats_ok server.log
	tap_result $? "$name: requests overlapped and completed out of order"
	same_file "$name: the mix's result is qemu-nbd's" model.raw q-model.$fmt
	qemu-img compare -q -f $fmt -F raw img.$fmt q-model.$fmt
	tap_result $? "$name: the image is byte for byte qemu-nbd's copy"
	[ $fmt = raw ] || { qemu-img check -q img.$fmt; tap_result $? "$name: qemu-img check clean"; }
}

run_case "raw, io_uring" raw writeback
run_case "qcow2" qcow2 writeback
run_case "raw, poll(2) loop" raw writeback STRATA_NBD_POLL=1
run_case "qcow2, poll(2) loop" qcow2 writeback STRATA_NBD_POLL=1
if qemu-io -f raw -t none -c "read -q 0 4k" base.raw >/dev/null 2>&1; then
	run_case "raw, cache=none" raw none
	run_case "qcow2, cache=none" qcow2 none
else
	echo "# skipped cache=none: O_DIRECT not supported where the test runs"
fi
# A slow disk: raw over NBD from tests/cli/nbd-slow-server.py, which answers reads over 1 MiB
# 5 s late. The engine queues reads on that connection and the loop waits on its socket, so
# the other read of the same session and a read of another session are answered meanwhile.
rm -f slow.sock
timeout 120 python3 "$SRC_DIR/tests/cli/nbd-slow-server.py" "$TEST_TMPDIR/slow.sock" 4194304 \
	1048576 5 &
slow_pid=$!
nbd_pids="$nbd_pids $slow_pid"
n=0
while [ ! -S slow.sock ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
for loop in io_uring poll; do
	poll=0
	[ $loop = poll ] && poll=1
	nbd_start "$sock" env STRATA_NBD_POLL=$poll "$NBD" -f raw -t -e 0 -k "$sock" \
		"nbd+unix:///?socket=$TEST_TMPDIR/slow.sock" || sed 's/^/# /' server.log
	mix stall 1048576 >stall.out 2>&1
	sed 's/^/# /' stall.out
	grep -Eq '^reply order (a2 b3|b3 a2) a1$' stall.out
	tap_result $? "slow disk ($loop loop): a stalled read holds neither its session nor another"
	nbd_stop
done
kill $slow_pid 2>/dev/null
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
