#!/bin/sh
# strata-vm's consoles and character back ends (TAP): raw terminal mode, the Ctrl-A mux
# (help text, quit, focus, break, timestamps), Ctrl-C to the guest, terminal settings restored
# on every exit path (C-a x, guest poweroff, SIGTERM/SIGINT/SIGHUP by kill), -serial
# file/unix/tcp/telnet/pty, 64 KiB of input with nothing lost, and QEMU's error texts. The
# driver is tests/vm/console.py (python3 pty and sockets: no tty needed); where
# qemu-system-riscv64 is installed the same keys are replayed on it and compared.
SRC_DIR=${SRC_DIR:-.}
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
ELF=$BUILD_DIR/vm/guest/echo.elf
TMP=${TEST_TMPDIR:-$(mktemp -d)}
if ! command -v python3 >/dev/null 2>&1; then
	echo "ok 1 - consoles # SKIP no python3"
	exit 0
fi
if [ ! -f "$ELF" ]; then
	echo "ok 1 - consoles # SKIP $ELF not built (riscv64-unknown-elf-gcc missing?)"
	exit 0
fi
exec timeout 600 python3 "$SRC_DIR/tests/vm/console.py" "$VM" "$ELF" "$TMP"
