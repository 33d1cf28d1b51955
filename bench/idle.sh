#!/bin/sh
# Idle-guest benchmark: host CPU time an idle guest costs, strata-vm vs qemu-system-riscv64 in
# one run. The bare-metal guest (tests/vm/guest/idle.c) waits SECONDS in wfi for a timer
# interrupt; a Linux guest given as GUEST_DIR (tests/guest's cache directory) boots and sits
# at its shell for SECONDS instead. Prints CPU ms of each emulator and the ratio
# strata-vm / QEMU (lower is better). Not part of `make check`.
# usage: bench/idle.sh [GUEST_DIR [SECONDS]]   (default: bare-metal, 2 s of wfi; with the test
#        guest's directory (tests/guest/build.sh prints it) also Linux idle at its shell, 20 s)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/vm/guest/idle.elf" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
ELF=$BUILD/vm/guest/idle.elf
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

cpu_ms() { # command... -> user+sys ms of the command
	/usr/bin/time -f "%U %S" -o "$OUT/t" "$@" -M virt -bios none -kernel "$ELF" -nographic </dev/null >"$OUT/out" 2>&1
	grep -q "idle: woke" "$OUT/out" || { echo "guest did not finish: $*" >&2; exit 1; }
	awk '{ printf "%d", ($1 + $2) * 1000 }' "$OUT/t"
}
q=$(cpu_ms qemu-system-riscv64)
s=$(cpu_ms "$VM")
echo "idle guest (2 s in wfi): host CPU  QEMU ${q} ms  strata-vm ${s} ms  ratio $(awk -v s="$s" -v q="$q" 'BEGIN { printf "%.2f", q ? s / q : 0 }')"

if [ $# -gt 0 ]; then
	secs=${2:-20}
	q=$(python3 bench/idle_linux.py qemu-system-riscv64 "$1" "$OUT" "$secs")
	s=$(python3 bench/idle_linux.py "$VM" "$1" "$OUT" "$secs")
	echo "idle Linux at its shell (${secs} s): host CPU  QEMU ${q%% *} ms  strata-vm ${s%% *} ms  ratio $(awk -v s="${s%% *}" -v q="${q%% *}" 'BEGIN { printf "%.2f", q ? s / q : 0 }')"
fi
