#!/bin/sh
# SIGKILL strata-vm while a bare-metal guest writes to a qcow2 virtio-blk drive (guest
# tests/vm/guest/killwrite.c, driver tests/vm/crash_kill_vm.py): at least 100 kills over five
# images (cluster sizes 64 KiB, 4 KiB and 512 B, cache=writeback with guest flushes every 1-16
# writes, cache=writethrough, and an overlay on a qcow2 backing file), each kill followed by
# `qemu-img check` (no corruption; leaks allowed) and a check of every sector against the
# writes the guest had acknowledged (by a completed flush, or each write in writethrough).
# Needs python3, qemu-img, qemu-io and $BUILD_DIR/vm/guest/killwrite.elf.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/guest/killwrite.elf
for t in python3 qemu-img qemu-io; do
	if ! command -v $t >/dev/null; then
		echo "ok 1 - strata-vm kill loop # SKIP needs $t"
		exit 0
	fi
done
[ -f "$ELF" ] || { echo "Bail out! $ELF not built"; exit 1; }
timeout 600 python3 "$SRC_DIR/tests/vm/crash_kill_vm.py" "$VM" "$ELF" "$TMP" "${CRASH_KILLS:-100}"
