#!/bin/sh
# One fuzz harness as a test: replay its corpus with the project's build, then (when clang's
# libFuzzer is there) fuzz for FUZZ_SECONDS under ASan+UBSan, starting from the corpus.
# Usage: run-fuzz.sh NAME REPLAY_BINARY [LIBFUZZER_BINARY]
name=$1 replay=$2 fuzzer=$3
corpus=$SRC_DIR/fuzz/corpus/$name
seconds=${FUZZ_SECONDS:-12}
mkdir -p "$corpus"
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz.XXXXXX")
mkdir -p "$work/new"

if "$replay" "$corpus" >/dev/null 2>"$work/replay.err"; then
	echo "ok 1 - $name: corpus replays cleanly"
else
	echo "not ok 1 - $name: corpus replay failed"
	sed 's/^/# /' "$work/replay.err" | head -n 30
fi
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
	echo "ok 2 - $name: libFuzzer run # SKIP clang libFuzzer not available"
	exit 0
fi
if "$fuzzer" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
	-artifact_prefix="$work/" "$work/new" "$corpus" >"$work/log" 2>&1; then
	echo "ok 2 - $name: ${seconds}s of libFuzzer under ASan+UBSan"
else
	echo "not ok 2 - $name: libFuzzer found a problem"
	grep -E 'ERROR|SUMMARY|runtime error|artifact' "$work/log" | head -n 20 | sed 's/^/# /'
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$a" ] && mkdir -p "$BUILD_DIR/fuzz-artifacts" && cp "$a" "$BUILD_DIR/fuzz-artifacts/"
	done
fi
