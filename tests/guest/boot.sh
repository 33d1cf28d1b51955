#!/bin/sh
# Boots the guest of build.sh (Linux + busybox on an ext4 root disk converted to qcow2) on
# qemu-system-riscv64 and on strata-vm with the same command line, each on its own copy of the
# disk, and compares: both reach "GUEST OK" and power off, print the same kernel/ISA and md5
# lines, the md5 is that of the data the host reads back from the disk, and both images pass
# `qemu-img check`. Prints the wall times. TAP output.
#   usage: boot.sh [GUEST_DIR]   (default: the directory build.sh prints)
#   STRATA_VM (default build/guest/strata-vm), QEMU (qemu-system-riscv64), QEMU_IMG (qemu-img),
#   STRATA_VM_FLAGS extra strata-vm options before the common ones (e.g. --jit=off),
#   BOOT_TIMEOUT seconds per boot (default 120), TEST_TMPDIR (default a new temporary directory)
here=$(cd "$(dirname "$0")" && pwd)
VM=${STRATA_VM:-build/guest/strata-vm}
QEMU=${QEMU:-qemu-system-riscv64}
QEMU_IMG=${QEMU_IMG:-qemu-img}
TIMEOUT=${BOOT_TIMEOUT:-120}
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }
bail() { echo "Bail out! $1"; exit 1; }

if [ $# -gt 0 ]; then guest=$1; else guest=$(sh "$here/build.sh") || bail "build.sh failed"; fi
[ -s "$guest/Image" ] && [ -s "$guest/rootfs.raw" ] || bail "no Image/rootfs.raw in '$guest'"
[ -x "$VM" ] || bail "$VM not built (make BUILD=build/guest build/guest/strata-vm)"
FW=$(dpkg -L opensbi 2>/dev/null | grep 'generic/fw_dynamic.bin$' | head -n 1)
[ -r "$FW" ] || bail "opensbi's generic/fw_dynamic.bin not found (make deps)"
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
echo "# guest $guest"

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
# run NAME EMULATOR [FLAGS...]: boots on a fresh qcow2 copy $TMP/NAME.qcow2, log $TMP/NAME.log,
# exit status in $TMP/NAME.rc, wall milliseconds in $TMP/NAME.ms
run() {
	name=$1
	shift
	"$QEMU_IMG" convert -f raw -O qcow2 "$guest/rootfs.raw" "$TMP/$name.qcow2" || bail "qemu-img convert"
	t0=$(now)
	timeout -k 5 "$TIMEOUT" "$@" -M virt -m 256M -smp 1 -nographic -no-reboot \
		-bios "$FW" -kernel "$guest/Image" \
		-append "root=/dev/vda rw console=ttyS0 earlycon" \
		-drive file="$TMP/$name.qcow2",format=qcow2,if=none,id=hd0 \
		-device virtio-blk-device,drive=hd0 </dev/null >"$TMP/$name.out" 2>&1
	echo $? >"$TMP/$name.rc"
	ms "$t0" "$(now)" >"$TMP/$name.ms"
	tr -d '\r' <"$TMP/$name.out" >"$TMP/$name.log"
}
line() { sed -n "s/^GUEST $2 //p" "$TMP/$1.log" | head -n 1; }
# the md5 of /data as the host reads it from the image (debugfs on a raw copy)
host_md5() {
	"$QEMU_IMG" convert -f qcow2 -O raw "$TMP/$1.qcow2" "$TMP/$1.raw" &&
		debugfs -R 'cat /data' "$TMP/$1.raw" 2>/dev/null | md5sum | cut -d ' ' -f 1
}

run qemu "$QEMU"
# shellcheck disable=SC2086 # STRATA_VM_FLAGS is a list of options
run strata "$VM" $STRATA_VM_FLAGS

for e in qemu strata; do
	check "$e: the guest reaches GUEST OK" 'grep -qx "GUEST OK" "$TMP/$e.log"'
	check "$e: the guest powers off, exit status 0 (got $(cat "$TMP/$e.rc"); 124 = timeout)" \
		'[ "$(cat "$TMP/$e.rc")" = 0 ]'
	check "$e: $QEMU_IMG check passes on the disk" '"$QEMU_IMG" check -q "$TMP/$e.qcow2"'
	m=$(host_md5 "$e")
	check "$e: md5 printed by the guest = md5 of /data read from the disk ($m)" \
		'[ -n "$m" ] && [ "$(line "$e" md5 | cut -d " " -f 1)" = "$m" ]'
done
# the ISA strings differ by design (QEMU 7.2's default cpu has H; strata-vm is RV64GC): printed only
check "both run the same kernel ($(line qemu kernel | cut -d " " -f 1))" \
	'[ -n "$(line qemu kernel)" ] && [ "$(line qemu kernel | cut -d " " -f 1)" = "$(line strata kernel | cut -d " " -f 1)" ]'
for e in qemu strata; do echo "# $e: $(line "$e" kernel | tr -s '\t' ' ')"; done
check "the md5 lines agree ($(line qemu md5))" \
	'[ -n "$(line qemu md5)" ] && [ "$(line qemu md5)" = "$(line strata md5)" ]'

for e in qemu strata; do
	echo "# $e: wall $(cat "$TMP/$e.ms") ms (start to exit), kernel start to GUEST OK $(line "$e" uptime) s (guest uptime)"
done
echo "1..$n"
[ "$fail" -eq 0 ] || { tail -n 15 "$TMP/strata.log" | sed 's/^/# strata: /'; exit 1; }
