#!/bin/sh
# savevm/loadvm of a running Linux guest, driven the way a user does it: Debian's riscv64 kernel
# (tests/guest/build.sh) with a busybox shell on the serial console (strata.test=shell), the
# serial port and the HMP monitor on unix sockets. At the shell prompt: `savevm s1`; the shell
# writes a file and syncs; `loadvm s1`; the file is gone (RAM and disk are back) and the shell
# answers; the guest's timer still ticks (sleep returns); then the same snapshot is started by
# a fresh `strata-vm -loadvm s1`. The images pass qemu-img check and `qemu-img snapshot -l`
# lists s1 with its VM state. QEMU 7.2 hangs such a guest's timer after loadvm (issue 10), so
# nothing is compared with it. TAP output.
#   usage: savevm.sh [GUEST_DIR]   STRATA_VM, STRATA_IMG, BOOT_TIMEOUT (s, default 600)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -x "$VM" ] || bail "$VM not built"
guest_find "Linux savevm/loadvm" "$@"
[ -s "$G/Image" ] && [ -s "$G/initrd.gz" ] && [ -s "$G/rootfs.qcow2" ] || bail "no Image/initrd.gz/rootfs.qcow2 in '$G'"
"$IMG" create -q -f qcow2 -b "$G/rootfs.qcow2" -F qcow2 "$TMP/top.qcow2" || bail "strata-img create"
exec python3 "$here/savevm.py" "$VM" "$G" "$TMP" "$TIMEOUT"
