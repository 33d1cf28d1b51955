#!/bin/sh
# The power button with Linux: Debian's riscv64 kernel (tests/guest/build.sh) boots on strata-vm
# with strata.test=powerbutton (tests/guest/rootfs/tests/powerbutton); once the guest waits on
# the button's event device, system_powerdown goes in over QMP, and the guest must see KEY_POWER
# and power off (exit 0). Checks /proc/bus/input/devices (name, KEY_POWER bit), QMP's answer and
# POWERDOWN event, and that -M virt,powerbutton=off leaves Linux without the device.
# QEMU 7.2's virt has no power button: there is nothing to compare with.
#   usage: powerbutton.sh [GUEST_DIR]   (default: the directory build.sh prints)
#   STRATA_VM, STRATA_IMG (default build/rel/...), BOOT_TIMEOUT (s, default 600),
#   PRESS: a command that presses the button instead of QMP (gets the QMP socket path as $1)
# Skips only when the archive cannot be reached and nothing is cached.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
VM=${STRATA_VM:-$top/build/rel/strata-vm}
IMG=${STRATA_IMG:-$top/build/rel/strata-img}
TIMEOUT=${BOOT_TIMEOUT:-600}
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }
skip() { echo "ok 1 - Linux and the power button # SKIP $1"; echo "1..1"; exit 0; }
bail() { echo "Bail out! $1"; exit 1; }

[ -x "$VM" ] || bail "$VM not built"
[ -r "$FW" ] || bail "$FW not found (make deps: opensbi)"
if [ $# -gt 0 ]; then
	G=$1
else
	STRATA_IMG=$IMG sh "$here/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
	rc=$?
	[ $rc -eq 75 ] && skip "Debian archive not reachable: $(tail -n 1 "$TMP/build.err")"
	[ $rc -eq 0 ] || { sed 's/^/# /' "$TMP/build.err"; bail "tests/guest/build.sh failed"; }
	G=$(tail -n 1 "$TMP/build.out")
fi
[ -s "$G/Image" ] && [ -s "$G/initrd.gz" ] && [ -s "$G/rootfs.raw" ] || bail "no Image/initrd.gz/rootfs.raw in '$G'"
gzip -dc "$G/initrd.gz" | cpio -t 2>/dev/null | grep -q 'evdev\.ko' ||
	bail "the guest's initramfs has no evdev module (tests/guest/build.sh MODULES)"

# QMP client: capabilities, system_powerdown; prints the answer and the events that arrive
# within a second (sockets only, stdlib)
cat >"$TMP/qmp.py" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())  # greeting
for cmd in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if "event" in msg:
            print("event", msg["event"])
            continue
        print(cmd, json.dumps(msg.get("return", msg)))
        break
s.settimeout(1)
try:
    while True:
        line = f.readline()
        if not line:
            break
        msg = json.loads(line)
        if "event" in msg:
            print("event", msg["event"])
except (socket.timeout, OSError):
    pass
PY

# boot NAME MACHINE: strata.test=powerbutton on a qcow2 copy of the root disk; presses the
# button when the guest says it waits. Log $TMP/NAME.log, status $TMP/NAME.rc, QMP $TMP/NAME.qmp
boot() {
	name=$1
	"$IMG" convert -f raw -O qcow2 "$G/rootfs.raw" "$TMP/$name.qcow2" 2>/dev/null ||
		qemu-img convert -f raw -O qcow2 "$G/rootfs.raw" "$TMP/$name.qcow2" || bail "cannot convert the root disk"
	sock=$TMP/$name.sock
	timeout -k 5 "$TIMEOUT" "$VM" -M "$2" -m 256M -smp 1 -nographic -no-reboot -bios "$FW" \
		-kernel "$G/Image" -initrd "$G/initrd.gz" \
		-append "root=/dev/vda console=ttyS0 quiet strata.test=powerbutton" \
		-drive file="$TMP/$name.qcow2",format=qcow2,if=none,id=hd0 -device virtio-blk-device,drive=hd0 \
		$([ -z "${PRESS:-}" ] && echo "-qmp unix:$sock,server=on,wait=off") \
		</dev/null >"$TMP/$name.raw" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt $((TIMEOUT * 5)) ] && kill -0 $pid 2>/dev/null; do
		if grep -q "^STRATA powerbutton: waiting" "$TMP/$name.raw" 2>/dev/null; then
			sleep 0.5 # the guest is in read(2) by now; a press before it would still be queued
			if [ -n "${PRESS:-}" ]; then
				sh -c "$PRESS" press "$sock" >"$TMP/$name.qmp" 2>&1
			else
				timeout 20 python3 "$TMP/qmp.py" "$sock" >"$TMP/$name.qmp" 2>&1
			fi
			break
		fi
		sleep 0.2
		i=$((i + 1))
	done
	wait $pid
	echo $? >"$TMP/$name.rc"
	tr -d '\r' <"$TMP/$name.raw" >"$TMP/$name.log"
}
line() { grep -c "^STRATA powerbutton: $2" "$TMP/$1.log"; }

boot on virt
check "Linux registers the button: /proc/bus/input/devices names it \"Power Button\"" \
	'[ "$(line on "N: Name=\"Power Button\"")" = 1 ]'
check "... with the one key KEY_POWER (bit 116: KEY=10000000000000 0)" '[ "$(line on "B: KEY=10000000000000 0")" = 1 ]'
check "... and events only of types EV_SYN and EV_KEY (EV=3)" '[ "$(line on "B: EV=3")" = 1 ]'
if [ -z "${PRESS:-}" ]; then
	check "QMP system_powerdown answers {} and emits POWERDOWN" \
		'grep -qx "system_powerdown {}" "$TMP/on.qmp" && grep -qx "event POWERDOWN" "$TMP/on.qmp"'
fi
check "the guest reads KEY_POWER pressed from the event device" '[ "$(line on KEY_POWER)" = 1 ]'
check "the guest powers off, exit status 0 (got $(cat "$TMP/on.rc"); 124 = timeout)" \
	'[ "$(cat "$TMP/on.rc")" = 0 ] && grep -qx "STRATA poweroff" "$TMP/on.log"'

boot off virt,powerbutton=off
check "-M virt,powerbutton=off: Linux has no power button, powers off by itself (status $(cat "$TMP/off.rc"))" \
	'[ "$(line off "no power button")" = 1 ] && [ "$(cat "$TMP/off.rc")" = 0 ]'
for f in on off; do grep "^STRATA powerbutton\|Power Button" "$TMP/$f.log" | sed "s/^/# $f: /"; done
echo "1..$n"
