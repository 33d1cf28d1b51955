#!/bin/sh
# Network throughput over -netdev user (slirp), strata-vm vs qemu-system-riscv64 in one run,
# same Linux guest (tests/guest's Debian guest, virtio-net-device): host->guest (busybox wget
# of MB MiB from an HTTP server on 127.0.0.1) and guest->host (MB MiB of zeros through busybox
# nc into a TCP sink on 127.0.0.1), MiB/s as the host sees them, and the ratio strata-vm / QEMU
# (higher is better). Not part of `make check`.
# usage: bench/net.sh [MB]   (default 64)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
MB=${1:-64}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/strata-img" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM
STRATA_IMG=$BUILD/strata-img sh tests/guest/build.sh >"$OUT/build.out" 2>"$OUT/build.err" ||
	{ echo "no Linux test guest: $(tail -n 1 "$OUT/build.err")" >&2; exit 1; }
G=$(tail -n 1 "$OUT/build.out")
bench() { # emulator -> "rx MBPS" and "tx MBPS" lines
	cp "$G/rootfs.raw" "$OUT/root.raw"
	printf 'cd /strata/tests\nwrite bench/net.guest netbench\n' >"$OUT/cmds"
	debugfs -w -f "$OUT/cmds" "$OUT/root.raw" >/dev/null 2>&1
	python3 bench/net.py "$1" "$G/Image" "$G/initrd.gz" "$OUT/root.raw" "$MB"
}
bench qemu-system-riscv64 >"$OUT/q"
bench "$VM" >"$OUT/s"
for d in rx tx; do
	q=$(sed -n "s/^$d //p" "$OUT/q") s=$(sed -n "s/^$d //p" "$OUT/s")
	what=$([ $d = rx ] && echo "host->guest" || echo "guest->host")
	echo "slirp TCP $what ${MB} MiB: QEMU ${q} MiB/s  strata-vm ${s} MiB/s  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", (q > 0 ? s / q : 0) }')"
done
