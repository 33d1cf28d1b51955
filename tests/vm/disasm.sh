#!/bin/sh
# HMP x/i, xp/i: the disassembly compared byte for byte with qemu-system-riscv64's on the guest
# tests/vm/asm/disasm.S (tests/vm/disasm.py; TAP). The comparisons skip without QEMU.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/asm/disasm.elf
if ! command -v python3 >/dev/null || [ ! -f "$ELF" ]; then
	echo "ok 1 - x/i tests # SKIP needs python3 and $ELF"
	exit 0
fi
timeout 600 python3 "$SRC_DIR/tests/vm/disasm.py" "$VM" "$ELF" "$TMP"
