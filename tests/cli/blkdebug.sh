#!/bin/sh
# The blkdebug fault-injection filter, side by side with qemu-io/qemu-img 7.2 on the same
# config files: config errors with QEMU's texts; then every metadata and data write of the
# allocation, copy-on-write, compression, snapshot, resize and commit paths failed with EIO
# and with ENOSPC (inject-error once=on on the event QEMU raises before that write). For each:
# the fault fires (a command fails, with the errno's text) whenever it fires under QEMU, the
# image stays consistent (`qemu-img check`: clean, or leaks where QEMU's run leaks too), and
# the data written and flushed before is intact.
. "$SRC_DIR/tests/lib/tap.sh"

# ---- 1. config files: the same errors as qemu-io ------------------------------------------
qemu-img create -q -f qcow2 c.qcow2 4M
cfg_case() {
	name=$1
	printf "$2" >bad.cfg
	"$IO" -c 'read 0 512' "blkdebug:${3-bad.cfg}:c.qcow2" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-io -c 'read 0 512' "blkdebug:${3-bad.cfg}:c.qcow2" 2>&1 | normalize >r.out
	echo "rc=$?" >>r.out
	# qemu-io's status is that of the pipe's last command here: take it from a rerun
	qemu-io -c 'read 0 512' "blkdebug:${3-bad.cfg}:c.qcow2" >/dev/null 2>&1
	sed -i "\$s/.*/rc=$?/" r.out
	sed -i 's/ops; .*/ops/' o.out r.out
	same_file "config: $name" o.out r.out
}
cfg_case "missing event" '[inject-error]\nerrno = "5"\n'
cfg_case "unknown event" '[inject-error]\nevent = "l2_nope"\n'
cfg_case "unquoted value" '[inject-error]\nevent = l2_update\n'
cfg_case "unknown group" '[bogus]\nevent = "l2_update"\n'
cfg_case "unknown key" '[inject-error]\nevent = "l2_update"\nfoo = "1"\n'
cfg_case "missing file" '' nonexistent.cfg
cfg_case "comments and an empty rule set" '# nothing\n\n'
"$IO" -c 'read 0 512' blkdebug:c.qcow2 >o.out 2>&1; echo "rc=$?" >>o.out
qemu-io -c 'read 0 512' blkdebug:c.qcow2 >r.out 2>&1; echo "rc=$?" >>r.out
normalize r.out >r.n
same_file "config: no config part" o.out r.n

# state machine: set-state moves to 2 on the first l2_load, the error rule only acts in 2
qemu-img create -q -f qcow2 s.qcow2 1G
printf '[set-state]\nevent = "cluster_alloc"\nstate = "1"\nnew_state = "2"\n[inject-error]\nevent = "cluster_alloc"\nstate = "2"\nerrno = "28"\nonce = "on"\n' >st.cfg
for t in "$IO" qemu-io; do
	cp s.qcow2 s1.qcow2
	"$t" -c 'write 0 64k' -c 'write 1M 64k' -c 'write 2M 64k' blkdebug:st.cfg:s1.qcow2 2>&1 |
		sed 's/ops; .*/ops/' >"st.$(basename "$t")"
done
same_file "set-state then inject-error in state 2: same outcome as qemu-io" st.strata-io st.qemu-io

# json: and --image-opts: file.driver=blkdebug with config and image
printf '[inject-error]\nevent = "cluster_alloc"\nerrno = "28"\nonce = "on"\n' >j.cfg
J='json:{"driver":"qcow2","file":{"driver":"blkdebug","config":"j.cfg","image":{"driver":"file","filename":"j.qcow2"}}}'
for t in "$IO" qemu-io; do
	qemu-img create -q -f qcow2 j.qcow2 4M
	{
		"$t" -c 'write 0 64k' -c 'write 1M 64k' "$J"
		"$t" -c 'write 2M 64k' --image-opts \
			driver=qcow2,file.driver=blkdebug,file.config=j.cfg,file.image.filename=j.qcow2
		"$t" -c 'write 0 64k' \
			'json:{"driver":"qcow2","file":{"driver":"blkdebug","config":"j.cfg","image":"j.qcow2"}}'
		"$t" -c 'write 0 64k' 'json:{"driver":"qcow2","file":{"driver":"blkdebug"}}'
		qemu-img check j.qcow2
	} 2>&1 | sed 's/ops; .*/ops/' | normalize >"j.$(basename "$t")"
done
same_file "json: and --image-opts with file.driver=blkdebug: as qemu-io" j.strata-io j.qemu-io

# ---- 2. the fault matrix -----------------------------------------------------------------
# Templates: a 1 GiB image with 128 KiB written and flushed (0x5a), an overlay over it.
qemu-img create -q -f qcow2 base.qcow2 1G
qemu-io -c 'write -P 0x5a 0 128k' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 1G
qemu-io -c 'write -P 0x6b 1M 128k' top.qcow2 >/dev/null
cp base.qcow2 base.t
cp top.qcow2 top.t

SAME=0 DIFF=0
# run_path PATH EVENTS: for each event and errno, runs the path's commands with both tools.
run_path() {
	path=$1
	shift
	for ev in "$@"; do
		for errno in 5 28; do
			printf '[inject-error]\nevent = "%s"\nerrno = "%s"\nonce = "on"\n' "$ev" "$errno" >e.cfg
			run_one "$path" "$ev" "$errno"
		done
	done
}

# setup: fresh copies of the templates.
setup() { cp base.t base.qcow2; cp top.t top.qcow2; }

# tool_cmd TOOL PATH: runs the path's commands with strata (TOOL=s) or qemu (TOOL=q);
# prints the output lines, the last one "rc=N".
tool_cmd() {
	if [ "$1" = s ]; then io=$IO img=$IMG; else io=qemu-io img=qemu-img; fi
	case $2 in
	alloc)
		"$io" -c 'write -P 0x22 1M 64k' -c 'write -P 0x23 600M 4k' -c 'write -P 0x24 0 4k' \
			-c flush -c 'write -P 0x25 2M 64k' blkdebug:e.cfg:base.qcow2 2>&1 ;;
	cow)
		"$io" -c 'write -P 0x31 8k 4k' -c 'write -P 0x32 200k 512' \
			-c 'write -P 0x33 1088k 4k' blkdebug:e.cfg:top.qcow2 2>&1 ;;
	compress)
		"$io" -c 'write -c -P 0x41 3M 64k' -c 'write -c -P 0x42 4M 64k' \
			blkdebug:e.cfg:base.qcow2 2>&1 ;;
	snapshot)
		"$img" snapshot -c s1 blkdebug:e.cfg:base.qcow2 2>&1 ;;
	resize)
		"$img" resize blkdebug:e.cfg:base.qcow2 70G 2>&1 ;;
	commit)
		"$img" commit blkdebug:e.cfg:top.qcow2 2>&1 ;;
	esac
	echo "rc=$?"
}

# verify PATH: prints what is wrong with the images after a run (nothing when all is well),
# then the check statuses "ck=B/T" (base/top; the top is checked where the path writes it).
verify() {
	t=0
	if [ "$1" = cow ] || [ "$1" = commit ]; then
		qemu-io -r -U -c 'read -P 0x5a 64k 64k' -c 'read -P 0x6b 1M 4k' top.qcow2 >v.out 2>&1
		grep -q 'fail\|rror' v.out && echo "data of the overlay lost"
		qemu-img check top.qcow2 >/dev/null 2>&1; t=$?
	else
		qemu-io -r -U -c 'read -P 0x5a 64k 64k' base.qcow2 >v.out 2>&1
		grep -q 'fail\|rror' v.out && echo "flushed data of the base lost"
	fi
	b=0
	if [ "$1" != cow ]; then
		qemu-img check base.qcow2 >/dev/null 2>&1; b=$?
	fi
	echo "ck=$b/$t"
}

run_one() {
	path=$1 ev=$2 errno=$3
	text=$(python3 -c "import os; print(os.strerror($errno))")
	setup
	tool_cmd s "$path" | sed 's/ops; .*/ops/' >s.out
	verify "$path" >s.ver
	setup
	tool_cmd q "$path" | sed 's/ops; .*/ops/' | normalize >q.out
	# qemu's images are checked only when ours leak (the check is what costs time)
	if grep -q 3 s.ver; then verify "$path" >q.ver; else echo "ck=0/0" >q.ver; fi
	name="$path, $ev, errno $errno"
	qrc=$(tail -n 1 q.out) src=$(tail -n 1 s.out)
	# the fault fires when it fires under qemu (the tool fails)
	if [ "$qrc" != rc=0 ] && [ "$src" = rc=0 ]; then
		tap_result 1 "$name: the fault fires as under qemu"
		sed 's/^/#   qemu: /' q.out; sed 's/^/#   ours: /' s.out
	elif [ "$src" != rc=0 ] && grep -q 'failed\|rror' s.out && ! grep -q "$text" s.out; then
		tap_result 1 "$name: error text names the errno ($text)"
		sed 's/^/#   ours: /' s.out
	else
		tap_result 0 "$name: fault fired (ours: $src, qemu: $qrc)"
	fi
	# consistency: no corruption; leaks only where qemu leaks too
	sck=$(tail -n 1 s.ver) qck=$(tail -n 1 q.ver)
	ok=0
	sb=${sck#ck=}; sb=${sb%/*}; st=${sck#*/}
	qb=${qck#ck=}; qb=${qb%/*}; qt=${qck#*/}
	for x in "$sb:$qb" "$st:$qt"; do
		s_=${x%:*} q_=${x#*:}
		if [ "$s_" -ne 0 ] && ! { [ "$s_" -eq 3 ] && [ "$q_" -eq 3 ]; }; then ok=1; fi
	done
	tap_result $ok "$name: images consistent (check ours $sck, qemu's $qck)"
	if [ $(wc -l <s.ver) -gt 1 ]; then
		tap_result 1 "$name: nothing flushed lost"
		sed 's/^/#   /' s.ver
	else
		tap_result 0 "$name: nothing flushed lost"
	fi
	if cmp -s s.out q.out; then SAME=$((SAME + 1)); else
		DIFF=$((DIFF + 1))
		echo "# $name: output differs from qemu's:"
		sed 's/^/#   qemu: /' q.out; sed 's/^/#   ours: /' s.out
	fi
}

run_path alloc cluster_alloc refblock_alloc l2_load l2_alloc_write l2_update l1_update \
	write_aio refblock_update_part flush_to_disk
run_path cow cow_read cow_write
run_path compress cluster_alloc_bytes write_compressed l2_update_compressed
run_path snapshot cluster_alloc l1_update l2_update refblock_update_part
run_path resize l1_grow_alloc_table l1_grow_write_table l1_grow_activate_table
run_path commit empty_image_prepare l2_update l1_update cluster_free

echo "# output identical to qemu's in $SAME of $((SAME + DIFF)) fault runs"
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
