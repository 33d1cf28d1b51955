#!/bin/sh
# strata-vm's process options against qemu-system-riscv64 7.2: option errors word for word (with
# the program name swapped), -version, -bios default, -no-reboot, -no-shutdown, -S, -pidfile,
# -daemonize, and an idle guest sleeping on the host. TAP output.
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
QEMU=qemu-system-riscv64
TMP=${TEST_TMPDIR:-$(mktemp -d)}
G=$BUILD_DIR/vm/guest
ALU=$BUILD_DIR/riscv/int/alu.elf
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# --- option errors: QEMU's lines, QEMU's exit code ---
same_error() { # DESCRIPTION ARGS...: both exit 1 and print the same text up to the name
	desc=$1
	shift
	"$VM" "$@" </dev/null >/dev/null 2>"$TMP/s.err"
	src=$?
	$QEMU -display none "$@" </dev/null >/dev/null 2>"$TMP/q.err"
	qrc=$?
	sed -i 's/^qemu-system-riscv64:/strata-vm:/' "$TMP/q.err"
	grep -v "^qemu: module" "$TMP/q.err" >"$TMP/q2.err"
	if [ $src -eq 1 ] && [ $qrc -eq 1 ] && cmp -s "$TMP/s.err" "$TMP/q2.err"; then
		ok "$desc"
	else
		notok "$desc"
		echo "# strata-vm ($src):"; sed 's/^/#   /' "$TMP/s.err"
		echo "# qemu ($qrc):"; sed 's/^/#   /' "$TMP/q2.err"
	fi
}
same_error "unknown option" -foo
same_error "unknown option with two dashes" --foo
same_error "option without its argument" -m
same_error "-kernel without its argument" -kernel
same_error "bad memory size" -m foo
same_error "unknown machine" -M foo
same_error "missing firmware file" -M virt -bios "$TMP/nonexistent.bin"
same_error "-append without -kernel" -M virt -append "console=ttyS0"
same_error "-initrd without -kernel" -M virt -initrd "$ALU"
same_error "unknown device model" -M virt -device nosuchdev,x=1
same_error "a device model name with a known prefix" -M virt -device virtio-blk-devicex,drive=d
same_error "virtio-blk-device without drive=" -M virt -device virtio-blk-device,serial=s
same_error "virtio-blk-device with an unknown drive" -M virt -device virtio-blk-device,drive=nope
memnode() { dtc -I dtb -O dts "$1" 2>/dev/null | grep -A2 "memory@" | grep "reg ="; }
"$VM" -M virt,dumpdtb="$TMP/m0s.dtb" -m 0 >/dev/null 2>&1
$QEMU -M virt,dumpdtb="$TMP/m0q.dtb" -m 0 -display none >/dev/null 2>&1
check "-m 0 means the default RAM size, as QEMU" '[ -n "$(memnode "$TMP/m0s.dtb")" ] && [ "$(memnode "$TMP/m0s.dtb")" = "$(memnode "$TMP/m0q.dtb")" ]'

"$VM" -enable-kvm >/dev/null 2>"$TMP/err"
check "-enable-kvm: not supported, exit 1" '[ $? -eq 1 ] && grep -q "KVM is not supported" "$TMP/err"'
"$VM" -accel kvm >/dev/null 2>"$TMP/err"
check "-accel kvm: invalid accelerator, exit 1" '[ $? -eq 1 ] && grep -q "^strata-vm: -accel kvm: invalid accelerator kvm" "$TMP/err"'
timeout 120 "$VM" -M virt -accel tcg -bios none -display none -serial null -kernel "$ALU" >/dev/null 2>"$TMP/err"
check "-accel tcg accepted: the guest runs to its poweroff, exit 0" '[ $? -eq 0 ] && [ ! -s "$TMP/err" ]'
"$VM" -smp 9 >/dev/null 2>"$TMP/err"
check "-smp 9: more than 8 harts, exit 1" '[ $? -eq 1 ] && grep -qx "strata-vm: Invalid SMP CPUs 9. The max CPUs supported by machine .virt. is 8" "$TMP/err"'
"$VM" -M virt -nographic -daemonize >/dev/null 2>"$TMP/err"
check "-nographic with -daemonize refused as QEMU" '[ $? -eq 1 ] && [ "$(cat "$TMP/err")" = "strata-vm: -nographic cannot be used with -daemonize" ]'

# --- version and help ---
"$VM" -version >"$TMP/v1"
r1=$?
"$VM" --version >"$TMP/v2"
check "-version and --version" '[ $r1 -eq 0 ] && cmp -s "$TMP/v1" "$TMP/v2" && grep -q "^strata-vm emulator version [0-9.]* (Strata, qemu-system-riscv64 7.2 compatible)$" "$TMP/v1"'
ln -sf "$(cd "$(dirname "$VM")" && pwd)/$(basename "$VM")" "$TMP/myvm"
"$TMP/myvm" -bogus 2>"$TMP/err"
check "messages carry the invoked name" '[ "$(cat "$TMP/err")" = "myvm: -bogus: invalid option" ]'
"$VM" -h >"$TMP/help"
check "-h prints usage, exit 0" '[ $? -eq 0 ] && grep -q "^usage: strata-vm" "$TMP/help"'

# --- firmware by default ---
timeout 3 "$VM" -M virt -nographic </dev/null >"$TMP/sbi.out" 2>&1
check "no -bios: OpenSBI starts" 'grep -q "^OpenSBI v" "$TMP/sbi.out"'
timeout 3 "$VM" -M virt -nographic -bios default </dev/null >"$TMP/sbi2.out" 2>&1
check "-bios default: OpenSBI starts" 'grep -q "^OpenSBI v" "$TMP/sbi2.out"'

# --- guest reset and power-off ---
timeout 3 "$VM" -M virt -bios none -nographic -kernel "$G/reboot.elf" </dev/null >"$TMP/reboot.out" 2>&1
check "guest reset reboots (as QEMU)" '[ "$(grep -c "^reboot: booted" "$TMP/reboot.out")" -ge 2 ]'
timeout 10 "$VM" -M virt -bios none -nographic -no-reboot -kernel "$G/reboot.elf" </dev/null >"$TMP/noreboot.out" 2>&1
rc=$?
check "-no-reboot: guest reset ends the process with 0" '[ $rc -eq 0 ] && [ "$(grep -c "^reboot: booted" "$TMP/noreboot.out")" -eq 1 ]'
alive_after() { # SECONDS ARGS...: the VM is still running after SECONDS (then killed)
	s=$1
	shift
	"$VM" "$@" </dev/null >"$TMP/alive.out" 2>&1 &
	pid=$!
	sleep "$s"
	if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid 2>/dev/null; return 0; fi
	wait $pid 2>/dev/null
	return 1
}
check "-no-shutdown: guest power-off keeps the process" 'alive_after 2 -M virt -bios none -nographic -no-shutdown -kernel "$ALU"'
check "-no-shutdown: the guest did run to its power-off" 'grep -q "^add 0x" "$TMP/alive.out"'
check "-S: the guest does not start" 'alive_after 1 -M virt -bios none -nographic -S -kernel "$ALU" && ! grep -q "^add 0x" "$TMP/alive.out"'

# --- idle guest: asleep on the host (CPU seconds, not wall-clock, are asserted) ---
/usr/bin/time -f "%U %S" -o "$TMP/idle.time" "$VM" -M virt -bios none -nographic -kernel "$G/idle.elf" </dev/null >"$TMP/idle.out" 2>&1
cpu=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$TMP/idle.time")
echo "# idle guest, 2 s in wfi: ${cpu} ms of host CPU"
check "an idle guest sleeps (under 0.4 s of CPU in 2 s of wfi)" 'grep -q "^idle: woke" "$TMP/idle.out" && [ "$cpu" -lt 400 ]'

# --- -pidfile and -daemonize ---
pf=$TMP/vm.pid
"$VM" -M virt -bios none -display none -pidfile "$pf" -kernel "$G/idle.elf" </dev/null >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -s "$pf" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "-pidfile holds the pid" '[ "$(cat "$pf" 2>/dev/null)" = "$pid" ]'
"$VM" -M virt -bios none -display none -pidfile "$pf" -kernel "$G/idle.elf" </dev/null >/dev/null 2>"$TMP/err"
check "a second VM on a locked pid file fails" '[ $? -eq 1 ] && grep -q "^strata-vm: cannot create PID file: Cannot lock pid file" "$TMP/err"'
wait $pid
check "the pid file is removed at exit" '[ ! -e "$pf" ]'

"$VM" -M virt -bios none -display none -daemonize -pidfile "$pf" -kernel "$G/idle.elf" </dev/null >"$TMP/d.out" 2>&1
rc=$?
dpid=$(cat "$pf" 2>/dev/null)
check "-daemonize: the parent returns 0 at once, the VM runs on" '[ $rc -eq 0 ] && [ -n "$dpid" ] && kill -0 "$dpid"'
i=0
while [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "-daemonize: the daemon ends with its guest" '[ -n "$dpid" ] && ! kill -0 "$dpid" 2>/dev/null && [ ! -e "$pf" ]'
"$VM" -M virt -bios none -display none -daemonize -kernel "$G/idle.elf" -drive file="$TMP/none.qcow2" </dev/null >/dev/null 2>"$TMP/err"
check "-daemonize: set-up errors reach the terminal and the exit code" '[ $? -eq 1 ] && grep -q "Could not open" "$TMP/err"'

# --- booleans: QEMU's spellings everywhere (one parser) ---
truncate -s 1M "$TMP/b.raw"
"$VM" -M virt,dumpdtb="$TMP/b.dtb",powerbutton=no -drive file="$TMP/b.raw",format=raw,if=none,id=d,readonly=yes \
	</dev/null >/dev/null 2>"$TMP/err"
check "readonly=yes and powerbutton=no are booleans, as QEMU takes them" '[ $? -eq 0 ] && [ -s "$TMP/b.dtb" ]'
same_error "a bad boolean names QEMU's parameter" -M virt -drive file="$TMP/b.raw",format=raw,if=none,id=d,readonly=maybe
