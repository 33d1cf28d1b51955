#!/bin/sh
# strata-vm's HMP and QMP monitors over unix sockets, compared with qemu-system-riscv64 running
# the same guest (tests/vm/monitor.py; TAP). Needs python3 and the guest built by make
# ($BUILD_DIR/vm/asm/counter.elf); the QEMU comparisons skip without qemu-system-riscv64.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/asm/counter.elf
if ! command -v python3 >/dev/null || ! command -v qemu-img >/dev/null || [ ! -f "$ELF" ]; then
	echo "ok 1 - monitor tests # SKIP needs python3, qemu-img and $ELF"
	exit 0
fi
timeout 600 python3 "$SRC_DIR/tests/vm/monitor.py" "$VM" "$ELF" "$TMP"
