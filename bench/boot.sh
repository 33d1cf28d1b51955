#!/bin/sh
# Boot benchmark: the same guests on strata-vm and qemu-system-riscv64 7.2 in one run, one hart,
# one after the other (bench/boot.py measures each boot):
#   - the test guest (tests/guest/build.sh): power-on to `poweroff -f`, and the guest's own
#     kernel-start-to-poweroff time (its uptime at poweroff)
#   - the Debian image (make debian-image) when it is built or DEBIAN_DIR names it: power-on to
#     `login:` on the serial console, then a root login, the guest's disk throughput on a second
#     qcow2 disk (dd with O_DIRECT, 4 KiB random reads) and `systemctl poweroff` to the exit
# Prints wall and CPU seconds and peak RSS of each emulator and the ratios strata-vm / QEMU
# (lower is better). Noisy on a shared machine: the numbers are one run each. Not in make check.
#   usage: bench/boot.sh [DEBIAN_DIR]   STRATA_VM, RUNS (boots of the test guest per emulator,
#   default 3; the best is printed)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/strata-img" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
RUNS=${RUNS:-3}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

G=$(STRATA_IMG=$BUILD/strata-img sh tests/guest/build.sh 2>/dev/null | tail -n 1)
[ -s "$G/Image" ] || { echo "boot.sh: no test guest (tests/guest/build.sh)" >&2; exit 1; }
D=${1:-}
if [ -z "$D" ]; then # the newest built Debian image, if any; building one takes minutes
	D=$(ls -t "${STRATA_CACHE:-$HOME/.cache/strata}"/debian-*/root.qcow2 2>/dev/null | head -n 1 || true)
	D=${D%/root.qcow2}
fi

get() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v s="$1" -v q="$2" 'BEGIN { printf "%.2f", (q > 0 ? s / q : 0) }'; }
row() { # LABEL FIELD UNIT strata-line qemu-line
	rs=$(get "$2" "$4") rq=$(get "$2" "$5")
	printf '  %-34s strata-vm %9s %-3s QEMU %9s %-3s ratio %s\n' "$1" "$rs" "$3" "$rq" "$3" "$(ratio "$rs" "$rq")"
}
best() { # EMULATOR: the test guest booted RUNS times, the run with the least CPU
	i=0
	while [ $i -lt "$RUNS" ]; do
		python3 bench/boot.py test "$1" "$G" "$OUT"
		i=$((i + 1))
	done | awk '{ split($2, c, "="); print c[2], $0 }' | sort -n | head -n 1 | cut -d ' ' -f 2-
}

echo "boot benchmark, $(nproc) host cores, load $(cut -d ' ' -f 1-3 /proc/loadavg), -smp 1"
s=$(best "$VM")
q=$(best "$QEMU")
echo "test guest ($(head -n 1 "$G/versions.txt" | cut -d ' ' -f 1-2), -m 256M, best CPU of $RUNS):"
row "kernel start to poweroff (guest)" uptime s "$s" "$q"
row "power-on to exit, wall" wall s "$s" "$q"
row "power-on to exit, CPU" cpu s "$s" "$q"
row "peak RSS" rss KiB "$s" "$q"

if [ -n "$D" ] && [ -s "$D/root.qcow2" ]; then
	s=$(python3 bench/boot.py debian "$VM" "$D" "$OUT")
	q=$(python3 bench/boot.py debian "$QEMU" "$D" "$OUT")
	echo "Debian 13 ($(basename "$D"), -m 1G, one boot each):"
	row "power-on to login:, wall" login_wall s "$s" "$q"
	row "power-on to login:, CPU" login_cpu s "$s" "$q"
	row "systemctl poweroff to exit, wall" off_wall s "$s" "$q"
	row "power-on to exit, wall" wall s "$s" "$q"
	row "power-on to exit, CPU" cpu s "$s" "$q"
	row "peak RSS" rss KiB "$s" "$q"
	echo "Debian guest disk, empty 1 GiB qcow2 data disk (ratio: higher is better):"
	row "dd 256 MiB write, O_DIRECT" seq_write MB/s "$s" "$q"
	row "dd 256 MiB read, O_DIRECT" seq_read MB/s "$s" "$q"
	row "4 KiB random reads, depth 1" rand_read IOPS "$s" "$q"
else
	echo "Debian: no image (make debian-image, or bench/boot.sh DEBIAN_DIR)"
fi
