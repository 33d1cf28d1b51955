#!/bin/sh
# The Linux test guest (tests/guest/build.sh, strata.test=shell) with several harts: -smp 2 and
# -smp 4 boot to the shell, /proc/cpuinfo lists every hart, every hart is online, parallel
# md5sum jobs give the host's result and every hart's busy time grows; at -smp 2 savevm and
# loadvm bring back every hart (the jobs run again after loadvm), and the same checks on
# qemu-system-riscv64 -smp 2 print the same. strata-vm runs all that twice: -accel
# tcg,thread=single (harts taking turns on one thread) and thread=multi (a host thread per
# hart; SMP_ONLY=multi runs only these). A two-hart snapshot on -smp 1 is refused with a
# clear message. TAP output.
#   usage: smp.sh [GUEST_DIR]   STRATA_VM, STRATA_IMG, QEMU, BOOT_TIMEOUT (s, default 600)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -x "$VM" ] || bail "$VM not built"
guest_find "Linux with several harts" "$@"
[ -s "$G/Image" ] && [ -s "$G/initrd.gz" ] && [ -s "$G/rootfs.qcow2" ] || bail "no Image/initrd.gz/rootfs.qcow2 in '$G'"
exec python3 "$here/smp.py" "$VM" "$G" "$TMP" "$TIMEOUT"
