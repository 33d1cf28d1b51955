#!/bin/sh
# SIGKILL strata-vm while the Linux test guest (tests/guest/build.sh, strata.test=shell) writes
# to a qcow2 data disk with dd conv=fsync (and oflag=direct), driven by crash_kill_linux.py:
# one boot, savevm at the prompt, then several runs (-loadvm) each killed after a few synced
# blocks. After every kill both images pass qemu-img check (leaks allowed) and every block
# whose fsync returned in the guest is on the data disk. TAP output.
#   usage: crash-kill.sh [GUEST_DIR]   STRATA_VM, STRATA_IMG, BOOT_TIMEOUT (s, default 600),
#   CRASH_LINUX_KILLS (default 5), CRASH_SEED
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -x "$VM" ] || bail "$VM not built"
command -v qemu-img >/dev/null || { echo "ok 1 - Linux kill loop # SKIP needs qemu-img"; exit 0; }
guest_find "Linux kill loop" "$@"
[ -s "$G/Image" ] && [ -s "$G/initrd.gz" ] && [ -s "$G/rootfs.qcow2" ] || bail "no Image/initrd.gz/rootfs.qcow2 in '$G'"
"$IMG" create -q -f qcow2 -b "$G/rootfs.qcow2" -F qcow2 "$TMP/top.qcow2" || bail "strata-img create"
"$IMG" create -q -f qcow2 "$TMP/data.qcow2" 32M || bail "strata-img create"
exec timeout -k 10 1200 python3 "$here/crash_kill_linux.py" "$VM" "$G" "$TMP" "$TIMEOUT" "${CRASH_LINUX_KILLS:-5}"
