#!/bin/sh
# strata-io against qemu-io on the command line itself: bad options, missing or unopenable
# files, open-time refusals and the accepted spellings of the options. Compares stdout,
# stderr (program name mapped) and the exit status.
# Environment: STRATA_IO (absolute path), TEST_TMPDIR (fresh directory).
set -u
: "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
n=0
if ! command -v qemu-io >/dev/null 2>&1; then
	echo "ok 1 - io-usage # SKIP qemu-io not installed"
	exit 0
fi
cd "$TEST_TMPDIR" || exit 1
for d in q s; do
	mkdir -p "$d/dir"
	truncate -s 1M "$d/img.raw"
done

mask() {
	sed -e 's/; [0-9:.]*\( sec\)* ([0-9.]* [A-Za-z]*\/sec and [0-9.]* ops\/sec)$/; TIME (RATE)/' \
	    -e 's/strata-io/qemu-io/g' "$1"
}

run_in() {
	dir=$1 tool=$2
	shift 2
	(cd "$dir" && "$tool" "$@" >raw-out 2>raw-err </dev/null; echo "status $?" >>raw-out)
	mask "$dir/raw-out" >"$dir/out"
	mask "$dir/raw-err" >"$dir/err"
}

# check ARGS...: one line of arguments for both tools (word-split by the shell).
check() {
	eval "set -- $1"
	run_in q qemu-io "$@"
	run_in s "$STRATA_IO" "$@"
	n=$((n + 1))
	if cmp -s q/out s/out && cmp -s q/err s/err && cmp -s q/img.raw s/img.raw; then
		echo "ok $n - $*"
	else
		echo "not ok $n - $*"
		diff q/out s/out | sed 's/^/# out: /' | head -n 20
		diff q/err s/err | sed 's/^/# err: /' | head -n 20
	fi
}

while IFS= read -r args; do
	check "$args"
done <<'EOF'
-Z img.raw
-c
-f
--bogus img.raw
-q -c length img.raw
-c length img.raw img.raw
-c length nonexist.raw
-c length dir
-f foo -c length img.raw
-t bogus -c length img.raw
-i bogus -c length img.raw
-d foo -c length img.raw
-U -c length img.raw
-U -r -c length img.raw
-i native -f raw -c length img.raw
-k -f raw -c length img.raw
-n -i native -f raw -c length img.raw
-i io_uring -f raw -c 'write -P 3 0 4k' -c 'read -P 3 0 4k' img.raw
-i threads -t writethrough -f raw -c length img.raw
-t directsync -f raw -c 'write 1 3' img.raw
-t none -f raw -c 'read 1 3' -c 'write -P 9 100 1000' img.raw
-n -f raw -c 'write -P 4 1 4095' -c 'read -P 4 1 4095' img.raw
-t unsafe -f raw -c 'write 8k 1' -c flush img.raw
-C -c length img.raw
-C -U -c length img.raw
-c length -d unmap -d off -d on -d ignore -f raw img.raw
--cmd=length --format=raw --read-only img.raw
--cache=none --aio=threads --force-share -r --nocache --copy-on-read --misalign -c length img.raw
img.raw -f raw -c length
-h
--help
-c 'read 0 1'
-c help
--image-opts -c 'read 0 1' driver=raw,file.filename=img.raw
--image-opts -f raw -c length driver=raw,file.filename=img.raw
--image-opts -c length driver=raw
--object secret,id=s0,data=x -f raw -c length img.raw
-s -f raw -c 'write -P 1 0 4k' -c 'read -P 1 0 4k' -c info -c map -c 'alloc 0 1M' -c length img.raw
-s -c 'write -P 2 0 4k' -c 'read -P 2 0 4k' img.raw
-s -r -c 'write 0 1' -c 'read 0 1' img.raw
-s -c length nonexist
EOF
echo "1..$n"
