#!/bin/sh
# Runs every test given on the command line and prints the closing tally.
# A test is an executable. It may print TAP lines ("ok N - name", "not ok N - name",
# "ok N - name # SKIP why"); each such line counts as one result. A test that prints
# none counts once by its exit code: 0 pass, 77 skip, anything else fail.
# A test that printed TAP lines but exited non-zero without a "not ok" counts one failure more.
# Environment for tests: STRATA_IMG, STRATA_IO, STRATA_VM, BUILD_DIR, SRC_DIR, TEST_TMPDIR.
#
# Tests run STRATA_TEST_JOBS at a time (default: one per core): most are one process waiting
# on another (qemu-img, a guest), so a 2-core machine runs two of them in about the time of
# one. Each worker takes the next unclaimed test (a claim is an atomic mkdir), slowest first:
# the durations of the last run (build/.../test-logs/times) order them, and without that the
# guest boots go first. STRATA_TEST_JOBS=1 runs them one by one in the given order.
log_dir=${BUILD_DIR:-build}/test-logs
mkdir -p "$log_dir"
jobs=${STRATA_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
state=$(mktemp -d "${TMPDIR:-/tmp}/strata-harness.XXXXXX")
trap 'rm -rf "$state"' EXIT
trap 'exit 130' INT TERM

# order: one test per line, the slowest known first (a stable sort keeps the given order among
# equals); a test without a recorded time counts as slow when it boots a guest.
order() {
	for t in "$@"; do
		secs=0
		[ -f "$log_dir/times" ] &&
			secs=$(awk -v t="$t" '$2 == t { s = $1 } END { print s + 0 }' "$log_dir/times")
		[ "$secs" = 0 ] && case $t in */guest/*) secs=100000 ;; esac
		[ "$jobs" -le 1 ] && secs=0
		echo "$secs $t"
	done | sort -s -k1,1nr | cut -d' ' -f2-
}

# run_one INDEX TEST: runs one test, prints its line (in one write, so that workers' lines do
# not interleave) and leaves "pass fail skip secs" in $state/res.INDEX.
run_one() {
	t=$2
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
	if [ "$f" -gt 0 ]; then
		out="FAIL: $t ($p passed, $f failed, ${secs}s) — log: $log
$(grep -E '^not ok|^#' "$log" | head -n 40 | sed 's/^/    /')"
	else
		sk=""
		[ "$s" -gt 0 ] && sk=", $s skipped"
		out="PASS: $t ($p passed$sk, ${secs}s)"
	fi
	printf '%s\n' "$out"
	echo "$p $f $s $secs $t" >"$state/res.$1"
}

worker() {
	i=0
	while IFS= read -r t; do
		i=$((i + 1))
		mkdir "$state/claim.$i" 2>/dev/null && run_one "$i" "$t"
	done <"$state/order"
}

order "$@" >"$state/order"
w=0
while [ "$w" -lt "$jobs" ]; do
	worker &
	w=$((w + 1))
done
wait

pass=0 fail=0 skip=0
: >"$state/times"
n=$(wc -l <"$state/order")
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	if [ -f "$state/res.$i" ]; then
		read -r p f s secs t <"$state/res.$i"
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		echo "$secs $t" >>"$state/times"
	else
		fail=$((fail + 1))
		echo "FAIL: $(sed -n "${i}p" "$state/order") (no result: its worker did not finish it)"
	fi
done
# keep the times of tests this run did not include
if [ -f "$log_dir/times" ]; then
	awk 'NR == FNR { seen[$2] = 1; print; next } !($2 in seen)' "$state/times" "$log_dir/times" \
		>"$state/times.all" && mv "$state/times.all" "$log_dir/times"
else
	mv "$state/times" "$log_dir/times"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
