#!/bin/sh
# The monitor's network commands (issue 11) against qemu-system-riscv64's text:
# tests/vm/net_monitor.py (TAP). No guest runs (-S).
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
command -v python3 >/dev/null || { echo "ok 1 - network monitor commands # SKIP no python3"; exit 0; }
timeout 120 python3 "$SRC_DIR/tests/vm/net_monitor.py" "$VM" "$QEMU"
