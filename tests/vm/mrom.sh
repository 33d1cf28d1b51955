#!/bin/sh
# The mask ROM at 0x1000 (QEMU 7.2 virt's reset vector and fw_dynamic_info) and the reset it
# drives, compared with qemu-system-riscv64: registers at -S and after system_reset, xp of the
# ROM, the GDB stub stepping through it, savevm/-loadvm with the hart in it, and a guest
# reading, writing and re-entering it (tests/vm/mrom.py). `info roms`: tests/vm/roms.sh.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
IMG=${STRATA_IMG:-$BUILD_DIR/strata-img}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
COUNTER=$BUILD_DIR/vm/asm/counter.elf
GUEST=$BUILD_DIR/vm/guest/mrom.elf
if ! command -v python3 >/dev/null || [ ! -f "$COUNTER" ] || [ ! -f "$GUEST" ]; then
	echo "ok 1 - mrom tests # SKIP needs python3, $COUNTER and $GUEST"
	echo "1..1"
	exit 0
fi
timeout 300 python3 "$SRC_DIR/tests/vm/mrom.py" "$VM" "$IMG" "$COUNTER" "$GUEST" "$TMP"
