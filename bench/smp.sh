#!/bin/sh
# Multi-hart benchmark: a parallel bare-metal guest (bench/smp/work.c: the same TOTAL rounds of
# integer work split evenly between the harts) on strata-vm with -smp 1 and -smp 2 and on
# qemu-system-riscv64 7.2 with -smp 1 and -smp 2, one after the other in one run. Prints wall
# and CPU seconds of each run, strata-vm's -smp 2 throughput relative to its -smp 1 (higher is
# better; its harts take turns on one host thread, so about 1.0 is expected) and strata-vm's
# -smp 2 wall time relative to QEMU's (QEMU runs a thread per hart: lower is better). Noisy on
# a shared machine: one run each. Not in make check.
#   usage: bench/smp.sh   STRATA_VM, QEMU, TOTAL (rounds, default 4000000000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
TOTAL=${TOTAL:-4000000000}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

for h in 1 2; do
	riscv64-unknown-elf-gcc -march=rv64imafdc_zicsr_zifencei -mabi=lp64d -mcmodel=medany -O2 -ffreestanding \
		-fno-builtin -nostdlib -Wall -Wextra -Werror -Wno-unused-parameter -Itests/riscv/common -Itests/riscv/smp \
		-DHARTS=$h -DTOTAL=${TOTAL}ULL -o "$OUT/work$h.elf" bench/smp/work.c tests/riscv/common/rvtest.c \
		tests/riscv/common/trap.S -T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -lgcc
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
s1=$(run "$VM" 1 -accel tcg,thread=single)
s2=$(run "$VM" 2 -accel tcg,thread=single)
m2=$(run "$VM" 2 -accel tcg,thread=multi)
q1=$(run "$QEMU" 1)
q2=$(run "$QEMU" 2)
printf '  %-30s wall %7s s  CPU %7s s\n' "strata-vm -smp 1" "$(get wall "$s1")" "$(get cpu "$s1")" \
	"strata-vm -smp 2 thread=single" "$(get wall "$s2")" "$(get cpu "$s2")" \
	"strata-vm -smp 2 thread=multi" "$(get wall "$m2")" "$(get cpu "$m2")" \
	"qemu -smp 1" "$(get wall "$q1")" "$(get cpu "$q1")" "qemu -smp 2" "$(get wall "$q2")" "$(get cpu "$q2")"
echo "  strata-vm -smp 2 thread=multi throughput / -smp 1:  $(ratio "$(get wall "$s1")" "$(get wall "$m2")")x (target >= 1.7)"
echo "  strata-vm -smp 2 thread=single throughput / -smp 1: $(ratio "$(get wall "$s1")" "$(get wall "$s2")")x"
echo "  qemu      -smp 2 throughput / -smp 1:               $(ratio "$(get wall "$q1")" "$(get wall "$q2")")x"
echo "  strata-vm -smp 2 thread=multi wall / qemu -smp 2:   $(ratio "$(get wall "$m2")" "$(get wall "$q2")") (target <= 1.0)"
echo "  strata-vm -smp 2 thread=multi CPU / qemu -smp 2:    $(ratio "$(get cpu "$m2")" "$(get cpu "$q2")")"
echo "  (wall times count waiting for the host's cores: under load they say little)"
