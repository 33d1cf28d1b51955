# The common start of the Linux guest tests (linux.sh, encrypted.sh, nbd.sh, savevm.sh, smp.sh,
# crash-kill.sh):
# sourced with $here set to tests/guest. Sets top, VM, IMG, NBD, QEMU, QEMU_IMG, TIMEOUT, FW,
# TMP (removed at exit unless TEST_TMPDIR names it), the TAP helpers ok/notok/check/bail with
# their counts n and fail, and guest_find.
top=$(cd "$here/../.." && pwd)
VM=${STRATA_VM:-$top/build/rel/strata-vm}
IMG=${STRATA_IMG:-$top/build/rel/strata-img}
NBD=${STRATA_NBD:-$top/build/rel/strata-nbd}
QEMU=${QEMU:-qemu-system-riscv64}
QEMU_IMG=${QEMU_IMG:-qemu-img}
# bounds, not expectations: a loaded 2-core machine (tests run two at a time, tests/harness.sh)
# needs minutes, ASan+UBSan (SANITIZE=1) builds several times more
if [ "${SANITIZE:-}" = 1 ]; then TIMEOUT=${BOOT_TIMEOUT:-1200}; else TIMEOUT=${BOOT_TIMEOUT:-600}; fi
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }
bail() { echo "Bail out! $1"; exit 1; }

# guest_find WHAT [GUEST_DIR]: sets G to GUEST_DIR, or else to the test guest of build.sh (built
# on first use, cached in ~/.cache/strata). When the Debian archive cannot be reached and
# nothing is cached, the test WHAT is skipped: one SKIP line and exit 0.
guest_find() {
	if [ $# -gt 1 ]; then
		G=$2
		return
	fi
	STRATA_IMG=$IMG sh "$here/build.sh" >"$TMP/build.out" 2>"$TMP/build.err"
	rc=$?
	if [ $rc -eq 75 ]; then
		echo "ok 1 - $1 # SKIP Debian archive not reachable: $(tail -n 1 "$TMP/build.err")"
		echo "1..1"
		exit 0
	fi
	[ $rc -eq 0 ] || { sed 's/^/# /' "$TMP/build.err"; bail "tests/guest/build.sh failed"; }
	G=$(tail -n 1 "$TMP/build.out")
}
