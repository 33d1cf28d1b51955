#!/bin/sh
# Image locking against QEMU 7.2: the same OFD byte locks (/proc/locks) as qemu-io holds, the
# same refusals with the same messages and exit codes in both directions (strata-io and qemu-io,
# strata-img and qemu-img, qemu-system-riscv64 holding a drive), -U, file.locking=off, and two
# concurrent writers of one image: the second fails cleanly and nothing written is lost.
. "$SRC_DIR/tests/lib/tap.sh"

[ -r /proc/locks ] || { echo "1..0 # SKIP no /proc/locks"; exit 0; }
holders=""
cleanup() { for p in $holders; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

# The OFD locks on FILE as "start end" lines, sorted.
locks_of() {
	ino=$(stat -c %i "$1")
	awk -v ino=":$ino\$" '$2 == "OFDLCK" && $6 ~ ino { print $7, $8 }' /proc/locks | sort
}
# hold FILE CMD...: starts CMD in the background and waits (bounded) until FILE is locked
# and its locks stay the same for a second (QEMU takes them in steps while it starts).
hold() {
	f=$1
	shift
	"$@" >/dev/null 2>&1 &
	holder=$!
	holders="$holders $holder"
	n=0 same=0 last=""
	while [ $same -lt 5 ] && [ $n -lt 600 ]; do
		sleep 0.2
		now=$(locks_of "$f")
		if [ -n "$now" ] && [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$now n=$((n + 1))
	done
}
release() { kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }

qemu-img create -q -f qcow2 base.qcow2 4M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-img create -q -f raw disk.raw 4M

# 1. The lock bytes, as qemu-io takes them.
same_locks() {
	name=$1 file=$2
	shift 2
	hold "$file" qemu-io "$@" -c 'sleep 60000'
	locks_of top.qcow2 >r.locks; locks_of base.qcow2 >>r.locks; locks_of disk.raw >>r.locks
	release
	hold "$file" "$IO" "$@" -c 'sleep 60000'
	locks_of top.qcow2 >o.locks; locks_of base.qcow2 >>o.locks; locks_of disk.raw >>o.locks
	release
	if [ -s r.locks ] && cmp -s o.locks r.locks; then
		tap_result 0 "lock bytes: $name"
	else
		tap_result 1 "lock bytes: $name"
		diff o.locks r.locks | sed 's/^/# /'
	fi
}
same_locks "qcow2 overlay read-write" top.qcow2 top.qcow2
same_locks "qcow2 overlay read-only" top.qcow2 -r top.qcow2
same_locks "qcow2 -U" top.qcow2 -r -U top.qcow2
same_locks "raw read-write" disk.raw -f raw disk.raw
same_locks "raw read-only" disk.raw -r -f raw disk.raw

# run_io NAME TOOL ARGS...: exit status and messages of one tool run, qemu's names as ours.
io_result() {
	"$@" >x.out 2>&1
	echo "rc=$?" >>x.out
	normalize x.out | sed 's/ [0-9.]* sec (.*)$/ (rate)/'
}
# same_refusal NAME ARGS...: strata-io and qemu-io give the same output and status.
same_io() {
	name=$1
	shift
	io_result "$IO" "$@" >o.txt
	io_result qemu-io "$@" >r.txt
	if cmp -s o.txt r.txt; then tap_result 0 "$name"; else
		tap_result 1 "$name"; diff o.txt r.txt | sed 's/^/# /'; fi
}

# 2. strata-io holding the image.
hold top.qcow2 "$IO" -c 'write -P 0x11 0 64k' -c 'sleep 60000' top.qcow2
io_result "$IO" -c 'write 1M 4k' top.qcow2 >o.txt
printf '%s\n' 'strata-io: can'"'"'t open device top.qcow2: Failed to get "write" lock' \
	'Is another process using the image [top.qcow2]?' 'rc=1' >want.txt
same_file "strata-io vs strata-io: second writer refused" o.txt want.txt
io_result qemu-io -c 'write 1M 4k' top.qcow2 >r.txt
same_file "strata-io holds: qemu-io writer refused with its message" r.txt want.txt
same_io "strata-io holds: reader without -U refused (shared write)" -r -c 'read 0 4k' top.qcow2
same_io "strata-io holds: reader with -U reads" -r -U -c 'read -P 0 1M 4k' top.qcow2
same_io "strata-io holds: writer of the backing file refused" -c 'write 0 4k' base.qcow2
for c in "info top.qcow2" "check top.qcow2" "map top.qcow2" "compare top.qcow2 base.qcow2" \
	 "snapshot -c s top.qcow2" "resize top.qcow2 8M" "amend -o lazy_refcounts=on top.qcow2" \
	 "commit top.qcow2" "info -U top.qcow2" "snapshot -U -c s top.qcow2" \
	 "measure -O qcow2 top.qcow2" "convert -O raw top.qcow2 out.raw"; do
	MASK='s/^disk size: .*//' compare_img "strata-io holds: $c" $c
done
release

# 3. qemu-io holding the image: strata-io and strata-img refused as qemu's tools are.
hold top.qcow2 qemu-io -c 'sleep 60000' top.qcow2
same_io "qemu-io holds: strata-io writer refused" -c 'write 0 4k' top.qcow2
same_io "qemu-io holds: strata-io reader refused" -r -c 'read 0 4k' top.qcow2
same_io "qemu-io holds: -U reader allowed" -r -U -c 'read 0 4k' top.qcow2
same_io "qemu-io holds: -U writer refused" -U -c 'write 0 4k' top.qcow2
same_io "qemu-io holds: file.locking=off opens" -c 'open -o file.locking=off top.qcow2' \
	-c 'read 0 4k'
same_io "qemu-io holds: file.locking=on refused" -c 'open -o file.locking=on top.qcow2'
same_io "bad file.locking value" -c 'open -o file.locking=x top.qcow2'
for c in "info top.qcow2" "check top.qcow2" "snapshot -c s top.qcow2" "snapshot -l top.qcow2" \
	 "rebase -u -b base.qcow2 -F qcow2 top.qcow2" "bench -c 1 top.qcow2"; do
	MASK='s/^disk size: .*//' compare_img "qemu-io holds: $c" $c
done
# creating over an image in use must not destroy it
compare_img "qemu-io holds: create over it refused" create -f qcow2 top.qcow2 4M
compare_img "qemu-io holds: create -f raw over it refused" create -f raw top.qcow2 4M
compare_img "qemu-io holds: convert onto it refused" convert -O qcow2 base.qcow2 top.qcow2
release
check "the held image survived: still an overlay of base.qcow2" \
	sh -c "qemu-img info top.qcow2 | grep -q '^backing file: base.qcow2'"

# 4. qemu-system-riscv64 holding a drive (paused before the first instruction).
if command -v qemu-system-riscv64 >/dev/null; then
	vm() { timeout 120 qemu-system-riscv64 -M virt -S -display none -nodefaults -monitor none "$@"; }
	hold top.qcow2 vm -drive file=top.qcow2,if=virtio,format=qcow2
	same_io "qemu-system holds: strata-io writer refused" -c 'write 0 4k' top.qcow2
	compare_img "qemu-system holds: snapshot -c refused" snapshot -c s top.qcow2
	release
	hold disk.raw vm -drive file=disk.raw,if=virtio,format=raw
	same_io "qemu-system holds raw: strata-io writer refused" -f raw -c 'write 0 4k' disk.raw
	release
	hold top.qcow2 vm -snapshot -drive file=top.qcow2,if=virtio,format=qcow2
	same_io "qemu-system -snapshot holds: strata-io writer refused" -c 'write 0 4k' top.qcow2
	same_io "qemu-system -snapshot holds: -U reader allowed" -r -U -c 'read 0 4k' top.qcow2
	release
fi

# 5. strata-vm locks its drives as qemu-system-riscv64 does: the same bytes, the same refusals.
if [ -x "${STRATA_VM:-}" ] && command -v qemu-system-riscv64 >/dev/null; then
	for d in "file=top.qcow2,if=virtio,format=qcow2" \
		 "file=top.qcow2,if=virtio,format=qcow2,readonly=on" \
		 "file=disk.raw,if=virtio,format=raw" "-snapshot file=top.qcow2,if=virtio,format=qcow2" \
		 "file=top.qcow2,if=none,id=d0,format=qcow2,cache=writethrough"; do
		snap=""
		case $d in -snapshot*) snap=-snapshot d=${d#-snapshot } ;; esac
		f=${d#file=}
		f=${f%%,*}
		fmt=${d##*format=}
		fmt=${fmt%%,*}
		hold "$f" timeout 120 qemu-system-riscv64 -M virt -S -display none -nodefaults \
			-monitor none $snap -drive "$d"
		{ locks_of top.qcow2; locks_of base.qcow2; locks_of disk.raw; } >r.locks
		io_result qemu-io -f $fmt -c 'write 0 4k' "$f" >r.w
		release
		hold "$f" timeout 120 "$STRATA_VM" -M virt -S -display none -nodefaults $snap -drive "$d"
		{ locks_of top.qcow2; locks_of base.qcow2; locks_of disk.raw; } >o.locks
		io_result qemu-io -f $fmt -c 'write 0 4k' "$f" >o.w
		release
		same_file "strata-vm $snap -drive $d: lock bytes as qemu-system's" o.locks r.locks
		same_file "strata-vm $snap -drive $d: qemu-io writer gets what it gets from qemu-system" \
			o.w r.w
	done
fi

# 6. Two writers started together (the race that lost half the writes): each one either
# fails with the lock message or has every one of its writes on disk; check stays clean.
qemu-img create -q -f qcow2 race.qcow2 512M
writer() {
	i=0 cmds=""
	while [ $i -lt 200 ]; do
		cmds="$cmds -c 'write -P $1 $((2 * i + $2))M 64k'"
		i=$((i + 1))
	done
	eval "\"$IO\" $cmds -c 'sleep 1000' race.qcow2" >w$2.out 2>&1
	echo $? >w$2.rc
}
writer 0xaa 0 & a=$!
writer 0xbb 1 & b=$!
wait $a $b
verify() {
	i=0 cmds=""
	while [ $i -lt 200 ]; do
		cmds="$cmds -c 'read -P $1 $((2 * i + $2))M 64k'"
		i=$((i + 1))
	done
	eval "qemu-io -r $cmds race.qcow2" 2>&1 | grep -c 'verification failed' | grep -qx 0
}
ok=0 failed=0 bad=0
for w in 0 1; do
	if [ "$(cat w$w.rc)" = 0 ]; then
		ok=$((ok + 1))
		[ $w = 0 ] && pat=0xaa || pat=0xbb
		verify $pat $w || bad=1
	else
		failed=$((failed + 1))
		grep -q 'Failed to get "write" lock' w$w.out || bad=1
	fi
done
[ $ok -ge 1 ] && [ $bad = 0 ]
tap_result $? "200x write race: every writer that succeeded kept all its data ($ok ok, $failed refused)"
check "200x write race: qemu-img check clean" qemu-img check race.qcow2

tap_end
