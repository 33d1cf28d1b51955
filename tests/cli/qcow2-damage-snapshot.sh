#!/bin/sh
# Damaged snapshot table entries (a misaligned L1 offset, an absurd L1 size): the image opens
# for check, which reports them as qemu-img check does; check -r all repairs what qemu-img's
# repairs (leaks, COPIED flags) with the same text and status, and leaves the same verdict.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ echo "1..0 # SKIP qemu-img/qemu-io not installed"; exit 0; }
poke() { python3 "$SRC_DIR/tests/tools/qcow2-poke.py" "$@"; }

qemu-img create -q -f qcow2 sn.qcow2 8M
qemu-io -c 'write -P 1 0 64k' sn.qcow2 >/dev/null
qemu-img snapshot -c s1 sn.qcow2

case_run() {
	name=$1
	shift
	for args in "" "-r all"; do
		cp sn.qcow2 ours.qcow2
		cp sn.qcow2 ref.qcow2
		poke ours.qcow2 "$@"
		poke ref.qcow2 "$@"
		# shellcheck disable=SC2086
		"$IMG" check $args ours.qcow2 >o.out 2>&1; echo "rc=$?" >>o.out
		# shellcheck disable=SC2086
		qemu-img check $args ref.qcow2 >r.out 2>&1; echo "rc=$?" >>r.out
		normalize r.out | sed 's/ref\.qcow2/ours.qcow2/g' >r.n
		same_file "$name: check $args as qemu-img" o.out r.n
	done
	"$IO" -r -c 'read -P 1 0 64k' ours.qcow2 >/dev/null 2>&1
	tap_result $? "$name: the active data reads back after the repair"
}
case_run "snapshot L1 offset not cluster aligned" snap+0 0x10001
case_run "snapshot L1 size too large" snap+8 0x7fffffff 4
tap_end
