#!/bin/sh
# Networking with Linux (issue 11): the Debian test guest of tests/guest/build.sh (virtio_net
# is in its initramfs) with two NICs on two user networks, on strata-vm and on
# qemu-system-riscv64. The guest script (tests/vm/net_linux.guest, written into a copy of the
# root disk with debugfs as /strata/tests/net, with tests/guest/net/echo.c built by
# riscv64-unknown-elf-gcc as /strata/tests/echo) gets 10.0.2.15 and 10.0.3.15 from busybox
# udhcpc, resolves a name through slirp's DNS proxy 10.0.2.3, fetches FETCH bytes from a python
# HTTP server on the host's 127.0.0.1 (as 10.0.2.2), finds the restrict=on network's outbound
# blocked, then serves the file back through hostfwd tcp (busybox httpd), answers UDP through
# hostfwd udp, serves a small file through the restricted network's hostfwd and takes UPLOAD
# bytes with nc through hostfwd tcp; a rule added with the monitor's hostfwd_add reaches the
# guest, hostfwd_remove closes it. Every transfer's md5 must match on both ends.
# Name resolution stays on this machine: the run happens in a network and mount namespace of
# its own (unshare -mn) whose /etc/resolv.conf (bind-mounted) names 127.0.0.1, where
# net_linux.py answers DNS itself; slirp forwards 10.0.2.3's queries to the host's resolver.
# Skips (counted, with the reason) when the guest cannot be built and nothing is cached.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
IMG=${STRATA_IMG:-$BUILD_DIR/strata-img}
QEMU=${QEMU:-qemu-system-riscv64}
TIMEOUT=${BOOT_TIMEOUT:-1500}
FETCH=${NET_FETCH_BYTES:-67108864}
UPLOAD=${NET_UPLOAD_BYTES:-67108864}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
RVCC=${RV_CC:-riscv64-unknown-elf-gcc}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

STRATA_IMG=$IMG sh "$SRC_DIR/tests/guest/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
rc=$?
if [ $rc -ne 0 ]; then
	echo "ok 1 - Linux guest networking # SKIP no test guest (build.sh status $rc: $(tail -n 1 "$TMP/build.err"))"
	exit 0
fi
G=$(tail -n 1 "$TMP/build.out")
command -v debugfs >/dev/null || { echo "ok 1 - Linux guest networking # SKIP no debugfs (e2fsprogs)"; exit 0; }
echo_src=$SRC_DIR/tests/guest/net/echo.c
have_echo=0
if command -v "$RVCC" >/dev/null 2>&1 &&
	"$RVCC" -march=rv64gc -mabi=lp64d -O2 -nostdlib -static -ffreestanding -Wl,--no-relax \
		-o "$TMP/echo" "$echo_src" 2>"$TMP/echo.err"; then
	have_echo=1
else
	: >"$TMP/echo" # the guest finds no server: the UDP check is skipped
fi
# the namespace for DNS; without one (no privileges) the name check is skipped
printf 'nameserver 127.0.0.1\n' >"$TMP/resolv.conf"
NS=
dns=
if unshare -mn true 2>/dev/null; then
	NS="unshare -mn"
	dns=--dns
fi

# run NAME EMULATOR: a fresh root disk with the net test, then the boot
run() {
	mkdir -p "$TMP/$1"
	cp "$G/rootfs.raw" "$TMP/$1/root.raw"
	printf 'cd /strata/tests\nwrite %s net\nwrite %s echo\n' "$SRC_DIR/tests/vm/net_linux.guest" "$TMP/echo" \
		>"$TMP/$1/cmds"
	debugfs -w -f "$TMP/$1/cmds" "$TMP/$1/root.raw" >/dev/null 2>&1
	# shellcheck disable=SC2016 # $0/$@ belong to the inner shell
	timeout $((TIMEOUT + 30)) $NS sh -c '
		if [ -n "$NS_RESOLV" ]; then ip link set lo up && mount --bind "$NS_RESOLV" /etc/resolv.conf || exit 9; fi
		exec python3 "$@"' net_linux "$SRC_DIR/tests/vm/net_linux.py" $dns "$2" "$G/Image" "$G/initrd.gz" \
		"$TMP/$1/root.raw" "$FETCH" "$UPLOAD" "$TIMEOUT" >"$TMP/$1.out" 2>&1
	sed 's/^/# /' "$TMP/$1.out"
}
md5of() { sed -n "s/^$2 .*md5 \([0-9a-f]*\)\$/\1/p" "$TMP/$1.out"; }
guest() { sed -n "s/^STRATA net: $2 \([0-9a-f]*\).*/\1/p" "$TMP/$1.out"; }
serving1() { sed -n 's/^STRATA net: serving [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$TMP/$1.out"; }

verify() {
	t=$1
	check "$t: DHCP on eth0 gives 10.0.2.15 (busybox udhcpc), gateway 10.0.2.2, DNS 10.0.2.3" \
		"grep -q '^STRATA net: lease eth0 10.0.2.15 router 10.0.2.2 dns 10.0.2.3\$' '$TMP/$t.out'"
	# slirp's DHCP names no router and no DNS server on a restrict=on network
	check "$t: a second NIC on a second user network (net=10.0.3.0/24, restrict=on): DHCP gives 10.0.3.15, no router, no DNS" \
		"grep -q '^STRATA net: lease eth1 10.0.3.15 router  dns \$' '$TMP/$t.out'"
	if [ -n "$dns" ]; then
		check "$t: the guest resolves a name through 10.0.2.3 (slirp's DNS proxy to the host's resolver)" \
			"grep -q '^STRATA net: resolved files.strata.test 10.0.2.2\$' '$TMP/$t.out' &&
			 ! grep -q '^host: dns queries 0\$' '$TMP/$t.out'"
	else
		skip "$t: name resolution through 10.0.2.3" "no network namespace (unshare -mn failed)"
	fi
	check "$t: the guest fetches $FETCH bytes from the host's 127.0.0.1 (http://10.0.2.2), md5 equal" \
		"[ -n \"\$(guest $t fetched)\" ] && [ \"\$(guest $t fetched)\" = \"\$(md5of $t 'host: serves')\" ] &&
		 grep -q '^STRATA net: fetched [0-9a-f]* $FETCH\$' '$TMP/$t.out'"
	check "$t: restrict=on: the guest's connection out (to 10.0.3.2) is blocked" \
		"grep -q '^STRATA net: restricted outbound blocked\$' '$TMP/$t.out'"
	check "$t: the host fetches the $FETCH bytes back from the guest's httpd through hostfwd tcp, md5 equal" \
		"[ -n \"\$(guest $t serving)\" ] && [ \"\$(guest $t serving)\" = \"\$(md5of $t 'host: fetched')\" ] &&
		 [ \"\$(guest $t serving)\" = \"\$(md5of $t 'host: serves')\" ]"
	check "$t: restrict=on keeps hostfwd: the host fetches from the restricted network's guest, md5 equal" \
		"[ -n \"\$(serving1 $t)\" ] && [ \"\$(serving1 $t)\" = \"\$(md5of $t 'host: restricted net fetched')\" ]"
	check "$t: hostfwd_add at run time (monitor) reaches the guest, md5 equal; hostfwd_remove closes the port" \
		"[ -n \"\$(serving1 $t)\" ] && [ \"\$(serving1 $t)\" = \"\$(md5of $t 'host: hostfwd_add fetched')\" ] &&
		 grep -q '^host: hostfwd_remove says: host forwarding rule for tcp:127.0.0.1:[0-9]* removed\$' '$TMP/$t.out' &&
		 grep -q '^host: removed rule refuses\$' '$TMP/$t.out'"
	if [ $have_echo = 1 ]; then
		check "$t: hostfwd udp: 3 datagrams echoed by the guest's UDP server" \
			"grep -q '^host: udp echoes 3/3\$' '$TMP/$t.out'"
	else
		skip "$t: hostfwd udp" "no $RVCC to build tests/guest/net/echo.c"
	fi
	check "$t: the host uploads $UPLOAD bytes to the guest's nc through hostfwd tcp, md5 equal" \
		"[ -n \"\$(guest $t received)\" ] && [ \"\$(guest $t received)\" = \"\$(md5of $t 'host: uploads')\" ] &&
		 grep -q '^host: uploads $UPLOAD bytes' '$TMP/$t.out'"
	check "$t: the guest powers off (exit 0)" "grep -q '^exit: 0 ' '$TMP/$t.out'"
}

export NS_RESOLV=
[ -n "$NS" ] && NS_RESOLV=$TMP/resolv.conf
run strata "$VM"
verify strata
# strata-vm merges slirp's TCP segments for the guest (GUEST_TSO4): the 64 MiB fetch (45,965
# segments of 1460 bytes) reaches the stack in far fewer packets; QEMU's card does not merge
check "strata: the fetch reached the guest merged (GUEST_TSO4): fewer than a quarter of its 1460-byte segments as packets" \
	"p=\$(sed -n 's/^STRATA net: eth0 rx packets \\([0-9]*\\)\$/\\1/p' '$TMP/strata.out'); [ -n \"\$p\" ] && [ \"\$p\" -lt \$((FETCH / 1460 / 4)) ]"
if command -v "$QEMU" >/dev/null 2>&1; then
	run qemu "$QEMU"
	verify qemu
else
	skip "qemu: same test" "no $QEMU"
fi
exit 0
