#!/bin/sh
# The Linux test guest (tests/guest/build.sh, strata.test=shell) with several harts: -smp 2 and
# -smp 4 boot to the shell, /proc/cpuinfo lists every hart, every hart is online, parallel
# md5sum jobs give the host's result and every hart's busy time grows; at -smp 2 savevm and
# loadvm bring back every hart (the jobs run again after loadvm), and the same checks on
# qemu-system-riscv64 -smp 2 print the same. A two-hart snapshot on -smp 1 is refused with a
# clear message. TAP output.
#   usage: smp.sh [GUEST_DIR]   STRATA_VM, STRATA_IMG, QEMU, BOOT_TIMEOUT (s, default 300)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
VM=${STRATA_VM:-$top/build/rel/strata-vm}
IMG=${STRATA_IMG:-$top/build/rel/strata-img}
TIMEOUT=${BOOT_TIMEOUT:-300}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
bail() { echo "Bail out! $1"; exit 1; }

[ -x "$VM" ] || bail "$VM not built"
if [ $# -gt 0 ]; then
	G=$1
else
	STRATA_IMG=$IMG sh "$here/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
	rc=$?
	if [ $rc -eq 75 ]; then
		echo "ok 1 - Linux with several harts # SKIP Debian archive not reachable: $(tail -n 1 "$TMP/build.err")"
		exit 0
	fi
	[ $rc -eq 0 ] || { sed 's/^/# /' "$TMP/build.err"; bail "tests/guest/build.sh failed"; }
	G=$(tail -n 1 "$TMP/build.out")
fi
[ -s "$G/Image" ] && [ -s "$G/initrd.gz" ] && [ -s "$G/rootfs.qcow2" ] || bail "no Image/initrd.gz/rootfs.qcow2 in '$G'"
exec python3 "$here/smp.py" "$VM" "$G" "$TMP" "$TIMEOUT"
