#!/bin/sh
# SIGKILL at random moments: strata-io writing, strata-img convert, commit and snapshot are
# killed (at least 100 real kills in all, each bounded: a process still running after its delay
# is killed, one that already finished does not count) and after every kill each image it was
# writing must pass `qemu-img check` with no corruption (exit 0, or 3: leaked clusters only,
# which qemu also leaves after a crash). A convert target killed before its header was
# written cannot be opened at all: counted apart, and allowed only while it is empty or its
# header cluster is still all zeros (create writes the refcount structures first).
. "$SRC_DIR/tests/lib/tap.sh"

KILLS=0 DONE=0 BAD=0 EMPTY=0 COPIED=0

# delay I: 0 to 47.5 ms, spread over the iterations.
delay() { awk -v i="$1" 'BEGIN { printf "%.4f", (i * 37 % 20) * 0.0025 }'; }

# run_kill I CMD...: runs CMD in the background (its input from $RK_IN: sh gives a background
# command /dev/null unless redirected explicitly) and SIGKILLs it after delay(I).
run_kill() {
	d=$(delay "$1")
	shift
	"$@" <"${RK_IN:-/dev/null}" >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	if [ $? -eq 137 ]; then KILLS=$((KILLS + 1)); else DONE=$((DONE + 1)); fi
}

# consistent WHAT IMAGE: qemu-img check exits 0 or 3 (leaks only). One error is tolerated,
# counted and repaired: "OFLAG_COPIED ... refcount=1" (the flag clear on a cluster used once),
# left by a kill between the refcount and L2 writes of a snapshot create or delete. QEMU 7.2
# has the same window (it updates a table's refcounts, then its flags); the flag only makes
# a write copy the cluster, and `check -r all` must make the image clean again.
consistent() {
	timeout 60 qemu-img check "$2" >ck.out 2>&1
	rc=$?
	if [ $rc -eq 2 ] && ! grep '^ERROR' ck.out | grep -qv 'OFLAG_COPIED.* refcount=1$'; then
		COPIED=$((COPIED + 1))
		timeout 60 qemu-img check -q -r all "$2" >/dev/null 2>&1
		timeout 60 qemu-img check "$2" >ck.out 2>&1
		rc=$?
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
		BAD=$((BAD + 1))
		echo "# $1: qemu-img check exit $rc"
		sed 's/^/#   /' ck.out | head -n 8
	fi
}

# 1. strata-io: 3000 writes, compressed writes, zeroes and discards at scattered offsets,
#    killed mid-stream; the same image goes through every kill.
awk 'BEGIN { for (i = 0; i < 3000; i++) {
	off = (i * 7919 % 1000) * 65536 % 67108864; k = i % 10
	if (k < 6) printf "write -P %d %d %dk\n", i % 250 + 1, off + (i % 3) * 4096, 4 + i % 61
	else if (k == 6) printf "write -c -P %d %d 64k\n", i % 250 + 1, off
	else if (k == 7) printf "write -z %d 128k\n", off
	else if (k == 8) printf "discard %d 64k\n", off
	else print "flush" } }' >io.cmds
for cs in 65536 4096 512; do
	rm -f io.qcow2
	qemu-img create -q -f qcow2 -o cluster_size=$cs io.qcow2 64M
	for i in $(seq 1 16); do
		RK_IN=io.cmds run_kill "$i" "$IO" io.qcow2
		consistent "strata-io, cluster_size=$cs, kill $i" io.qcow2
	done
done

# 2. convert to qcow2 (plain and compressed), each time into a new target.
qemu-img create -q -f raw src.raw 48M
qemu-io -f raw -c 'write -P 0x11 0 16M' -c 'write -P 0x22 20M 8M' -c 'write -P 0x33 40M 7M' \
	src.raw >/dev/null
for i in $(seq 1 30); do
	rm -f dst.qcow2
	if [ $((i % 3)) -eq 0 ]; then c=-c; else c=; fi
	run_kill "$i" "$IMG" convert $c -O qcow2 -o cluster_size=$((4096 << (i % 5))) src.raw dst.qcow2
	if [ ! -s dst.qcow2 ] || cmp -s -n 4096 dst.qcow2 /dev/zero; then
		EMPTY=$((EMPTY + 1)) # no header yet: create writes it last
	else
		consistent "convert $c, kill $i" dst.qcow2
	fi
done

# 3. commit of an overlay into its base: both images must stay consistent.
qemu-img create -q -f qcow2 -o cluster_size=4096 base.qcow2 16M
qemu-io -c 'write -P 0x44 0 16M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=4096 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x55 0 6M' -c 'write -P 0x66 8M 6M' top.qcow2 >/dev/null
cp base.qcow2 base.t
cp top.qcow2 top.t
for i in $(seq 1 30); do
	cp base.t base.qcow2
	cp top.t top.qcow2
	run_kill "$i" "$IMG" commit top.qcow2
	consistent "commit, kill $i (base)" base.qcow2
	consistent "commit, kill $i (overlay)" top.qcow2
done

# 4. snapshot -c / -d on an image with 16 MiB in 512-byte clusters (many refcount updates).
qemu-img create -q -f qcow2 -o cluster_size=512 snap.qcow2 16M
qemu-io -c 'write -P 0x77 0 16M' snap.qcow2 >/dev/null
for i in $(seq 1 30); do
	if [ $((i % 3)) -eq 0 ]; then
		run_kill "$i" "$IMG" snapshot -d "s$((i - 2))" snap.qcow2
	else
		run_kill "$i" "$IMG" snapshot -c "s$i" snap.qcow2
	fi
	consistent "snapshot, kill $i" snap.qcow2
done

# Under heavy load more processes may finish before their kill: top up with strata-io runs.
extra=0
while [ $((KILLS - EMPTY)) -lt 100 ] && [ $extra -lt 60 ]; do
	extra=$((extra + 1))
	RK_IN=io.cmds run_kill "$extra" "$IO" io.qcow2
	consistent "strata-io, extra kill $extra" io.qcow2
done

echo "# $KILLS processes killed, $DONE finished first, $EMPTY empty convert targets," \
	"$COPIED images with only COPIED flags to repair"
tap_result $((BAD != 0)) "no corrupt image after $KILLS SIGKILLs ($BAD corrupt)"
tap_result $((KILLS - EMPTY < 100)) "at least 100 processes killed while writing ($((KILLS - EMPTY)))"
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
