#!/bin/sh
# savevm/loadvm with the network (issue 11): the Debian test guest (qcow2 root disk) serves TCP
# echo; the host holds a hostfwd connection to it across HMP savevm + loadvm and checks that the
# restored guest still answers on it, that a new hostfwd connection reaches it and that the
# guest fetches a file from the host (10.0.2.2) afterwards, md5 equal; then the connection ends
# in order. The same with qemu-system-riscv64, and every outcome must be the same as QEMU's.
# The NIC's state (link, frames waiting for the guest) and slirp's (slirp_state_save: DHCP
# leases, IP id) travel in the virtio slot's section. Also guestfwd=...-cmd: (QEMU 7.2's).
# Skips (counted) without a test guest.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
IMG=${STRATA_IMG:-$BUILD_DIR/strata-img}
QEMU=${QEMU:-qemu-system-riscv64}
TIMEOUT=${BOOT_TIMEOUT:-1500}
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
	echo "ok 1 - savevm with the network # SKIP no test guest (build.sh status $rc: $(tail -n 1 "$TMP/build.err"))"
	exit 0
fi
G=$(tail -n 1 "$TMP/build.out")
command -v debugfs >/dev/null || { echo "ok 1 - savevm with the network # SKIP no debugfs"; exit 0; }
if ! command -v "$RVCC" >/dev/null 2>&1 ||
	! "$RVCC" -march=rv64gc -mabi=lp64d -O2 -nostdlib -static -ffreestanding -Wl,--no-relax \
		-o "$TMP/echo" "$SRC_DIR/tests/guest/net/echo.c" 2>"$TMP/echo.err"; then
	echo "ok 1 - savevm with the network # SKIP no $RVCC for tests/guest/net/echo.c"
	exit 0
fi

run() {
	mkdir -p "$TMP/$1"
	cp "$G/rootfs.raw" "$TMP/$1/root.raw"
	printf 'cd /strata/tests\nwrite %s netsv\nwrite %s echo\n' "$SRC_DIR/tests/vm/net_savevm.guest" "$TMP/echo" \
		>"$TMP/$1/cmds"
	debugfs -w -f "$TMP/$1/cmds" "$TMP/$1/root.raw" >/dev/null 2>&1
	"$IMG" convert -f raw -O qcow2 "$TMP/$1/root.raw" "$TMP/$1/root.qcow2" || return
	timeout $((TIMEOUT + 30)) python3 "$SRC_DIR/tests/vm/net_savevm.py" "$2" "$G/Image" "$G/initrd.gz" \
		"$TMP/$1/root.qcow2" "$TIMEOUT" >"$TMP/$1.out" 2>&1
	sed 's/^/# /' "$TMP/$1.out"
}
outcome() { grep -E '^host: (echo|savevm|loadvm)|^STRATA netsv: (lease|echo server|guestfwd)' "$TMP/$1.out" | sed 's/guestfwd [0-9]*$/guestfwd N/'; }
verify() {
	t=$1
	check "$t: guestfwd=tcp:10.0.2.100:1234-cmd:echo ...: the guest reads the command's output" \
		"grep -qx \"STRATA netsv: guestfwd says strata-guestfwd \$(sed -n 's/^host: guestfwd token //p' '$TMP/$t.out')\" '$TMP/$t.out'"
	check "$t: the hostfwd connection echoes before savevm" "grep -q '^host: echo before savevm ok\$' '$TMP/$t.out'"
	check "$t: savevm and loadvm print nothing" \
		"grep -q \"^host: savevm says ''\\\$\" '$TMP/$t.out' && grep -q \"^host: loadvm says ''\\\$\" '$TMP/$t.out'"
	check "$t: the same connection echoes after loadvm" "grep -q '^host: echo after loadvm ok\$' '$TMP/$t.out'"
	check "$t: after loadvm the guest fetches 1 MiB from 10.0.2.2 (asked through a new hostfwd connection), md5 equal" \
		"grep -q \"^STRATA netsv: fetched \$(sed -n 's/^host: serves 1048576 bytes md5 //p' '$TMP/$t.out') 1048576\\\$\" '$TMP/$t.out'"
	check "$t: the connection then ends in order (the guest's echo server exits)" \
		"grep -q '^STRATA netsv: echo server done\$' '$TMP/$t.out'"
}
run strata "$(realpath "$VM")"
verify strata
if command -v "$QEMU" >/dev/null 2>&1; then
	run qemu "$QEMU"
	verify qemu
	check "every outcome as QEMU's" "[ \"\$(outcome strata)\" = \"\$(outcome qemu)\" ]"
else
	skip "qemu: same test" "no $QEMU"
fi
exit 0
