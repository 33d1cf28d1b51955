#!/bin/sh
# `make debian-check` (not in make check): the Debian image of tests/guest/debian-image.sh
# (built first if missing, minutes) on a fresh qcow2 overlay per run, driven through the serial
# console and the HMP monitor (debian_check.py): login: on ttyS0, savevm/loadvm at the login
# prompt, a root login, systemctl is-system-running, apt-get --version, ssh through hostfwd, a
# file across `systemctl reboot`, `systemctl poweroff` = exit 0, strata-img and qemu-img check on
# both images; then -smp 2 boots (a host thread per hart, the default, and thread=single):
# login:, both harts online, systemd running, two processes in parallel, poweroff = exit 0,
# the overlay checks clean; then the same image on qemu-system-riscv64. TAP output.
#   usage: debian-check.sh [DEBIAN_DIR]   STRATA_VM, STRATA_IMG, QEMU, QEMU_IMG, BOOT_TIMEOUT,
#   SSH_PORT (default 2222, the next free one if taken), DEBIAN_QEMU=0 (no QEMU boot),
#   DEBIAN_STRATA=0 (only the QEMU boot), DEBIAN_SMP=0 (no -smp 2 boots; only: just those),
#   DEBIAN_SMP_MODES (default "multi single")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
STRATA_VM=${STRATA_VM:-$top/build/rel/strata-vm}
STRATA_IMG=${STRATA_IMG:-$top/build/rel/strata-img}
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
export STRATA_VM STRATA_IMG FW
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
bail() { echo "Bail out! $1"; exit 1; }

[ -x "$STRATA_VM" ] && [ -x "$STRATA_IMG" ] || bail "$STRATA_VM or $STRATA_IMG not built"
[ -r "$FW" ] || bail "$FW not found (make deps: opensbi)"
if [ $# -gt 0 ]; then
	D=$1
else
	sh "$here/debian-image.sh" >"$TMP/build.out" 2>"$TMP/build.err"
	rc=$?
	if [ $rc -eq 75 ]; then
		echo "ok 1 - Debian boots # SKIP Debian archive not reachable"
		echo "1..1"
		exit 0
	fi
	[ $rc -eq 0 ] || { sed 's/^/# /' "$TMP/build.err"; bail "tests/guest/debian-image.sh failed"; }
	D=$(tail -n 1 "$TMP/build.out")
fi
for f in root.qcow2 vmlinux initrd.img id_ed25519; do
	[ -s "$D/$f" ] || bail "no $f in '$D'"
done
echo "# image $D ($(head -n 1 "$D/build-seconds" 2>/dev/null))"
python3 "$here/debian_check.py" "$D" "$TMP"
rc=$?
[ $rc -eq 0 ] || for f in "$TMP"/*.console; do
	echo "# --- last lines of $(basename "$f")"
	tail -n 25 "$f" | tr -d '\r' | sed 's/^/#   /'
done
exit $rc
