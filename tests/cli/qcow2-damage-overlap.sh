#!/bin/sh
# Metadata overlaps, as qemu 7.2 judges them: an L1 entry naming the header (0x8000000000000000)
# or the refcount table as an L2 table. check finds what qemu-img check finds; check -r all
# fails as qemu-img's does (it never claims a repair it could not make) and marks the image
# corrupt; a write that would land on metadata is refused and the image marked corrupt with
# qemu's message (printed by the front end, not the library); overlap-check options as qemu's.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ echo "1..0 # SKIP qemu-img/qemu-io not installed"; exit 0; }
poke() { python3 "$SRC_DIR/tests/tools/qcow2-poke.py" "$@"; }

# mk NAME L1[0]-VALUE: a 64 MiB image with 1 MiB of data whose first L1 entry is VALUE
mk() {
	qemu-img create -q -f qcow2 "$1" 64M
	qemu-io -c 'write -P 1 0 1M' "$1" >/dev/null
	poke "$1" l1+0 "$2"
}
mk hdr.qcow2 0x8000000000000000
rt=$(python3 -c "import struct;f=open('hdr.qcow2','rb');f.seek(48);print(struct.unpack('>Q',f.read(8))[0])")
mk rt.qcow2 "$(python3 -c "print((1 << 63) | $rt)")"

# both NAME IMAGE TOOLARGS...: the same command on a copy each; stdout, stderr, exit status
both() {
	name=$1 img=$2
	shift 2
	cp "$img" ours.qcow2
	cp "$img" ref.qcow2
	"$IMG" "$@" ours.qcow2 >o.out 2>o.err; echo "rc=$?" >>o.out
	qemu-img "$@" ref.qcow2 >r.out 2>r.err; echo "rc=$?" >>r.out
	sed -i 's/ref\.qcow2/ours.qcow2/g' r.out r.err
	normalize r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -20 | sed 's/^/# /'
		diff o.err r.e | head -20 | sed 's/^/# /'
	fi
}
corrupt_flag() { qemu-img info --output=json "$1" | grep -c '"corrupt": true'; }

both "L1 names the header: check as qemu-img (46 lines of findings, exit 2)" hdr.qcow2 check
grep -q "^45 errors were found" o.out && grep -q "^17 leaked clusters" o.out
tap_result $? "L1 names the header: 45 errors and 17 leaks, as qemu-img counts them"
both "L1 names the header: check --output=json as qemu-img" hdr.qcow2 check --output=json
both "L1 names the header: check -r all fails as qemu-img's (overlap, Check failed)" \
	hdr.qcow2 check -r all
grep -q "No errors" o.out
[ $? -ne 0 ] && ! grep -q "were found and repaired" o.out
tap_result $? "check -r all does not claim a repair it could not make"
[ "$(corrupt_flag ours.qcow2)" = 1 ] && [ "$(corrupt_flag ref.qcow2)" = 1 ]
tap_result $? "check -r all left the image marked corrupt in both tools"
both "refcount table as an L2 table: check as qemu-img" rt.qcow2 check

# writes: refused, image marked corrupt, qemu's message on stderr (no program name)
for img in hdr rt; do
	cp $img.qcow2 ours.qcow2
	"$IO" -c 'write -P 2 0 64k' ours.qcow2 >o.out 2>o.err; echo "rc=$?" >>o.out
	what=qcow2_header
	[ $img = rt ] && what="refcount table"
	printf '%s\n' "write failed: Input/output error" "rc=1" >r.out
	printf '%s\n' "qcow2: Marking image as corrupt: Preventing invalid write on metadata (overlaps with $what); further corruption events will be suppressed" >r.err
	cmp -s o.out r.out && cmp -s o.err r.err
	tap_result $? "$img: a write onto metadata is refused with qemu's message" ||
		{ sed 's/^/# /' o.out o.err; }
	[ "$(corrupt_flag ours.qcow2)" = 1 ]
	tap_result $? "$img: the image is marked corrupt"
	"$IO" -c 'write 0 512' ours.qcow2 >o.out 2>&1
	grep -q "Image is corrupt; cannot be opened read/write" o.out
	tap_result $? "$img: the corrupt image cannot be opened read/write again"
	"$IO" -r -c 'read 0 64k' ours.qcow2 >/dev/null 2>&1
	tap_result $? "$img: the corrupt image still opens read-only and reads"
done
cp rt.qcow2 ours.qcow2
cp rt.qcow2 ref.qcow2
"$IO" -c 'write -P 2 0 64k' ours.qcow2 >o.out 2>o.err; echo "rc=$?" >>o.out
qemu-io -c 'write -P 2 0 64k' ref.qcow2 >r.out 2>r.err; echo "rc=$?" >>r.out
cmp -s o.out r.out && cmp -s o.err r.err
tap_result $? "refcount table as an L2 table: strata-io write as qemu-io's (stdout, stderr, status)"

# overlap-check open options: none lets the write through (as qemu), the others refuse it
for mode in none constant cached all; do
	cp rt.qcow2 ours.qcow2
	cp rt.qcow2 ref.qcow2
	"$IO" -c "open -o overlap-check=$mode ours.qcow2" -c 'write -P 2 0 64k' >o.out 2>o.err
	echo "rc=$? corrupt=$(corrupt_flag ours.qcow2)" >>o.out
	qemu-io -c "open -o overlap-check=$mode ref.qcow2" -c 'write -P 2 0 64k' >r.out 2>r.err
	echo "rc=$? corrupt=$(corrupt_flag ref.qcow2)" >>r.out
	sed -i '/^64 KiB, 1 ops/d' o.out r.out
	cmp -s o.out r.out && cmp -s o.err r.err
	tap_result $? "overlap-check=$mode: as qemu-io" || { diff o.out r.out; diff o.err r.err; } | sed 's/^/# /'
done
cp rt.qcow2 ours.qcow2
cp rt.qcow2 ref.qcow2
"$IO" -c "open -o overlap-check=bad ours.qcow2" >o.out 2>&1
qemu-io -c "open -o overlap-check=bad ref.qcow2" 2>&1 | normalize | sed 's/ref\.qcow2/ours.qcow2/' >r.out
same_file "overlap-check=bad: qemu's message" o.out r.out
"$IO" -c "open -o overlap-check.main-header=maybe ours.qcow2" >o.out 2>&1
qemu-io -c "open -o overlap-check.main-header=maybe ref.qcow2" 2>&1 | normalize | sed 's/ref\.qcow2/ours.qcow2/' >r.out
same_file "overlap-check.main-header=maybe: qemu's message" o.out r.out

# a clean image is untouched by the checks: writes, snapshots and check in all modes
qemu-img create -q -f qcow2 -o cluster_size=4k ok.qcow2 8M
"$IO" -c 'open -o overlap-check=all ok.qcow2' -c 'write -P 3 0 1M' >/dev/null 2>&1 &&
	"$IMG" snapshot -c s1 ok.qcow2 &&
	"$IO" -c 'open -o overlap-check=all ok.qcow2' -c 'write -P 4 512k 1M' >/dev/null 2>&1 &&
	qemu-img check -q ok.qcow2 && qemu-io -c 'read -P 3 0 512k' -c 'read -P 4 512k 1M' ok.qcow2 >/dev/null
tap_result $? "overlap-check=all: normal writes over a snapshot go through, image clean"
tap_end
