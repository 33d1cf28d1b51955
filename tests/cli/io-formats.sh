#!/bin/sh
# strata-io against qemu-io on twin qcow2, vmdk and vdi images made by qemu-img: the same
# command scripts must print the same lines and leave images with the same contents
# ("qemu-img compare") and the same allocation ("qemu-img map"). vmdk's random CID is masked.
# Environment: STRATA_IO (absolute path), TEST_TMPDIR (fresh directory).
set -u
: "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
n=0
if ! command -v qemu-io >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1; then
	echo "ok 1 - io-formats # SKIP qemu-io/qemu-img not installed"
	exit 0
fi
cd "$TEST_TMPDIR" || exit 1
mkdir q s

mask() {
	sed -e 's/; [0-9:.]*\( sec\)* ([0-9.]* [A-Za-z]*\/sec and [0-9.]* ops\/sec)$/; TIME (RATE)/' \
	    -e 's/^\( *\)\(parent \)*cid: [0-9]*$/\1\2cid: CID/' -e 's/strata-io/qemu-io/g' "$1"
}

run_in() {
	dir=$1 tool=$2
	shift 2
	(cd "$dir" && "$tool" "$@" >raw-out 2>raw-err </dev/null; echo "status $?" >>raw-out)
	mask "$dir/raw-out" >"$dir/out"
	mask "$dir/raw-err" >"$dir/err"
	qemu-img map --output=json -f "$fmt" "$dir/img" >"$dir/map" 2>&1
}

# check FMT NAME ARGS...: twin 4 MiB images of FMT, the commands through both tools.
check() {
	fmt=$1 name=$2
	shift 2
	n=$((n + 1))
	if ! "$STRATA_IO" -f "$fmt" -c length /dev/null 2>&1 | grep -qv "Unknown driver"; then
		echo "ok $n - $fmt: $name # SKIP no $fmt driver"
		return
	fi
	qemu-img create -q -f "$fmt" q/img 4M
	cp q/img s/img
	run_in q qemu-io -f "$fmt" "$@" img
	run_in s "$STRATA_IO" -f "$fmt" "$@" img
	if cmp -s q/out s/out && cmp -s q/err s/err && cmp -s q/map s/map &&
	   qemu-img compare -q -f "$fmt" -F "$fmt" q/img s/img; then
		echo "ok $n - $fmt: $name"
	else
		echo "not ok $n - $fmt: $name"
		diff q/out s/out | sed 's/^/# out: /' | head -n 20
		diff q/err s/err | sed 's/^/# err: /' | head -n 20
		diff q/map s/map | sed 's/^/# map: /' | head -n 10
	fi
	rm -f q/img s/img
}

for fmt in qcow2 vmdk vdi; do
	check "$fmt" "writes, map, alloc, info" \
		-c 'write -P 1 0 64k' -c 'write -P 2 100k 3000' -c map -c 'alloc 0 4M' \
		-c 'alloc 96k 8k' -c info -c 'read -P 1 0 64k' -c 'read -P 2 100k 3000' \
		-c 'read -v 102390 20' -c length
	# vdi: qemu writes zero blocks out where Strata's driver leaves them unallocated.
	[ "$fmt" = vdi ] || check "$fmt" "zero writes" \
		-c 'write -P 1 0 64k' -c 'write -z 1M 128k' -c 'write -z -u 2M 64k' \
		-c 'write -z 32k 4k' -c map -c 'alloc 0 4M' -c 'read -P 0 1M 128k' \
		-c 'read -P 0 32k 4k' -c 'read -P 1 36k 28k'
	check "$fmt" "vectored and aio requests" \
		-c 'writev -P 3 0 512 1k 4k' -c 'readv -P 3 0 5632' -c 'aio_write -P 4 1M 64k' \
		-c aio_flush -c 'aio_read -P 4 1M 32k 32k' -c aio_flush -c 'aio_read -P 5 1M 4k' \
		-c aio_flush -c map
	check "$fmt" "out of range and read-only refusals" \
		-c 'read 4M 1' -c 'write 4095k 2k' -c 'alloc 4M' -c 'alloc 4095k 2k' \
		-c 'reopen -r' -c 'write 0 1' -c 'discard 0 64k' -c 'read 0 1'
done
check qcow2 "grow and shrink" \
	-c 'write -P 7 3M 64k' -c 'truncate 8M' -c length -c map -c 'truncate 2M' -c length \
	-c map -c info
echo "1..$n"
