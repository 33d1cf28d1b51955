#!/bin/sh
# qcow2 snapshots with VM state and opening a snapshot read-only (convert -l), against
# qemu-img / qemu-io 7.2. The VM state lives after the disk in the guest-address space, from
# the first L2 span past the virtual size (as qemu); strata-io / qemu-io "write -b" store it,
# the next snapshot records its size (VM SIZE), apply brings it back. See
# docs/qcow2-snapshots.md.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

no_fail() { ! grep -qiE 'fail|error|mismatch' "$1"; }
clean() {
	qemu-img check "$2" >chk.out 2>&1
	rc=$?
	grep -q '^No errors were found' chk.out || rc=1
	tap_result $rc "$1: qemu-img check clean" || sed 's/^/# /' chk.out | head -n 8
}

for cs in 65536 512; do
	tag="cluster_size=$cs"
	# --- VM state written by strata-io, snapshot by strata-img ---
	rm -f v.qcow2
	"$IMG" create -q -f qcow2 -o cluster_size=$cs v.qcow2 1M
	"$IO" -c "write -b -P 0x33 0 100k" -c "write -P 0x05 0 64k" v.qcow2 >o.out 2>&1
	qemu-io -c "read -b -P 0x33 0 100k" -c "read -P 0x05 0 64k" v.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: strata-io write -b stores VM state where qemu-io read -b finds it"
	"$IMG" snapshot -c vm1 v.qcow2
	tap_result $? "$tag: snapshot -c with VM state"
	qemu-img snapshot -l v.qcow2 >r.l
	! grep -q ' 0 B ' r.l
	tap_result $? "$tag: qemu-img lists a non-zero VM SIZE"
	compare_img "$tag: snapshot -l as qemu-img" snapshot -l v.qcow2
	compare_img "$tag: info json as qemu-img" info --output=json v.qcow2
	clean "$tag: after create with VM state" v.qcow2
	"$IO" -c "read -b -P 0 0 100k" v.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: the active VM state is dropped after the snapshot (as qemu)"
	"$IO" -c "write -b -P 0x44 0 8k" -c "write -P 0x06 0 64k" v.qcow2 >/dev/null 2>&1
	"$IMG" snapshot -a vm1 v.qcow2
	"$IO" -c "read -b -P 0x33 0 100k" -c "read -P 0x05 0 64k" v.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: apply brings disk and VM state back"
	qemu-io -c "read -b -P 0x33 0 100k" v.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: qemu-io reads the applied VM state"
	clean "$tag: after apply" v.qcow2
	qemu-img snapshot -d vm1 v.qcow2
	tap_result $? "$tag: qemu-img deletes strata's snapshot with VM state"
	clean "$tag: after delete" v.qcow2

	# --- VM state written by qemu-io, snapshot by qemu-img, used by strata ---
	rm -f q.qcow2
	qemu-img create -q -f qcow2 -o cluster_size=$cs q.qcow2 1M
	qemu-io -c "write -b -P 0x55 0 70k" -c "write -P 0x07 0 64k" q.qcow2 >/dev/null 2>&1
	qemu-img snapshot -c qvm q.qcow2
	qemu-io -c "write -b -P 0x66 0 70k" -c "write -P 0x08 0 64k" q.qcow2 >/dev/null 2>&1
	"$IO" -c "read -b -P 0x66 0 70k" q.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: strata-io reads qemu's VM state"
	"$IMG" snapshot -a qvm q.qcow2
	"$IO" -c "read -b -P 0x55 0 70k" -c "read -P 0x07 0 64k" q.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "$tag: strata-img applies qemu's snapshot with VM state"
	clean "$tag: after apply of qemu's snapshot" q.qcow2
	"$IMG" snapshot -d qvm q.qcow2
	clean "$tag: after delete of qemu's snapshot" q.qcow2
done

# --- convert -l: a snapshot opened read-only ---
rm -f c.qcow2
"$IMG" create -q -f qcow2 c.qcow2 2M
"$IO" -c "write -P 0x11 0 1M" c.qcow2 >/dev/null 2>&1
"$IMG" snapshot -c one c.qcow2
"$IO" -c "write -P 0x22 512k 1M" c.qcow2 >/dev/null 2>&1
qemu-img snapshot -c two c.qcow2
"$IO" -c "write -P 0x33 0 2M" c.qcow2 >/dev/null 2>&1
for spec in one two 1 2 snapshot.name=one snapshot.id=2 snapshot.id=1,snapshot.name=one; do
	rm -f o.raw r.raw
	"$IMG" convert -l "$spec" -O raw c.qcow2 o.raw >o.err 2>&1
	qemu-img convert -l "$spec" -O raw c.qcow2 r.raw >r.err 2>&1
	cmp -s o.raw r.raw
	tap_result $? "convert -l $spec: same output as qemu-img"
done
"$IMG" convert -l two -O qcow2 c.qcow2 o.qcow2 >/dev/null 2>&1
qemu-img convert -l two -O raw c.qcow2 r.raw
qemu-img compare -f raw -F qcow2 r.raw o.qcow2 >/dev/null 2>&1
tap_result $? "convert -l to qcow2"
for spec in nope snapshot.id=1,snapshot.name=two; do
	"$IMG" convert -l "$spec" -O raw c.qcow2 o.raw >o.err 2>&1
	orc=$?
	qemu-img convert -l "$spec" -O raw c.qcow2 r.raw >r.err 2>&1
	qrc=$?
	test $orc -eq 1 && test $qrc -eq 1 && grep -q "Can't find snapshot" o.err
	tap_result $? "convert -l $spec: refused (snapshot not found)"
done
qemu-img create -q -f raw plain.raw 1M
"$IMG" convert -l one -O raw plain.raw o.raw >o.err 2>&1
test $? -eq 1 && grep -q "does not support temporarily loading internal snapshots" o.err
tap_result $? "convert -l of a format without snapshots: clear error"
"$IO" -r -c "read -P 0x33 0 2M" c.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "convert -l left the active state alone"
clean "after convert -l" c.qcow2

tap_end
