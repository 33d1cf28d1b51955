#!/bin/sh
# Networking (issue 11): virtio-net-device on -netdev user (libslirp) with hostfwd.
# tests/vm/guest/net.c is a bare-metal virtio-net driver with a tiny IPv4 stack; tests/vm/net.py
# runs it and plays the host side on 127.0.0.1 only (UDP echo and TCP servers the guest reaches
# as 10.0.2.2, clients reaching the guest through hostfwd tcp and udp). Each configuration runs
# on strata-vm and on qemu-system-riscv64 and the transcripts (guest output: slots, features,
# MACs, DHCP, ARP, UDP, TCP upload/download checksums, hostfwd; host side) must be equal, and
# strata-vm's must hold the expected results on its own. Then spellings QEMU's riscv virt
# accepts without creating a card (-nic, -net), command-line errors against QEMU's text, and an
# idle guest with a network costing no host CPU (slirp on the event loop, no busy polling).
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
ELF=$BUILD_DIR/vm/guest/net.elf
IDLE=$BUILD_DIR/vm/guest/idle.elf
PY="timeout 150 python3 $SRC_DIR/tests/vm/net.py"
QEMU=qemu-system-riscv64
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
for f in "$VM" "$ELF" "$IDLE"; do
	[ -f "$f" ] || { echo "not ok 1 - $f not built"; exit 1; }
done
have_qemu=0
command -v $QEMU >/dev/null 2>&1 && have_qemu=1

# What every successful run shows (default network unless $2 says otherwise).
expect_ok() {
	t=$1 ip=${2:-10.0.2.15}
	grep -q "^dhcp ack: type=5 yiaddr=$ip " "$t" &&
		grep -q '^udp echo: udp hello from the guest from port-matches=1$' "$t" &&
		grep -q '^tcp download: bytes=200000 fnv=0xb7d7c745 fin=1$' "$t" &&
		up=$(sed -n 's/^tcp upload: fnv=//p' "$t") && [ -n "$up" ] &&
		grep -q "^host tcp server: upload [0-9]* bytes fnv=$up\$" "$t" &&
		grep -q "^host udp client: b'PING OVER UDP HOSTFWD'\$" "$t" &&
		grep -q "^host tcp client: b'HELLO THROUGH TCP HOSTFWD\\\\n'\$" "$t" &&
		grep -q "^host tcp client: b'BYE\\\\n'\$" "$t" &&
		grep -q '^exit: 0$' "$t"
}

# run NAME MRG BUFSIZE BULK IP ARGS...: strata-vm, then QEMU, compared
run() {
	name=$1 mrg=$2 bs=$3 bulk=$4 ip=$5
	shift 5
	$PY "$VM" "$ELF" "$mrg" "$bs" "$bulk" "$@" >"$TMP/$name.strata" 2>&1
	check "$name: DHCP, UDP, TCP both ways, hostfwd tcp+udp on strata-vm" "expect_ok '$TMP/$name.strata' $ip"
	if [ $have_qemu = 0 ]; then
		skip "$name: same transcript as qemu-system-riscv64" "no qemu-system-riscv64"
		return
	fi
	$PY "$QEMU" "$ELF" "$mrg" "$bs" "$bulk" "$@" >"$TMP/$name.qemu" 2>&1
	if cmp -s "$TMP/$name.strata" "$TMP/$name.qemu"; then
		ok "$name: same transcript as qemu-system-riscv64"
	else
		nok "$name: same transcript as qemu-system-riscv64"
		diff "$TMP/$name.qemu" "$TMP/$name.strata" | sed 's/^/# /' | head -20
	fi
}

DEV="-netdev user,id=n0,@N0@ -device virtio-net-device,netdev=n0"
MODERN="-global virtio-mmio.force-legacy=false"
run legacy-mrg 1 2048 65536 10.0.2.15 $DEV
run legacy-mrg-256 1 256 100000 10.0.2.15 $DEV
run legacy-nomrg 0 2048 30000 10.0.2.15 $DEV
run modern-mrg-512 1 512 65536 10.0.2.15 $MODERN $DEV
run modern-nomrg 0 2048 20000 10.0.2.15 $MODERN $DEV
run modern-mrg_rxbuf-off 1 2048 20000 10.0.2.15 $MODERN -netdev "user,id=n0,@N0@" \
	-device virtio-net-device,netdev=n0,mrg_rxbuf=off
# two cards on two user networks; the first on its own network, DNS and MAC, the second
# takes the first default MAC; a disk between them keeps the -device order of the slots
qemu-img create -f raw "$TMP/disk.img" 1M >/dev/null 2>&1
run two-nics 1 2048 10000 10.0.5.20 \
	-netdev "user,id=n0,net=10.0.5.0/24,dhcpstart=10.0.5.20,dns=10.0.5.9,@N0@" \
	-device virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc \
	-drive file="$TMP/disk.img",format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 \
	-netdev user,id=n1 -device virtio-net-device,netdev=n1
check "two-nics: slots in -device order, default MAC for the second card" \
	"grep -q '^slot 7: device=1 mac=52:54:00:aa:bb:cc\$' '$TMP/two-nics.strata' &&
	 grep -q '^slot 6: device=2\$' '$TMP/two-nics.strata' &&
	 grep -q '^slot 5: device=1 mac=52:54:00:12:34:56\$' '$TMP/two-nics.strata' &&
	 grep -q '^dhcp ack: type=5 yiaddr=10.0.5.20 mask=255.255.255.0 router=10.0.5.2 dns=10.0.5.9 ' '$TMP/two-nics.strata'"

# restrict=on: no way out (no router or DNS offered, UDP and TCP to the host dropped), hostfwd
# still reaches the guest (its UDP answers are dropped too, as on QEMU)
$PY "$VM" "$ELF" 1 2048 1000 -netdev "user,id=n0,restrict=on,@N0@" -device virtio-net-device,netdev=n0 \
	>"$TMP/restrict.strata" 2>&1
check "restrict=on: no outbound traffic, tcp hostfwd still works" \
	"grep -q '^dhcp ack: type=5 yiaddr=10.0.2.15 mask=255.255.255.0 router=0.0.0.0 dns=0.0.0.0 ' '$TMP/restrict.strata' &&
	 grep -q '^udp echo: none\$' '$TMP/restrict.strata' && grep -q '^tcp connect: failed\$' '$TMP/restrict.strata' &&
	 grep -q \"^host tcp client: b'BYE\" '$TMP/restrict.strata' && grep -q '^exit: 0\$' '$TMP/restrict.strata'"
if [ $have_qemu = 1 ]; then
	$PY "$QEMU" "$ELF" 1 2048 1000 -netdev "user,id=n0,restrict=on,@N0@" -device virtio-net-device,netdev=n0 \
		>"$TMP/restrict.qemu" 2>&1
	check "restrict=on: same transcript as qemu-system-riscv64" "cmp -s '$TMP/restrict.strata' '$TMP/restrict.qemu'"
else
	skip "restrict=on: same transcript as qemu-system-riscv64" "no qemu-system-riscv64"
fi

# -nic and -net: QEMU 7.2's riscv virt accepts them but makes no card; strata-vm makes a
# virtio-net card, so the run must equal the -device one
$PY "$VM" "$ELF" 1 2048 65536 -nic "user,model=virtio-net-device,@N0@" >"$TMP/nic.strata" 2>&1
check "-nic user,model=virtio-net-device: same as -netdev/-device" "cmp -s '$TMP/nic.strata' '$TMP/legacy-mrg.strata'"
$PY "$VM" "$ELF" 1 2048 65536 -net nic,model=virtio-net-device -net "user,@N0@" >"$TMP/net.strata" 2>&1
check "-net nic -net user: same as -netdev/-device" "cmp -s '$TMP/net.strata' '$TMP/legacy-mrg.strata'"

# ---- command-line errors: QEMU's text, exit status 1 ----
errcase() {
	if [ $have_qemu = 1 ]; then
		want=$(timeout 5 $QEMU -M virt -display none -bios none -S -serial none -monitor none "$@" </dev/null 2>&1 |
			sed 's/^qemu-system-riscv64:/X:/')
	fi
	got=$(timeout 5 "$VM" -M virt -display none -bios none -S "$@" </dev/null 2>&1)
	rc=$?
	got=$(printf '%s\n' "$got" | sed 's/^strata-vm:/X:/')
	if [ $have_qemu = 0 ]; then
		check "error: $*" "[ $rc = 1 ] && [ -n \"\$got\" ]"
	else
		check "error: $* (QEMU's message)" "[ $rc = 1 ] && [ \"\$got\" = \"\$want\" ]"
	fi
}
errcase -netdev user,id=n0,hostfwd=tcp::99999-:22
errcase -netdev user,id=n0,hostfwd=tcp::2222-:0
errcase -netdev user,id=n0,hostfwd=xyz::2222-:22
errcase -netdev user,id=n0,hostfwd=tcp::2222
errcase -netdev user,id=n0,hostfwd=tcp::2222-22
errcase -netdev user,id=n0,hostfwd=tcp:localhost:2222-:22
errcase -netdev user,id=n0,hostfwd=tcp::2222-1.2.3.4.5:22
errcase -netdev user,id=n0,net=10.0.5.0/33
errcase -netdev user,id=n0,net=10.0.5.0/24,host=10.0.6.2
errcase -netdev user,id=n0,dhcpstart=10.0.3.15
errcase -netdev user,id=n0,dns=10.0.2.2
errcase -netdev user,id=n0,restrict=maybe
errcase -netdev user,id=n0,ipv4=off,ipv6=off
errcase -netdev user,id=n0,foo=bar
errcase -netdev user
errcase -netdev bogus,id=n0
errcase -netdev user,id=n0 -netdev user,id=n0
errcase -device virtio-net-device,netdev=nx
errcase -netdev user,id=n0 -device virtio-net-device,netdev=n0 -device virtio-net-device,netdev=n0
errcase -netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=52:54:00:12:34
errcase -netdev user,id=n0 -device virtio-net-device,netdev=n0,foo=1
errcase -nic user,model=virtio-net-device,hostfwd=tcp::99999-:22
# guestfwd= (QEMU 7.2's syntax and libslirp's address check, before any hostfwd rule)
errcase -netdev user,id=n0,guestfwd=udp:10.0.2.100:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:10.0.2.100:0-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:10.0.2.100:99999-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:10.0.2.100:1234
errcase -netdev user,id=n0,guestfwd=tcp:bogus:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=10.0.2.100:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:1.2.3.4:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:10.0.2.2:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:10.0.2.3:1234-cmd:cat
errcase -netdev user,id=n0,guestfwd=tcp:1.2.3.4:5-cmd:cat,hostfwd=tcp::99999-:22
errcase -netdev user,id=n0,guestfwd=udp:x,guestfwd=tcp:1.2.3.4:5-cmd:cat
# a host port already in use (a listener held by the test on 127.0.0.1)
python3 - "$VM" "$QEMU" "$have_qemu" >"$TMP/inuse" 2>&1 <<'EOF'
import socket, subprocess, sys
vm, qemu, have_qemu = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
rule = "hostfwd=tcp:127.0.0.1:%d-:22" % s.getsockname()[1]
def run(exe, extra):
    p = subprocess.run(["timeout", "5", exe, "-M", "virt", "-display", "none", "-bios", "none", "-S"] + extra +
                       ["-netdev", "user,id=n0," + rule], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr.replace(exe.split("/")[-1] + ":", "X:")
got = run(vm, [])
want = run(qemu, ["-serial", "none", "-monitor", "none"]) if have_qemu else got
print(got == want and got[0] == 1 and "Could not set up host forwarding rule 'tcp:127.0.0.1:" in got[1])
print(repr(got), repr(want))
EOF
check "hostfwd on a port in use: QEMU's message, exit 1" "[ \"\$(head -1 '$TMP/inuse')\" = True ]"
sed 's/^/# /' "$TMP/inuse"

# ---- an idle guest with a network sleeps: slirp's fds and timers are on the event loop ----
cpu=$(python3 - "$VM" "$IDLE" <<'EOF'
import os, subprocess, sys
r0 = os.times()
subprocess.run(["timeout", "20", sys.argv[1], "-M", "virt,powerbutton=off", "-bios", "none", "-display", "none",
                "-kernel", sys.argv[2], "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:0-:22",
                "-device", "virtio-net-device,netdev=n0"], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
r = os.times()
print("%.3f" % (r.children_user + r.children_system - r0.children_user - r0.children_system))
EOF
)
check "idle guest with a user network: ${cpu}s host CPU in 2 s of wfi (< 0.6; busy polling would cost ~2 s)" \
	"python3 -c 'import sys; sys.exit(0 if float(\"$cpu\") < 0.6 else 1)'"
exit 0
