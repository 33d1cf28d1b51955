#!/bin/sh
# HMP `info roms`: what strata-vm puts in memory at reset (the mask ROM's mrom.reset and
# mrom.finfo, firmware, kernel, initrd, device tree), in QEMU 7.2's layout, compared line by
# line with qemu-system-riscv64 on the same -bios/-kernel/-initrd. strata-vm's device tree is
# packed (QEMU reports its 1 MiB buffer), so the fdt line is compared without its size.
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/vm/asm/counter.elf
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

roms() { # EMULATOR ARGS...: the info roms lines, \r removed
	emu=$1; shift
	printf 'info roms\nq\n' | timeout 30 "$emu" -M virt "$@" -S -display none -serial null -monitor stdio 2>&1 |
		tr -d '\r' | grep '^addr='
}
head -c 100000 /dev/urandom >"$TMP/kernel.bin"
head -c 70001 /dev/urandom >"$TMP/initrd.bin"
set -- "-bios none -kernel $ELF" "-m 256M -bios none -kernel $TMP/kernel.bin -initrd $TMP/initrd.bin" \
	"-m 2G -bios none"
[ -f "$FW" ] && set -- "$@" "-bios $FW -kernel $TMP/kernel.bin -initrd $TMP/initrd.bin" "-m 1G -bios $FW"
for args in "$@"; do
	# shellcheck disable=SC2086
	roms "$VM" $args >"$TMP/vm.roms"
	check "info roms lists the mask ROM and what was loaded ($args)" \
		'grep -q "^addr=0000000000001000 size=0x000028 mem=rom name=\"mrom.reset\"\$" "$TMP/vm.roms" &&
		 grep -q "^addr=0000000000001028 size=0x000030 mem=rom name=\"mrom.finfo\"\$" "$TMP/vm.roms" &&
		 grep -q "name=\"fdt\"" "$TMP/vm.roms"'
	if ! command -v qemu-system-riscv64 >/dev/null; then
		skip "info roms as QEMU's" "qemu-system-riscv64 not installed"
		continue
	fi
	# shellcheck disable=SC2086
	roms qemu-system-riscv64 $args | sed 's/ size=0x[0-9a-f]* \(mem=ram name="fdt"\)/ \1/' >"$TMP/q.roms"
	sed 's/ size=0x[0-9a-f]* \(mem=ram name="fdt"\)/ \1/' "$TMP/vm.roms" >"$TMP/v.roms"
	check "info roms as QEMU's ($args)" '[ -s "$TMP/q.roms" ] && cmp -s "$TMP/v.roms" "$TMP/q.roms"'
	cmp -s "$TMP/v.roms" "$TMP/q.roms" || diff "$TMP/v.roms" "$TMP/q.roms" | sed 's/^/# /'
done
echo "1..$n"
