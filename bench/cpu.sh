#!/bin/sh
# CPU benchmark: the same bare-metal guest programs (tests/riscv/bench/) on strata-vm and on
# qemu-system-riscv64 (TCG), the CPU time (user+sys, so that other load on the machine does
# not skew it; both include process start-up) of each, and the ratio strata-vm / QEMU (lower
# is better; issue 13 asks <= 0.6 for every kernel). Each hot kernel runs bare
# (M-mode) and under Sv39 (S-mode, identity gigapages). Guest MIPS comes from strata-vm's
# --stats. bitmanip is built with Zba/Zbb/Zbs, bitmanip-base is the same C without them. The
# last column is the interpreter alone (--jit=off) over QEMU, to show what the JIT buys. Not
# part of `make check`.
# usage: bench/cpu.sh [SCALE]   (default 100; the kernels' work grows linearly with it)
# KERNELS="bitmanip bitmanip-base" bench/cpu.sh runs only those kernels; INTERP=0 leaves out
# the interpreter column (quicker); RUNS=N (default 1) runs each side N times, alternating
# QEMU and strata-vm, and prints the medians (the load average is printed at the start and end).
set -eu
cd "$(dirname "$0")/.."
SCALE=${1:-100}
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
QEMU=qemu-system-riscv64
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

CC=riscv64-unknown-elf-gcc
CFLAGS="-march=rv64imafdc_zicsr_zifencei -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-builtin -nostdlib
 -Itests/riscv/common -Itests/riscv/bench"
COMMON="tests/riscv/common/rvtest.c tests/riscv/common/trap.S tests/riscv/bench/benchlib.c"
LD="-T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -lgcc"

build() { # name source extra-flags
	# shellcheck disable=SC2086
	$CC $CFLAGS $3 -o "$OUT/$1.elf" $4 "$2" $COMMON $LD
}

run() { # emulator elf [strata-vm flag] -> prints CPU milliseconds; output in $OUT/last.$emu
	emu=$1 elf=$2 flag=${3:---jit=on}
	if [ "$emu" = qemu ]; then
		/usr/bin/time -f "%U %S" -o "$OUT/time" \
			$QEMU -M virt -bios none -kernel "$elf" -nographic </dev/null >"$OUT/last.qemu" 2>&1 || true
	else
		/usr/bin/time -f "%U %S" -o "$OUT/time" \
			$VM "$flag" -M virt -bios none -kernel "$elf" -nographic --stats </dev/null >"$OUT/last.vm" 2>"$OUT/last.stats" || true
	fi
	# GNU time prepends a line when the exit status is not 0
	tail -n 1 "$OUT/time" | awk '{ printf "%d", ($1 + $2) * 1000 }'
}

med() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] }'; }

echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf '%-18s %11s %13s %7s %10s %13s\n' program "qemu cpu ms" "strata cpu ms" ratio "guest MIPS" "interp ratio"
for k in ${KERNELS:-intloop ptrchase sha256 fpkernel bitmanip bitmanip-base cold}; do
	for mode in bare sv39; do
		crt=tests/riscv/common/crt0.S
		flags="-DBENCH_SCALE=$SCALE"
		if [ $k = cold ]; then
			[ $mode = sv39 ] && continue
			crt=""
			flags="-DBENCH_COLD_REPS=2 -DBENCH_COLD_BLOCKS=100000"
		fi
		[ $mode = sv39 ] && flags="$flags -DBENCH_SV39"
		src=tests/riscv/bench/$k.$([ $k = cold ] && echo S || echo c)
		case $k in # the program's own cflags line (Zba/Zbb), or none for the base-ISA build
		bitmanip) flags="$flags $(sed -n 's|^/\* cflags: \(.*\) \*/$|\1|p' "$src")" ;;
		bitmanip-base) src=tests/riscv/bench/bitmanip.c ;;
		esac
		build "$k-$mode" "$src" "$flags" "$crt"
		if [ "${RUNS:-1}" -gt 1 ]; then # alternate the sides, so a change of load hits both
			: >"$OUT/q" && : >"$OUT/s"
			for i in $(seq "$RUNS"); do
				echo "$(run qemu "$OUT/$k-$mode.elf")" >>"$OUT/q"
				echo "$(run vm "$OUT/$k-$mode.elf")" >>"$OUT/s"
			done
			q=$(med "$OUT/q")
			s=$(med "$OUT/s")
		else
			q=$(run qemu "$OUT/$k-$mode.elf")
			s=$(run vm "$OUT/$k-$mode.elf")
		fi
		same=""
		cmp -s "$OUT/last.qemu" "$OUT/last.vm" || same=" (OUTPUT DIFFERS)"
		mips=$(sed -n 's/.*mips=\([0-9.]*\).*/\1/p' "$OUT/last.stats")
		ratio=$(awk -v a="$s" -v b="$q" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }')
		iratio=-
		if [ "${INTERP:-1}" != 0 ]; then
			i=$(run vm "$OUT/$k-$mode.elf" --jit=off)
			cmp -s "$OUT/last.qemu" "$OUT/last.vm" || same=" (OUTPUT DIFFERS)"
			iratio=$(awk -v a="$i" -v b="$q" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }')
		fi
		printf '%-18s %11s %13s %7s %10s %13s%s\n' "$k/$mode" "$q" "$s" "$ratio" "${mips:-?}" "$iratio" "$same"
	done
done
echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
