#!/bin/sh
# virtio-blk benchmark: tests/riscv/virtio/blk_seqread (the whole disk read in 64 KiB
# requests over virtio-mmio) on strata-vm and on qemu-system-riscv64 with the same image,
# wall time of each (start-up included), guest read throughput and the ratio strata-vm / QEMU
# (lower is better). The image is filled with data first so no format short-cuts zeros.
# Not part of `make check`.
# usage: bench/virtio.sh [SIZE_MIB] [FORMAT]   (default 512 raw)
set -eu
cd "$(dirname "$0")/.."
MIB=${1:-512}
FMT=${2:-raw}
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" "$BUILD/riscv/virtio/blk_seqread.elf" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
ELF=$BUILD/riscv/virtio/blk_seqread.elf
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

qemu-img create -q -f "$FMT" "$OUT/disk" "${MIB}M"
qemu-io -f "$FMT" -c "write -P 0x5a 0 ${MIB}M" "$OUT/disk" >/dev/null

now_ms() { date +%s%3N; }
run() { # label command... -> wall ms; the guest's output in $OUT/$label
	label=$1
	shift
	t0=$(now_ms)
	"$@" -M virt -bios none -kernel "$ELF" -nographic \
		-drive file="$OUT/disk",if=none,format="$FMT",id=d0,readonly=on -device virtio-blk-device,drive=d0 \
		</dev/null >"$OUT/$label" 2>&1 || true
	echo $(($(now_ms) - t0))
}
best() { # best of three
	b=
	for _ in 1 2 3; do
		t=$(run "$@")
		[ -z "$b" ] || [ "$t" -lt "$b" ] && b=$t
	done
	echo "$b"
}
q=$(best qemu qemu-system-riscv64)
v=$(best vm "$VM")
cmp -s "$OUT/qemu" "$OUT/vm" || { echo "outputs differ:"; diff "$OUT/qemu" "$OUT/vm" | head; exit 1; }
printf '%-28s %10s %10s %8s\n' "sequential read, $FMT ${MIB} MiB" "QEMU ms" "strata ms" "ratio"
printf '%-28s %10d %10d %8.2f\n' "64 KiB requests" "$q" "$v" "$(echo "$v $q" | awk '{ printf "%.2f", $1 / $2 }')"
printf '%-28s %10.0f %10.0f\n' "MiB/s (start-up included)" "$(echo "$MIB $q" | awk '{ print $1 * 1000 / $2 }')" \
	"$(echo "$MIB $v" | awk '{ print $1 * 1000 / $2 }')"
