#!/bin/sh
# Network throughput over -netdev user (slirp), strata-vm vs qemu-system-riscv64 in one run,
# same Linux guest (tests/guest's Debian guest, virtio-net-device): host->guest (busybox wget
# of MB MiB from an HTTP server on 127.0.0.1) and guest->host (MB MiB of zeros from dd through a
# pipe into a 64 KiB relay, tests/guest/net/echo.c's "p" mode, to a TCP sink on 127.0.0.1: not
# busybox nc, whose 1 KiB copy loop ran at ~1 MiB/s on both emulators; and again from one
# program writing 64 KiB at a time, echo.c's "s"), MiB/s as the host sees them, and the ratio
# strata-vm / QEMU (higher is better); then the mean round trip of 1,000 64-byte request/replies between the host
# and an echo server in the guest (tests/guest/net/echo.c) through hostfwd tcp, and the ratio
# QEMU / strata-vm (higher is better). Then the same over -netdev tap: a network namespace with
# a tap interface (192.168.76.1/24 on the host end) made here and removed on exit; skipped
# with the reason where there is no /dev/net/tun or no ip netns. Each figure is also given per
# CPU second of the emulator process (all its threads), which shared-machine load does not
# distort as it does wall time. The load average is printed before and after. Not part of
# `make check`.
# usage: bench/net.sh [MB]   (default 256)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
MB=${1:-256}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/strata-img" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
NSN=strata-bench-$$
trap 'rm -rf "$OUT"; ip netns del "$NSN" 2>/dev/null || :' EXIT INT TERM
STRATA_IMG=$BUILD/strata-img sh tests/guest/build.sh >"$OUT/build.out" 2>"$OUT/build.err" ||
	{ echo "no Linux test guest: $(tail -n 1 "$OUT/build.err")" >&2; exit 1; }
G=$(tail -n 1 "$OUT/build.out")
: >"$OUT/echo"
riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -O2 -nostdlib -static -ffreestanding -Wl,--no-relax \
	-o "$OUT/echo" tests/guest/net/echo.c || echo "no riscv64-unknown-elf-gcc: no round-trip figure" >&2
bench() { # emulator -> "rx MBPS", "tx MBPS", "tx2 MBPS", "rtt USEC" lines (NET_TAP: over tap)
	cp "$G/rootfs.raw" "$OUT/root.raw"
	printf 'cd /strata/tests\nwrite bench/net.guest netbench\nwrite %s echo\n' "$OUT/echo" >"$OUT/cmds"
	debugfs -w -f "$OUT/cmds" "$OUT/root.raw" >/dev/null 2>&1
	$NS python3 bench/net.py "$1" "$G/Image" "$G/initrd.gz" "$OUT/root.raw" "$MB"
}
NS=
report() { # back end: the figures of $OUT/q (QEMU) and $OUT/s (strata-vm)
	for d in rx tx tx2; do
		q=$(sed -n "s/^$d //p" "$OUT/q") s=$(sed -n "s/^$d //p" "$OUT/s")
		case $d in
		rx) what="host->guest (wget)" ;;
		tx) what="guest->host (dd | relay)" ;;
		*) what="guest->host (64 KiB writes)" ;;
		esac
		echo "$1 TCP $what ${MB} MiB: QEMU ${q} MiB/s  strata-vm ${s} MiB/s  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", (q > 0 ? s / q : 0) }')"
	done
	q=$(sed -n "s/^rtt //p" "$OUT/q") s=$(sed -n "s/^rtt //p" "$OUT/s")
	echo "$1 TCP round trip (1,000 x 64 bytes): QEMU ${q} us  strata-vm ${s} us  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", (s > 0 ? q / s : 0) }')"
	for d in rx tx tx2; do # per CPU second of the emulator: survives a loaded machine
		q=$(sed -n "s/^cpu$d //p" "$OUT/q") s=$(sed -n "s/^cpu$d //p" "$OUT/s")
		echo "$1 TCP $d per emulator CPU second: QEMU ${q} MiB  strata-vm ${s} MiB  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", (q > 0 ? s / q : 0) }')"
	done
	q=$(sed -n "s/^cpurtt //p" "$OUT/q") s=$(sed -n "s/^cpurtt //p" "$OUT/s")
	echo "$1 TCP round trip emulator CPU: QEMU ${q} us  strata-vm ${s} us  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", (s > 0 ? q / s : 0) }')"
	for d in irqrx irqtx irqtx2 irqrtt; do
		q=$(sed -n "s/^$d //p" "$OUT/q") s=$(sed -n "s/^$d //p" "$OUT/s")
		case $d in
		irqrx) what="per MiB, host->guest" ;;
		irqtx) what="per MiB, guest->host (dd | relay)" ;;
		irqtx2) what="per MiB, guest->host (64 KiB writes)" ;;
		*) what="per round trip" ;;
		esac
		echo "$1 guest virtio interrupts $what: QEMU ${q}  strata-vm ${s}"
	done
}
echo "load before: $(cat /proc/loadavg)"
bench qemu-system-riscv64 >"$OUT/q"
bench "$VM" >"$OUT/s"
report slirp
echo "load: $(cat /proc/loadavg)"
if [ ! -c /dev/net/tun ]; then
	echo "tap: skipped (no /dev/net/tun)"
elif ! ip netns add "$NSN" 2>/dev/null; then
	echo "tap: skipped (ip netns add failed)"
else
	NS="ip netns exec $NSN"
	$NS ip link set lo up
	$NS ip tuntap add dev sbtap0 mode tap
	$NS ip addr add 192.168.76.1/24 dev sbtap0
	$NS ip link set sbtap0 up
	export NET_TAP=sbtap0
	VM=$(realpath "$VM")
	bench qemu-system-riscv64 >"$OUT/q"
	bench "$VM" >"$OUT/s"
	report tap
	echo "load: $(cat /proc/loadavg)"
fi
