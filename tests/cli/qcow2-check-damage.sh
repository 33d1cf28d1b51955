#!/bin/sh
# check and repair of deliberately damaged qcow2 images (tests/tools/qcow2-damage.py edits the
# file): strata-img check reports what qemu-img check reports (stdout, stderr, exit code); after
# `check -r all` by each tool on its own copy, both tools find both copies clean.
. "$SRC_DIR/tests/lib/tap.sh"
damage() { python3 "$SRC_DIR/tests/tools/qcow2-damage.py" "$@"; }

case_run() {
	name=$1
	shift
	qemu-img create -q -f qcow2 -o cluster_size=4k d.qcow2 1M
	qemu-io -c 'write -P 1 0 64k' d.qcow2 >/dev/null
	damage d.qcow2 "$@"
	cp d.qcow2 ours.qcow2
	cp d.qcow2 ref.qcow2
	"$IMG" check ours.qcow2 >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img check ref.qcow2 >r.out 2>r.err; echo "rc=$?" >>r.out
	sed -i 's/ref\.qcow2/ours.qcow2/g' r.out r.err
	normalize r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name: same findings as qemu-img check"
	else
		tap_result 1 "$name: same findings as qemu-img check"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
	fi
	"$IMG" check --output=json ours.qcow2 >o.json 2>/dev/null
	qemu-img check --output=json ref.qcow2 2>/dev/null | sed 's/ref\.qcow2/ours.qcow2/' >r.json
	same_file "$name: same JSON as qemu-img check" o.json r.json
	# where a repair puts new refcount blocks is each tool's choice: the end offset may differ
	mask='s/"image-end-offset": [0-9]*/"image-end-offset": N/'
	"$IMG" check -r all --output=json ours.qcow2 2>/dev/null | sed "$mask" >o.json
	qemu-img check -r all --output=json ref.qcow2 2>/dev/null |
		sed -e 's/ref\.qcow2/ours.qcow2/' -e "$mask" >r.json
	same_file "$name: same JSON from check -r all" o.json r.json
	qemu-img check ours.qcow2 >/dev/null 2>&1 && "$IMG" check ours.qcow2 >/dev/null 2>&1
	tap_result $? "$name: clean in both tools after strata-img check -r all"
	qemu-img check ref.qcow2 >/dev/null 2>&1 && "$IMG" check ref.qcow2 >/dev/null 2>&1
	tap_result $? "$name: clean in both tools after qemu-img check -r all"
	check "$name: data intact after repair" qemu-io -c 'read -P 1 0 4k' -c 'read -P 1 32k 32k' ours.qcow2
}

case_run "leaked cluster" leak 3
case_run "refcount too high" refcount 2 5
case_run "refcount zero for a used cluster" refcount 2 0
case_run "COPIED flag missing" uncopy 4

# VM state stored past the end of the disk counts as allocated, as qemu-img counts it
qemu-img create -q -f qcow2 vs.qcow2 1M
qemu-io -c 'write -P 1 0 64k' -c 'write -b -P 2 0 128k' vs.qcow2 >/dev/null
"$IMG" check vs.qcow2 >o.out 2>&1
qemu-img check vs.qcow2 >r.out 2>&1
same_file "VM-state clusters in the allocation statistics" o.out r.out

# An L2 entry past the end of the file: neither tool can repair it; both must say the same,
# before and after -r all.
qemu-img create -q -f qcow2 -o cluster_size=4k d.qcow2 1M
qemu-io -c 'write -P 1 0 64k' d.qcow2 >/dev/null
damage d.qcow2 past-eof 5
cp d.qcow2 ours.qcow2
cp d.qcow2 ref.qcow2
for args in "" "-r all"; do
	"$IMG" check $args ours.qcow2 >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img check $args ref.qcow2 >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i 's/ref\.qcow2/ours.qcow2/g' r.out
	normalize r.out >r.n
	same_file "L2 entry past EOF: check $args as qemu-img" o.out r.n
done
tap_end
