#!/bin/sh
# HMP `commit` of -snapshot drives and the mux's Ctrl-A s (tests/vm/commit.py, guest
# tests/vm/guest/diskwrite.c): the guest's writes reach the image only after a commit, the
# guest runs on over the new overlay, `qemu-img check` is clean; the same run on QEMU 7.2 gives
# the same image. Needs python3, qemu-img and $BUILD_DIR/vm/guest/diskwrite.elf.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/guest/diskwrite.elf
if ! command -v python3 >/dev/null || ! command -v qemu-img >/dev/null || [ ! -f "$ELF" ]; then
	echo "ok 1 - commit tests # SKIP needs python3, qemu-img and $ELF"
	exit 0
fi
timeout 300 python3 "$SRC_DIR/tests/vm/commit.py" "$VM" "$ELF" "$TMP"
