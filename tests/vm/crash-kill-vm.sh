#!/bin/sh
# SIGKILL strata-vm while a bare-metal guest writes to a qcow2 virtio-blk drive (guest
# tests/vm/guest/killwrite.c, driver tests/vm/crash_kill_vm.py): at least 100 kills while the
# guest writes, over seven images: cluster sizes 64 KiB, 4 KiB and 512 B with guest flushes
# every 1-16 writes (cache=writeback, none, unsafe); writethrough and directsync; lazy
# refcounts; internal snapshots taken between runs; an overlay on a qcow2 backing file. After
# each kill `qemu-img check` must find no corruption (leaks are allowed) and every sector must
# hold what the writes the guest had acknowledged say (by a completed flush; in writethrough
# and directsync, each completed write). CRASH_SEED=N repeats the kill plans.
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
