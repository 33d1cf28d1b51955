# Shell TAP helpers for tests/cli/*.sh. Source it: . "$SRC_DIR/tests/lib/tap.sh"
# Tools: $IMG (strata-img) and $IO (strata-io), the oracle qemu-img / qemu-io.
: "${SRC_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${STRATA_IMG:=$SRC_DIR/build/rel/strata-img}"
: "${STRATA_IO:=$SRC_DIR/build/rel/strata-io}"
: "${TEST_TMPDIR:=$(mktemp -d)}"
IMG=$STRATA_IMG
IO=$STRATA_IO
tap_n=0
tap_failed=0
cd "$TEST_TMPDIR" || exit 1

# tap_result STATUS NAME: records one result from a status (0 pass); returns that status, so
# `tap_result $? name || show_details` works.
tap_result() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
	return "$1"
}

# check NAME CMD...: runs CMD, passes when it exits 0.
check() {
	name=$1
	shift
	"$@" >/dev/null 2>&1
	tap_result $? "$name"
}

# same_output NAME FILE1 FILE2: byte-identical files; prints a diff on mismatch.
same_file() {
	if cmp -s "$2" "$3"; then
		tap_result 0 "$1"
	else
		tap_result 1 "$1"
		diff "$2" "$3" | head -n 20 | sed 's/^/# /'
	fi
}

# Replace qemu's program names by ours and an oracle file name by ours.
normalize() { sed -e "s/qemu-img/strata-img/g; s/qemu-io/strata-io/g" "$@"; }

# compare_img NAME ARGS...: runs "strata-img ARGS" and "qemu-img ARGS" in this directory and
# compares stdout, stderr (qemu's program names replaced by ours) and the exit status. MASK, if
# set, is a sed script applied to both stdouts first (run times, rates).
compare_img() {
	name=$1
	shift
	"$IMG" "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	compare_runs "$name"
}

# compare_runs NAME: the result of one side-by-side run left in this directory: our o.out and
# o.err against qemu's r.out and r.err (its program names replaced by ours; MASK as above).
compare_runs() {
	normalize r.err >r.e
	if [ -n "${MASK:-}" ]; then
		sed -i -e "$MASK" o.out r.out
	fi
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$1"
	else
		tap_result 1 "$1"
		diff o.out r.out | head -n 20 | sed 's/^/# /'
		diff o.err r.e | head -n 20 | sed 's/^/# /'
		return 1
	fi
}

tap_end() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
