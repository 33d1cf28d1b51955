#!/bin/sh
# The virtio-input power button (strata-vm's own: QEMU's virt has none, so there is no oracle
# run; the expected transcript below is the spec read by hand, virtio 1.1 section 5.8).
# tests/vm/powerbutton (C, the board without main.c) runs tests/vm/guest/input_power.c and
# calls vm_virt_system_powerdown before the guest's driver exists and whenever the guest prints
# "waiting N": config space, status queue, events through direct and indirect buffers, an
# event waiting for a buffer, a looping descriptor breaking the device, reset, NO_INTERRUPT.
# Then the command line: -M virt,powerbutton=on|off, errors, and disks keeping their slots.
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
HOST=$BUILD_DIR/tests/vm/powerbutton
ELF=$BUILD_DIR/vm/guest/input_power.elf
BLK=$BUILD_DIR/riscv/virtio/blk_raw.elf
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
check() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
for f in "$HOST" "$ELF" "$BLK" "$VM"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "not ok 1 - $f not built"; exit 1; }
done

cat >"$TMP/expected" <<'END'
host: press 0 (before the driver)
slot=0x0000000000000000
version=0x0000000000000002
features[0]=0x0000000010000000
features[1]=0x0000000000000001
status after FEATURES_OK=0x000000000000000b
name (12): 'Power Button'
serial (13): 'strata-power0'
devids (8): 0x00000006 0x00000000 0x00000001 0x00000001
prop bits (0):
EV_SYN bits (1): 0
EV_KEY bits (15): 116
EV_REL bits (0):
EV_ABS bits (0):
abs info 0 (0):
unset (0):
status event consumed: ok
status used id=0x0000000000000000
status used len=0x0000000000000000
isr after status=0x0000000000000001
used before the press=0x0000000000000000
waiting 1
host: press 1
three events delivered: ok
event: id 0 len 8 type 1 code 116 value 1
event: id 1 len 8 type 0 code 0 value 0
event: id 2 len 8 type 1 code 116 value 0
isr=0x0000000000000001
plic claim=0x0000000000000001
used without a fourth buffer=0x0000000000000003
fourth event delivered on notify: ok
event: id 3 len 8 type 0 code 0 value 0
isr=0x0000000000000001
status before the press=0x000000000000000f
waiting 2
host: press 2
status=0x000000000000004f
isr=0x0000000000000002
used=0x0000000000000004
buffer untouched=0x0000000000000001
status after reset=0x0000000000000000
queue 0 ready after reset=0x0000000000000000
waiting 3
host: press 3
four events delivered: ok
event: id 0 len 8 type 1 code 116 value 1
event: id 1 len 8 type 0 code 0 value 0
event: id 2 len 8 type 1 code 116 value 0
event: id 3 len 8 type 0 code 0 value 0
isr (interrupt suppressed)=0x0000000000000000
plic claim=0x0000000000000000
done
host: POWERDOWN events 4, events dropped 4
END
timeout 120 "$HOST" "$ELF" >"$TMP/out" 2>"$TMP/err"
rc=$?
check "guest driver of the power button exits 0 (got $rc)" '[ $rc = 0 ]'
check "transcript as expected" 'cmp -s "$TMP/expected" "$TMP/out"'
diff "$TMP/expected" "$TMP/out" | head -n 20 | sed 's/^/# /'

# savevm/loadvm while an event waits for a buffer: the queued event travels in the VM state
timeout 120 "$HOST" "$ELF" savevm >"$TMP/out2" 2>"$TMP/err2"
rc=$?
check "savevm/loadvm with a queued event: guest exits 0 (got $rc)" '[ $rc = 0 ]'
check "savevm/loadvm with a queued event: the round trip happened" \
	'grep -q "^host: savevm/loadvm with [1-9][0-9]* queued event(s): loaded, [1-9][0-9]* after the load$" "$TMP/err2"'
check "savevm/loadvm with a queued event: transcript unchanged" 'cmp -s "$TMP/expected" "$TMP/out2"'
diff "$TMP/expected" "$TMP/out2" | head -n 20 | sed 's/^/# /'
sed 's/^/# /' "$TMP/err2"

# -M virt,powerbutton=off: slot 0 is QEMU's empty transport again
timeout 30 "$VM" -M virt,powerbutton=off -bios none -kernel "$ELF" -nographic </dev/null >"$TMP/off" 2>&1
rc=$?
check "powerbutton=off: no virtio-input device (exit $rc)" \
	'[ $rc = 1 ] && [ "$(cat "$TMP/off")" = "no virtio-input device" ]'

# errors, worded as qemu-system's for machine properties
"$VM" -M virt,powerbutton=maybe -bios none -kernel "$ELF" -nographic </dev/null >/dev/null 2>"$TMP/err"
rc=$?
check "powerbutton=maybe refused" \
	'[ $rc = 1 ] && [ "$(cat "$TMP/err")" = "strata-vm: Parameter '"'powerbutton'"' expects '"'on'"' or '"'off'"'" ]'
"$VM" -M virt,nosuch=1 -bios none -kernel "$ELF" -nographic </dev/null >/dev/null 2>"$TMP/err"
rc=$?
check "unknown machine property refused as QEMU words it" \
	'[ $rc = 1 ] && [ "$(cat "$TMP/err")" = "strata-vm: Property '"'virt-machine.nosuch'"' not found" ]'
timeout 30 "$VM" -M virt,powerbutton=no -bios none -kernel "$ELF" -nographic </dev/null >"$TMP/off" 2>&1
rc=$?
check "powerbutton=no (QEMU's boolean spellings): no virtio-input device (exit $rc)" \
	'[ $rc = 1 ] && [ "$(cat "$TMP/off")" = "no virtio-input device" ]'
"$VM" -M virt,powerbutton=on,dumpdtb="$TMP/on.dtb" -bios none -nographic </dev/null >/dev/null 2>&1
"$VM" -M virt,powerbutton=off,dumpdtb="$TMP/off.dtb" -bios none -nographic </dev/null >/dev/null 2>&1
check "powerbutton=on,dumpdtb: same device tree as without the button (the slot's node exists anyway)" \
	'[ -s "$TMP/on.dtb" ] && cmp -s "$TMP/on.dtb" "$TMP/off.dtb"'

# a disk keeps QEMU's slot (the highest); the button stays in slot 0, a version 2 transport
# on this force-legacy board
printf 'x' >"$TMP/disk.raw" && truncate -s 1M "$TMP/disk.raw"
for pb in on off; do
	cp "$TMP/disk.raw" "$TMP/disk.$pb.raw"
	timeout 30 "$VM" -M virt,powerbutton=$pb -bios none -kernel "$BLK" -nographic \
		-drive file="$TMP/disk.$pb.raw",format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 \
		</dev/null >"$TMP/blk.$pb" 2>&1
done
diff "$TMP/blk.on" "$TMP/blk.off" >"$TMP/blk.diff"
check "with a disk: only slot 0 differs, device 18 version 2 there" \
	'[ "$(grep -c "^[<>]" "$TMP/blk.diff")" = 2 ] &&
	 grep -qx "< slot 0: magic=0x74726976 version=2 device=18 vendor=0x554d4551" "$TMP/blk.diff" &&
	 grep -qx "slot 7: magic=0x74726976 version=1 device=2 vendor=0x554d4551" "$TMP/blk.on"'
echo "1..$n"
