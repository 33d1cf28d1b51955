#!/bin/sh
# A write that fails on a full disk (ENOSPC) leaks no clusters, as with qemu-io 7.2: the image
# lives on a small tmpfs mounted in a private mount namespace the test creates.
. "$SRC_DIR/tests/lib/tap.sh"

if ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	echo "1..0 # SKIP no mount namespaces here"
	exit 0
fi
mkdir -p mnt
cat >inner.sh <<'INNER'
mount -t tmpfs -o size=3m strata-enospc "$1/mnt" || exit 77
cd "$1/mnt" || exit 1
n=0
for opts in cluster_size=64k cluster_size=4k lazy_refcounts=on extended_l2=on compat=0.10; do
	for t in qemu-io "$2"; do
		rm -f a.qcow2
		qemu-img create -q -f qcow2 -o $opts a.qcow2 64M
		# messages go outside the full file system (they could not be written there)
		$t -c 'write -P 1 0 8M' a.qcow2 >"$1/w.out" 2>&1
		grep -q 'No space left on device' "$1/w.out"
		echo "$? write-failed $opts $(basename "$t")"
		qemu-img check a.qcow2 >"$1/c.out" 2>&1
		echo "$? check $opts $(basename "$t")"
		grep 'leaked\|ERROR' "$1/c.out" | head -n 3 | sed 's/^/# /'
	done
done
INNER
unshare -m sh inner.sh "$PWD" "$IO" >res.txt 2>&1
rc=$?
if [ $rc = 77 ]; then
	echo "1..0 # SKIP cannot mount a tmpfs"
	exit 0
fi
while read -r status what opts tool; do
	case $status in
	'#') echo "$status $what $opts $tool"; continue ;;
	esac
	case $what in
	write-failed) name="$tool, $opts: the write fails with ENOSPC" ;;
	check) name="$tool, $opts: qemu-img check finds no leak or error afterwards" ;;
	*) continue ;;
	esac
	tap_result "$status" "$name"
done <res.txt
tap_end
