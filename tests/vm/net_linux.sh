#!/bin/sh
# Networking with Linux (issue 11): the Debian test guest of tests/guest/build.sh (virtio_net
# is in its initramfs) on -netdev user with hostfwd, on strata-vm and on qemu-system-riscv64.
# The guest script (tests/vm/net_linux.guest, written into a copy of the root disk with debugfs
# as /strata/tests/net) gets 10.0.2.15 from busybox udhcpc, fetches 8 MiB from a python HTTP
# server on the host's 127.0.0.1 (as 10.0.2.2), then serves 4 MiB with busybox httpd and takes
# 4 MiB with nc through hostfwd tcp. Every transfer's md5 must match on both ends.
# Skips (counted, with the reason) when the guest cannot be built and nothing is cached.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
IMG=${STRATA_IMG:-$BUILD_DIR/strata-img}
QEMU=${QEMU:-qemu-system-riscv64}
TIMEOUT=${BOOT_TIMEOUT:-240}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

STRATA_IMG=$IMG sh "$SRC_DIR/tests/guest/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
rc=$?
if [ $rc -ne 0 ]; then
	echo "ok 1 - Linux guest networking # SKIP no test guest (build.sh status $rc: $(tail -n 1 "$TMP/build.err"))"
	exit 0
fi
G=$(tail -n 1 "$TMP/build.out")
command -v debugfs >/dev/null || { echo "ok 1 - Linux guest networking # SKIP no debugfs (e2fsprogs)"; exit 0; }

# run NAME EMULATOR: a fresh root disk with the net test, then the boot
run() {
	mkdir -p "$TMP/$1"
	cp "$G/rootfs.raw" "$TMP/$1/root.raw"
	printf 'cd /strata/tests\nwrite %s net\n' "$SRC_DIR/tests/vm/net_linux.guest" >"$TMP/$1/cmds"
	debugfs -w -f "$TMP/$1/cmds" "$TMP/$1/root.raw" >/dev/null 2>&1
	timeout $((TIMEOUT + 30)) python3 "$SRC_DIR/tests/vm/net_linux.py" "$2" "$G/Image" "$G/initrd.gz" \
		"$TMP/$1/root.raw" 8388608 4194304 "$TIMEOUT" >"$TMP/$1.out" 2>&1
	sed 's/^/# /' "$TMP/$1.out"
}
md5of() { sed -n "s/^$2 .*md5 \([0-9a-f]*\)\$/\1/p" "$TMP/$1.out"; }
guest() { sed -n "s/^STRATA net: $2 \([0-9a-f]*\).*/\1/p" "$TMP/$1.out"; }

verify() {
	t=$1
	check "$t: DHCP gives 10.0.2.15 (busybox udhcpc), gateway 10.0.2.2, DNS 10.0.2.3" \
		"grep -q '^STRATA net: lease 10.0.2.15 router 10.0.2.2 dns 10.0.2.3\$' '$TMP/$t.out'"
	check "$t: the guest fetches 8 MiB from the host's 127.0.0.1 (http://10.0.2.2), md5 equal" \
		"[ -n \"\$(guest $t fetched)\" ] && [ \"\$(guest $t fetched)\" = \"\$(md5of $t 'host: serves')\" ] &&
		 grep -q '^STRATA net: fetched [0-9a-f]* 8388608\$' '$TMP/$t.out'"
	check "$t: the host fetches 4 MiB from the guest's httpd through hostfwd, md5 equal" \
		"[ -n \"\$(guest $t serving)\" ] && [ \"\$(guest $t serving)\" = \"\$(md5of $t 'host: fetched')\" ]"
	check "$t: the host uploads 4 MiB to the guest's nc through hostfwd, md5 equal" \
		"[ -n \"\$(guest $t received)\" ] && [ \"\$(guest $t received)\" = \"\$(md5of $t 'host: uploads')\" ] &&
		 grep -q '^STRATA net: received [0-9a-f]* 4194304\$' '$TMP/$t.out'"
	check "$t: the guest powers off (exit 0)" "grep -q '^exit: 0 ' '$TMP/$t.out'"
}

run strata "$VM"
verify strata
if command -v "$QEMU" >/dev/null 2>&1; then
	run qemu "$QEMU"
	verify qemu
else
	echo "ok $((n + 1)) - qemu: same test # SKIP no $QEMU"
fi
exit 0
