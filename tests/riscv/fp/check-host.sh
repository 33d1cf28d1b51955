#!/bin/sh
# Compares emulator/cpu/fpu.c with QEMU, the oracle, before (and independently of) strata-vm:
# each guest program tests/riscv/fp/fp_<suite>.c runs on qemu-system-riscv64, its output is
# diffed with `test_rv_fpu --replay <suite>`, which computes the same operations with fpu.c,
# and with the same replay of the software-only build (test_rv_fpu_soft) when it exists.
# One TAP line per suite and build; skips when QEMU or the cross compiler is missing.
SRC_DIR=${SRC_DIR:-.}
BUILD_DIR=${BUILD_DIR:-build/rel}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
QEMU=qemu-system-riscv64
RV_CC=riscv64-unknown-elf-gcc
REPLAY=$BUILD_DIR/tests/unit/test_rv_fpu
REPLAY_SOFT=$BUILD_DIR/tests/riscv/fp/test_rv_fpu_soft
LIMIT=60

cd "$SRC_DIR" || exit 1
for tool in $QEMU $RV_CC; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "ok 1 - fpu vs qemu # SKIP $tool not installed"
		exit 0
	fi
done
if [ ! -x "$REPLAY" ]; then
	echo "not ok 1 - fpu vs qemu: $REPLAY missing"
	exit 1
fi

D=tests/riscv/fp
C=tests/riscv/common
# the shared guest runtime: crt0.S first, then every other source of common/ (as riscv.mk)
RUNTIME="$C/crt0.S $(ls $C/*.c $C/*.S | grep -v '/crt0\.S$' | tr '\n' ' ')"
n=0
for src in $D/fp_*.c; do
	suite=$(basename "$src" .c)
	suite=${suite#fp_}
	elf=$TMP/$suite.elf
	if ! $RV_CC -march=rv64imafdc_zicsr_zifencei -mabi=lp64d -mcmodel=medany -O2 -ffreestanding \
		-fno-builtin -nostdlib -Wall -Wextra -Werror -Wno-unused-parameter -I$C -I$D -o "$elf" \
		"$src" $D/fpcases.c $D/fpguest.c $RUNTIME -T $C/link.ld \
		-Wl,--no-warn-rwx-segments -lgcc >"$TMP/$suite.cc" 2>&1; then
		n=$((n + 1))
		echo "not ok $n - $suite: guest build failed"
		head -n 10 "$TMP/$suite.cc" | sed 's/^/# /'
		continue
	fi
	timeout $LIMIT $QEMU -M virt -bios none -kernel "$elf" -nographic </dev/null >"$TMP/$suite.qemu" 2>&1
	qrc=$?
	lines=$(wc -l <"$TMP/$suite.qemu" | tr -d ' ')
	for replay in "$REPLAY" "$REPLAY_SOFT"; do
		[ -x "$replay" ] || continue
		n=$((n + 1))
		what=$(basename "$replay")
		"$replay" --replay "$suite" >"$TMP/$suite.$what"
		hrc=$?
		if [ $qrc -ne 0 ] || [ $hrc -ne 0 ]; then
			echo "not ok $n - $suite ($what): qemu exit $qrc, replay exit $hrc"
			tail -n 3 "$TMP/$suite.qemu" | sed 's/^/# /'
		elif cmp -s "$TMP/$suite.qemu" "$TMP/$suite.$what"; then
			echo "ok $n - $suite ($what): $lines lines identical to qemu"
		else
			echo "not ok $n - $suite ($what): $(diff "$TMP/$suite.qemu" "$TMP/$suite.$what" | grep -c '^<') of $lines lines differ from qemu"
			diff "$TMP/$suite.qemu" "$TMP/$suite.$what" | head -n 20 | sed 's/^/# /'
		fi
	done
done
