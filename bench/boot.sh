#!/bin/sh
# Boot benchmark: the same guests on strata-vm and qemu-system-riscv64 7.2 in one run, one hart,
# one after the other (bench/boot.py measures each boot):
#   - the test guest (tests/guest/build.sh): power-on to `poweroff -f`, and the guest's own
#     kernel-start-to-poweroff time (its uptime at poweroff)
#   - the Debian image (make debian-image) when it is built or DEBIAN_DIR names it: power-on to
#     `login:` on the serial console, then a root login, the guest's disk throughput on a second
#     qcow2 disk (dd with O_DIRECT, 4 KiB random reads) and `systemctl poweroff` to the exit;
#     then the same at -smp 2 (without the disk figures), SMP_PAIRS interleaved boots of each
#     (default 3; 0: none), medians printed
# Prints wall and CPU seconds and peak RSS of each emulator and the ratios strata-vm / QEMU
# (lower is better). Noisy on a shared machine: the test guest and -smp 2 rows are medians of
# interleaved boots, the Debian -smp 1 rows one boot each. Not in make check.
#   usage: bench/boot.sh [DEBIAN_DIR]   STRATA_VM, RUNS (boots of the test guest per emulator,
#   interleaved, default 5; the medians are printed), SMP_PAIRS, SMP_ONLY=1 (only the Debian -smp 2 part)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/strata-img" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
RUNS=${RUNS:-5}
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
median() { # FILE of key=value lines: one line of each field's median
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1], NR] = kv[2]; k[kv[1]] = 1 } }
		END { for (f in k) { n = 0; for (r = 1; r <= NR; r++) a[++n] = v[f, r] + 0
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			printf "%s=%s ", f, (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) } print "" }' "$1"
}

echo "boot benchmark, $(nproc) host cores, load $(cut -d ' ' -f 1-3 /proc/loadavg), -smp 1"
if [ "${SMP_ONLY:-0}" != 1 ]; then
	# RUNS boots each, interleaved (strata-vm, QEMU, ...), medians: single boots vary by
	# 1.5x on either side, so one best-of-N caught a lucky boot on one side only
	: >"$OUT/test-s"
	: >"$OUT/test-q"
	i=0
	while [ $i -lt "$RUNS" ]; do
		python3 bench/boot.py test "$VM" "$G" "$OUT" >>"$OUT/test-s"
		python3 bench/boot.py test "$QEMU" "$G" "$OUT" >>"$OUT/test-q"
		i=$((i + 1))
	done
	s=$(median "$OUT/test-s")
	q=$(median "$OUT/test-q")
	echo "test guest ($(head -n 1 "$G/versions.txt" | cut -d ' ' -f 1-2), -m 256M, median of $RUNS interleaved boots each):"
	row "kernel start to poweroff (guest)" uptime s "$s" "$q"
	row "power-on to exit, wall" wall s "$s" "$q"
	row "power-on to exit, CPU" cpu s "$s" "$q"
	row "peak RSS" rss KiB "$s" "$q"
fi

if [ -n "$D" ] && [ -s "$D/root.qcow2" ]; then
	if [ "${SMP_ONLY:-0}" != 1 ]; then
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
	fi
	# -smp 2: both emulators' default, a host thread per hart (strata-vm thread=multi, QEMU's
	# MTTCG); SMP_PAIRS boots each, interleaved (strata-vm, QEMU, strata-vm, ...), medians
	if [ "${SMP_PAIRS:-3}" -gt 0 ]; then
		: >"$OUT/smp-s"
		: >"$OUT/smp-q"
		i=0
		while [ $i -lt "${SMP_PAIRS:-3}" ]; do
			BOOT_SMP=2 BOOT_DISK=0 python3 bench/boot.py debian "$VM" "$D" "$OUT" >>"$OUT/smp-s"
			BOOT_SMP=2 BOOT_DISK=0 python3 bench/boot.py debian "$QEMU" "$D" "$OUT" >>"$OUT/smp-q"
			i=$((i + 1))
		done
		echo "Debian 13 -smp 2 (a host thread per hart on both; median of ${SMP_PAIRS:-3} interleaved pairs," \
			"load now $(cut -d ' ' -f 1-3 /proc/loadavg)):"
		s=$(median "$OUT/smp-s")
		q=$(median "$OUT/smp-q")
		row "power-on to login:, wall" login_wall s "$s" "$q"
		row "power-on to login:, CPU" login_cpu s "$s" "$q"
		row "systemctl poweroff to exit, wall" off_wall s "$s" "$q"
		row "power-on to exit, wall" wall s "$s" "$q"
		row "power-on to exit, CPU" cpu s "$s" "$q"
	fi
else
	echo "Debian: no image (make debian-image, or bench/boot.sh DEBIAN_DIR)"
fi
