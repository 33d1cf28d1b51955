#!/bin/sh
# Runs every test given on the command line and prints the closing tally.
# A test is an executable. It may print TAP lines ("ok N - name", "not ok N - name",
# "ok N - name # SKIP why"); each such line counts as one result. A test that prints
# none counts once by its exit code: 0 pass, 77 skip, anything else fail.
# A test that printed TAP lines but exited non-zero without a "not ok" counts one failure more.
# Environment for tests: STRATA_IMG, STRATA_IO, STRATA_VM, BUILD_DIR, SRC_DIR, TEST_TMPDIR.
pass=0 fail=0 skip=0
log_dir=${BUILD_DIR:-build}/test-logs
mkdir -p "$log_dir"
for t in "$@"; do
	name=$(echo "$t" | sed 's|/|_|g')
	log="$log_dir/$name.log"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-test.XXXXXX")
	t0=$(date +%s)
	case $t in
	*.sh) run="sh $t" ;;     # shell tests run whatever their file mode
	*) run=$t ;;
	esac
	TEST_TMPDIR=$tmp $run >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - t0))
	rm -rf "$tmp"
	p=$(grep -Ec '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -Eic '^ok [0-9]+.*# *skip' "$log" | tr -d ' ')
	f=$(grep -Ec '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ $((p + s + f)) -eq 0 ]; then
		case $rc in
		0) p=1 ;;
		77) s=1 ;;
		*) f=1 ;;
		esac
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $t exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "FAIL: $t ($p passed, $f failed, ${secs}s) — log: $log"
		grep -E '^not ok|^#' "$log" | head -n 40 | sed 's/^/    /'
	else
		sk=""
		[ "$s" -gt 0 ] && sk=", $s skipped"
		echo "PASS: $t ($p passed$sk, ${secs}s)"
	fi
done
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
