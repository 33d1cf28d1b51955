#!/bin/sh
# The GDB stub on the event loop: HMP `gdbserver` at run time, -gdb/-s/-S at start-up, a
# python RSP client (tests/vm/gdbserver.py); the same session on qemu-system-riscv64 and the
# transcripts compared. Needs python3 and $BUILD_DIR/vm/asm/counter.elf.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/asm/counter.elf
if ! command -v python3 >/dev/null || [ ! -f "$ELF" ]; then
	echo "ok 1 - gdbserver tests # SKIP needs python3 and $ELF"
	exit 0
fi
timeout 300 python3 "$SRC_DIR/tests/vm/gdbserver.py" "$VM" "$ELF" "$TMP"
