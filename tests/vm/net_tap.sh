#!/bin/sh
# -netdev tap (issue 11). Errors first, without a guest: no /dev/net/tun (a mount namespace with
# an empty /dev/net), no privileges (a 0600 node there, run as nobody), a tun interface where a
# tap is wanted, an interface another netdev holds, bad fd= values, a failing script: each is
# QEMU 7.2's line (program name aside) and exit status 1, compared with qemu-system-riscv64.
# Then the Debian test guest of tests/guest/build.sh on a tap interface in a network namespace
# the test creates (ip netns, ip tuntap; the host end 192.168.76.1/24): it pings the host end,
# fetches BYTES from an HTTP server there, serves them back (httpd) and takes BYTES with nc, md5
# equal on both ends; the same with qemu-system-riscv64. strata-vm runs twice: with QEMU's
# defaults (vnet_hdr on: the guest's TSO packets go to the kernel whole, so the filter-dump pcap
# holds frames larger than 1514 bytes; EVENT_IDX negotiated) and with vnet_hdr=off,event_idx=off
# (the guest segments itself: no frame over 1514; notifications unsuppressed), and once more with
# the defaults and no filter-dump, where the guest's frames go to the tap from its own buffers
# (writev, no copy; a dump takes the copying path). Namespaces and interfaces are removed on exit
# (trap). Skips (counted, with the reason) only where there is no /dev/net/tun, no
# privileges for namespaces, or no test guest.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
IMG=${STRATA_IMG:-$BUILD_DIR/strata-img}
QEMU=${QEMU:-qemu-system-riscv64}
TIMEOUT=${BOOT_TIMEOUT:-1500}
BYTES=${NET_TAP_BYTES:-16777216}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

have_qemu=0
command -v "$QEMU" >/dev/null 2>&1 && have_qemu=1
NSN=strata-tap-$$
cleanup() {
	ip netns del "$NSN" 2>/dev/null
	ip link del sttap$$ 2>/dev/null
}
trap cleanup EXIT INT TERM

# ---- errors: QEMU's line, exit 1 ----
# errcase NAME WRAPPER ARGS...: WRAPPER is a shell snippet run with the emulator command in "$@"
errcase() {
	name=$1 wrap=$2
	shift 2
	got=$(timeout 10 sh -c "$wrap" sh "$VM" -M virt -display none -bios none -S "$@" </dev/null 2>&1)
	rc=$?
	got=$(printf '%s\n' "$got" | sed 's/^strata-vm:/X:/')
	if [ $have_qemu = 1 ]; then
		want=$(timeout 10 sh -c "$wrap" sh "$QEMU" -M virt -display none -bios none -S -serial none -monitor none \
			"$@" </dev/null 2>&1 | sed 's/^qemu-system-riscv64:/X:/')
		check "error: $name (QEMU's message: $want)" "[ $rc = 1 ] && [ \"\$got\" = \"\$want\" ]"
	else
		check "error: $name" "[ $rc = 1 ] && [ -n \"\$got\" ]"
	fi
	[ "$rc" = 1 ] || echo "# got status $rc: $got"
}
plain='exec "$@"'
errcase "fd= that is not open" "$plain" -netdev tap,id=t0,fd=99
errcase "fd= with ifname=" "$plain" -netdev tap,id=t0,ifname=x,fd=0
errcase "fd= that is not a tap" "$plain" -netdev tap,id=t0,fd=0
errcase "unknown tap option" "$plain" -netdev tap,id=t0,ifname=sttap$$,script=no,downscript=no,bogus=1
if unshare -m true 2>/dev/null; then
	# shellcheck disable=SC2016 # expanded by the inner shell
	# (the empty /dev/net only inside a mount namespace of its own)
	errcase "no /dev/net/tun" 'exec unshare -m sh -c '\''mount -t tmpfs none /dev/net && exec "$@"'\'' sh "$@"' \
		-netdev tap,id=t0,ifname=sttap$$,script=no,downscript=no
	got_np=$(unshare -m sh -c '
		mount -t tmpfs none /dev/net && mknod -m 0600 /dev/net/tun c 10 200 || exit 9
		for e in "$@"; do
			timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$e" -M virt -display none -bios none -S \
				-serial none -monitor none -netdev tap,id=t0,ifname=sttap0,script=no,downscript=no </dev/null 2>&1
			echo "status $?"
		done' sh "$(realpath "$VM")" "$QEMU" | sed 's/^[a-z0-9-]*: -netdev/X: -netdev/')
	want_np="X: -netdev tap,id=t0,ifname=sttap0,script=no,downscript=no: could not open /dev/net/tun: Permission denied
status 1"
	[ $have_qemu = 1 ] || got_np="$got_np
$want_np"
	check "error: no privileges for /dev/net/tun (QEMU's message, exit 1, both)" \
		"[ \"\$got_np\" = \"\$want_np
\$want_np\" ]"
	printf '%s\n' "$got_np" | sed 's/^/# /'
else
	skip "error: no /dev/net/tun" "no mount namespace (unshare -m failed)"
	skip "error: no privileges for /dev/net/tun" "no mount namespace (unshare -m failed)"
fi

if [ ! -c /dev/net/tun ]; then
	skip "tap: every check needing an interface" "no /dev/net/tun on this machine"
	exit 0
fi
if ! ip netns add "$NSN" 2>"$TMP/netns.err"; then
	skip "tap: every check needing an interface" "ip netns add failed: $(cat "$TMP/netns.err")"
	exit 0
fi
NS="ip netns exec $NSN"
$NS ip link set lo up
# a tun (not tap) interface, an interface another netdev holds, a failing script
ip tuntap add dev sttun$$ mode tun 2>/dev/null && ip link set sttun$$ netns "$NSN"
# shellcheck disable=SC2016
inns="exec ip netns exec $NSN \"\$@\""
errcase "a tun interface where a tap is wanted" "$inns" -netdev tap,id=t0,ifname=sttun$$,script=no,downscript=no
errcase "an interface another netdev holds" "$inns" -netdev tap,id=t0,ifname=sttap1,script=no,downscript=no \
	-netdev tap,id=t1,ifname=sttap1,script=no,downscript=no
errcase "a failing script" "$inns" -netdev tap,id=t0,ifname=sttap2,script=/bin/false,downscript=no

# fd= (a tap the test opened, passed down) and ifname=: `info network` as QEMU's
cat >"$TMP/fd.py" <<'PY'
import fcntl, os, re, struct, subprocess, sys
emu, how = sys.argv[1], sys.argv[2]
spec, fds = "tap,id=t0,ifname=sttap4,script=no,downscript=no", []
if how == "fd":
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"sttap3", 0x0002 | 0x1000))  # TUNSETIFF, TAP|NO_PI
    spec, fds = "tap,id=t0,fd=%d" % fd, [fd]
extra = ["-serial", "none"] if "qemu" in emu else []
p = subprocess.run(["timeout", "20", emu, "-M", "virt", "-display", "none", "-bios", "none", "-S", "-monitor", "stdio"]
                   + extra + ["-netdev", spec, "-device", "virtio-net-device,netdev=t0"],
                   input=b"info network\nquit\n", capture_output=True, pass_fds=fds)
out = re.sub(r".*\x1b\[K", "", p.stdout.decode(errors="replace").replace("\r", ""))
print("status %d" % p.returncode)
print("\n".join(l for l in out.split("\n") if "index=" in l))
PY
for how in fd ifname; do
	$NS python3 "$TMP/fd.py" "$(realpath "$VM")" $how >"$TMP/info-$how.strata" 2>&1
	if [ $have_qemu = 1 ]; then
		$NS python3 "$TMP/fd.py" "$QEMU" $how >"$TMP/info-$how.qemu" 2>&1
		check "$how=: the netdev opens and info network shows it as QEMU's: $(tail -n 1 "$TMP/info-$how.qemu")" \
			"grep -q 'type=tap' '$TMP/info-$how.strata' && cmp -s '$TMP/info-$how.strata' '$TMP/info-$how.qemu'"
	else
		check "$how=: the netdev opens" "grep -q 'type=tap' '$TMP/info-$how.strata'"
	fi
	sed 's/^/# /' "$TMP/info-$how.strata"
done

# ---- a Linux guest on a tap interface ----
STRATA_IMG=$IMG sh "$SRC_DIR/tests/guest/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
rc=$?
if [ $rc -ne 0 ]; then
	skip "tap: Linux guest" "no test guest (build.sh status $rc: $(tail -n 1 "$TMP/build.err"))"
	exit 0
fi
G=$(tail -n 1 "$TMP/build.out")
command -v debugfs >/dev/null || { skip "tap: Linux guest" "no debugfs (e2fsprogs)"; exit 0; }
$NS ip tuntap add dev sttap0 mode tap
$NS ip addr add 192.168.76.1/24 dev sttap0
$NS ip link set sttap0 up

run() { # NAME EMULATOR [NETDEV_OPTS DEVICE_OPTS PCAP]
	mkdir -p "$TMP/$1"
	cp "$G/rootfs.raw" "$TMP/$1/root.raw"
	printf 'cd /strata/tests\nwrite %s tap\n' "$SRC_DIR/tests/vm/net_tap.guest" >"$TMP/$1/cmds"
	debugfs -w -f "$TMP/$1/cmds" "$TMP/$1/root.raw" >/dev/null 2>&1
	timeout $((TIMEOUT + 30)) $NS python3 "$SRC_DIR/tests/vm/net_tap.py" "$2" "$G/Image" "$G/initrd.gz" \
		"$TMP/$1/root.raw" sttap0 "$BYTES" "$TIMEOUT" ${3+"$3" "$4" "$5"} >"$TMP/$1.out" 2>&1
	sed 's/^/# /' "$TMP/$1.out"
}
md5of() { sed -n "s/^$2 .*md5 \([0-9a-f]*\)\$/\1/p" "$TMP/$1.out"; }
guest() { sed -n "s/^STRATA tap: $2 \([0-9a-f]*\).*/\1/p" "$TMP/$1.out"; }
verify() {
	t=$1
	check "$t: the guest pings the tap's host end (3 replies)" "grep -q '^STRATA tap: ping 3 replies\$' '$TMP/$t.out'"
	check "$t: the guest fetches $BYTES bytes from the host end over tap, md5 equal" \
		"[ -n \"\$(guest $t fetched)\" ] && [ \"\$(guest $t fetched)\" = \"\$(md5of $t 'host: serves')\" ] &&
		 grep -q '^STRATA tap: fetched [0-9a-f]* $BYTES\$' '$TMP/$t.out'"
	check "$t: the host fetches them back from the guest's httpd over tap, md5 equal" \
		"[ -n \"\$(guest $t serving)\" ] && [ \"\$(guest $t serving)\" = \"\$(md5of $t 'host: fetched')\" ]"
	check "$t: the host uploads $BYTES bytes to the guest's nc over tap, md5 equal" \
		"[ -n \"\$(guest $t received)\" ] && [ \"\$(guest $t received)\" = \"\$(md5of $t 'host: uploads')\" ]"
	check "$t: the guest powers off (exit 0)" "grep -q '^exit: 0 ' '$TMP/$t.out'"
}
# the largest frame of a pcap, as its original length (FROM: only IPv4 frames from that address)
bigframe() {
	python3 -c '
import socket, struct, sys
d = open(sys.argv[1], "rb").read()
src = socket.inet_aton(sys.argv[2]) if len(sys.argv) > 2 else None
off, big, n = 24, 0, 0
while off + 16 <= len(d):
    caplen, orig = struct.unpack_from("<II", d, off + 8)
    f = d[off + 16:off + 16 + caplen]
    if src is None or (f[12:14] == b"\x08\x00" and f[26:30] == src):
        big, n = max(big, orig), n + 1
    off += 16 + caplen
print(big if n else 0)' "$@" 2>/dev/null || echo 0
}
# QEMU first: it leaves its 12-byte vnet header size on the interface, which strata-vm must reset
if [ $have_qemu = 1 ]; then
	run qemu "$QEMU"
	verify qemu
else
	skip "qemu: same test" "no $QEMU"
fi
run strata "$(realpath "$VM")" "" "" "$TMP/tso.pcap"
verify strata
big=$(bigframe "$TMP/tso.pcap")
check "strata: vnet_hdr on: the guest's TSO packets pass whole (largest frame $big bytes > 1514)" "[ $big -gt 1514 ]"
big=$(bigframe "$TMP/tso.pcap" 192.168.76.1)
check "strata: vnet_hdr on: the kernel's GSO frames reach the guest whole (TUNSETOFFLOAD; largest from the host $big bytes > 1514)" \
	"[ $big -gt 1514 ]"
# no dump: frames go from the guest's buffers to the tap as they lie (vm_netdev_send_vnet_iov)
run strata-direct "$(realpath "$VM")" "" "" ""
verify strata-direct
run strata-plain "$(realpath "$VM")" ",vnet_hdr=off" ",event_idx=off" "$TMP/plain.pcap"
verify strata-plain
big=$(bigframe "$TMP/plain.pcap")
check "strata-plain: vnet_hdr=off: no frame over 1514 bytes (largest $big)" "[ $big -gt 0 ] && [ $big -le 1514 ]"
# a guest that takes no checksum offload (csum=off: no GUEST_CSUM): the kernel must finish
# every frame it sends (no TUNSETOFFLOAD), and the guest's own TSO is off too
run strata-nocsum "$(realpath "$VM")" "" ",csum=off" "$TMP/nocsum.pcap"
verify strata-nocsum
big=$(bigframe "$TMP/nocsum.pcap")
check "strata-nocsum: vnet_hdr on, csum=off: no frame over 1514 bytes (largest $big)" "[ $big -gt 0 ] && [ $big -le 1514 ]"
exit 0
