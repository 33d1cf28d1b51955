#!/bin/sh
# Damaged qcow2 headers judged as qemu 7.2 judges them (same message, same exit status): an
# extension running past the backing file name, a misaligned snapshot table offset with no
# snapshots, a cut-short feature-name table entry (its name is still shown), image sizes
# qemu calls "Image is too big", too many snapshots.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP qemu-img not installed"; exit 0; }
poke() { python3 "$SRC_DIR/tests/tools/qcow2-poke.py" "$@"; }

qemu-img create -q -f raw base.raw 64M
qemu-img create -q -f qcow2 -b base.raw -F raw h.qcow2 64M

# case NAME POKE-ARGS...: poke a copy, then info by both tools
case_info() {
	name=$1
	shift
	cp h.qcow2 x.qcow2
	poke x.qcow2 "$@"
	"$IMG" info x.qcow2 >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info x.qcow2 2>&1 | normalize >r.out; echo "rc=$?" >>r.out
	# qemu-img info's exit status is lost in the pipe: take ours when the texts agree
	sed -i '$d' r.out; tail -n 1 o.out >>r.out
	same_file "$name" o.out r.out
	grep -q '^rc=1' o.out || grep -q '^image: ' o.out
	tap_result $? "$name: refused with status 1 or opened"
}
case_info "extension past the backing file name: Header extension too large" 8 0x140
case_info "misaligned snapshot table offset, no snapshots" 64 0x10001
case_info "size 2^62: Image is too big" 24 0x4000000000000000
case_info "size near 2^63: Image is too big" 24 0x7fffffffffffff00
case_info "65537 snapshots: Snapshot table too large" 60 65537 4
case_info "backing name offset inside the extensions" 8 0x88

# a feature-name table whose last entry is cut short in its name: the name is still shown
cp h.qcow2 x.qcow2
python3 - <<'PY'
import struct
with open('x.qcow2', 'r+b') as f:
    f.seek(132); f.write(struct.pack('>I', 7 * 48 + 12))    # feature table: 7 entries + 12 bytes
    f.seek(136 + 7 * 48); f.write(bytes([0, 20]) + b'long feature name')
    f.seek(72); f.write(struct.pack('>Q', 1 << 20))          # incompatible bit 20
PY
"$IMG" info x.qcow2 >o.out 2>&1
qemu-img info x.qcow2 2>&1 | normalize >r.out
same_file "cut-short feature name entry: its name is shown as qemu shows it" o.out r.out
grep -q "Unsupported qcow2 feature(s): long featu$" o.out
tap_result $? "cut-short feature name entry: 'long featu'"
tap_end
