#!/bin/sh
# Multi-hart benchmark: a parallel bare-metal guest (bench/smp/work.c: the same TOTAL rounds of
# integer work split evenly between the harts) on strata-vm with -smp 1 and -smp 2 (its
# default with several harts: a host thread per hart; also thread=single) and on
# qemu-system-riscv64 7.2 with -smp 1 and -smp 2 (MTTCG), PAIRS interleaved rounds. Prints the
# median wall and CPU seconds of each, strata-vm's -smp 2 throughput relative to its -smp 1
# (higher is better; target 1.7) and its -smp 2 wall time relative to QEMU's (lower is better),
# and the load average; then the delay of an IPI to a running hart (bench/smp/ipilat.c) on
# both. Noisy on a shared machine. Not in make check.
#   usage: bench/smp.sh   STRATA_VM, QEMU, TOTAL (rounds, default 4000000000), PAIRS (default
#   3), SINGLE=0 (no thread=single runs)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
TOTAL=${TOTAL:-4000000000}
PAIRS=${PAIRS:-3}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

# guest OUT SOURCE [cflags]: a bare-metal program with tests/riscv/smp/smp.h's start-up
guest() {
	out=$1 src=$2
	shift 2
	riscv64-unknown-elf-gcc -march=rv64imafdc_zicsr_zifencei -mabi=lp64d -mcmodel=medany -O2 -ffreestanding \
		-fno-builtin -nostdlib -Wall -Wextra -Werror -Wno-unused-parameter -Itests/riscv/common -Itests/riscv/smp \
		"$@" -o "$out" "$src" tests/riscv/common/rvtest.c tests/riscv/common/trap.S \
		-T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -lgcc
}
guest "$OUT/ipilat.elf" bench/smp/ipilat.c
for h in 1 2; do
	guest "$OUT/work$h.elf" bench/smp/work.c -DHARTS=$h -DTOTAL=${TOTAL}ULL
done

# run EMULATOR HARTS [options]: "wall=S cpu=S" (CPU = user + system of the emulator process)
run() {
	emu=$1 h=$2
	shift 2
	/usr/bin/time -f "wall=%e cpu=%U+%S" -o "$OUT/time" timeout 600 "$emu" -M virt -bios none -smp "$h" \
		-kernel "$OUT/work$h.elf" -nographic "$@" </dev/null >"$OUT/out" 2>&1 || {
		echo "smp.sh: $emu -smp $h failed: $(cat "$OUT/out")" >&2
		exit 1
	}
	grep -q "checksum" "$OUT/out" || { echo "smp.sh: no result from $emu -smp $h" >&2; exit 1; }
	sum=$(sed -n 's/.*checksum //p' "$OUT/out" | tr -d '\r')
	[ -z "${SUM:-}" ] || [ "$sum" = "$SUM" ] || { echo "smp.sh: checksum $sum differs from $SUM" >&2; exit 1; }
	SUM=$sum
	wall=$(sed -n 's/^wall=\([0-9.]*\).*/\1/p' "$OUT/time")
	cpu=$(sed -n 's/.*cpu=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' "$OUT/time" | awk '{ printf "%.2f", $1 + $2 }')
	echo "wall=$wall cpu=$cpu"
}
get() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "smp benchmark, $(nproc) host cores, load $(cut -d ' ' -f 1-3 /proc/loadavg), $TOTAL rounds (~$((TOTAL * 9 / 1000000)) M guest instructions)"
# PAIRS rounds of every run, interleaved (strata-vm and QEMU alternate), medians printed
: >"$OUT/s1"; : >"$OUT/s2"; : >"$OUT/m2"; : >"$OUT/q1"; : >"$OUT/q2"
i=0
while [ $i -lt "$PAIRS" ]; do
	run "$VM" 1 >>"$OUT/s1"
	run "$QEMU" 1 >>"$OUT/q1"
	run "$VM" 2 >>"$OUT/m2"
	run "$QEMU" 2 >>"$OUT/q2"
	[ "${SINGLE:-1}" = 0 ] || run "$VM" 2 -accel tcg,thread=single >>"$OUT/s2"
	i=$((i + 1))
done
med() { # FIELD FILE: the median of that field over the file's lines
	sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo "medians of $PAIRS interleaved rounds, load now $(cut -d ' ' -f 1-3 /proc/loadavg):"
for r in "s1 strata-vm -smp 1" "m2 strata-vm -smp 2 (thread=multi, the default)" \
	"s2 strata-vm -smp 2 thread=single" "q1 qemu -smp 1" "q2 qemu -smp 2 (MTTCG, the default)"; do
	f=${r%% *}
	[ -s "$OUT/$f" ] && printf '  %-44s wall %7s s  CPU %7s s\n' "${r#* }" "$(med wall "$OUT/$f")" "$(med cpu "$OUT/$f")"
done
echo "  strata-vm -smp 2 throughput / -smp 1:           $(ratio "$(med wall "$OUT/s1")" "$(med wall "$OUT/m2")")x (target >= 1.7)"
[ -s "$OUT/s2" ] && echo "  strata-vm -smp 2 thread=single throughput / -smp 1: $(ratio "$(med wall "$OUT/s1")" "$(med wall "$OUT/s2")")x"
echo "  qemu      -smp 2 throughput / -smp 1:           $(ratio "$(med wall "$OUT/q1")" "$(med wall "$OUT/q2")")x"
echo "  strata-vm -smp 2 wall / qemu -smp 2:            $(ratio "$(med wall "$OUT/m2")" "$(med wall "$OUT/q2")") (target <= 1.0)"
echo "  strata-vm -smp 2 CPU / qemu -smp 2:             $(ratio "$(med cpu "$OUT/m2")" "$(med cpu "$OUT/q2")")"
echo "  strata-vm / qemu CPU at -smp 1:                 $(ratio "$(med cpu "$OUT/s1")" "$(med cpu "$OUT/q1")")"
# IPI latency to a running hart (bench/smp/ipilat.c), PAIRS runs each, alternating
: >"$OUT/ipi-s"; : >"$OUT/ipi-q"
i=0
while [ $i -lt "$PAIRS" ]; do
	for e in "$VM s" "$QEMU q"; do
		timeout 120 ${e% *} -M virt -bios none -smp 2 -kernel "$OUT/ipilat.elf" -nographic </dev/null 2>&1 |
			sed -n 's/.*mean_ticks \([0-9]*\) max_ticks \([0-9]*\).*/mean=\1 max=\2/p' >>"$OUT/ipi-${e##* }"
	done
	i=$((i + 1))
done
us() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 10 }'; } # mtime ticks (10 MHz) -> us
echo "  IPI to a running hart (msip write to handler), median of the runs' means: strata-vm" \
	"$(us "$(med mean "$OUT/ipi-s")") us, qemu $(us "$(med mean "$OUT/ipi-q")") us (largest: $(us "$(med max "$OUT/ipi-s")")" \
	"and $(us "$(med max "$OUT/ipi-q")") us)"
echo "  (wall times count waiting for the host's cores: under load they say little; CPU ratios hold)"
