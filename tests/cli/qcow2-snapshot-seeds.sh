#!/bin/sh
# Fuzz seeds with snapshot tables for fuzz/corpus/qcow2_open_read/ (each <= 64 KiB), and a
# test of the committed ones.
#   sh tests/cli/qcow2-snapshot-seeds.sh --write    (from the top of the tree, after make)
# regenerates them with strata-img / strata-io and qemu-img / qemu-io 7.2; under make check
# this script checks that every committed snap-*.qcow2 seed passes qemu-img check and lists
# the same snapshots in strata-img as in qemu-img. It also tests that unknown extra data in
# a snapshot table entry survives a rewrite of the table. See docs/qcow2-snapshots.md.
if [ "${1:-}" = --write ]; then
	SRC_DIR=$(pwd)
	TEST_TMPDIR=$(mktemp -d)
	trap 'rm -rf "$TEST_TMPDIR"' EXIT
fi
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }
corpus=$SRC_DIR/fuzz/corpus/qcow2_open_read

# add_extra FILE: gives entry 0 of FILE's snapshot table 8 bytes of unknown extra data
# (0xdeadbeef01020304), rewriting the table in place (it must still fit its clusters).
# extra_of FILE N: prints "size hex" of entry N's extra data.
snaptab() {
	python3 - "$@" <<'EOF'
import struct, sys
op, path = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
h = f.read(72)
cs = 1 << struct.unpack('>I', h[20:24])[0]
nb, off = struct.unpack('>IQ', h[60:72])
f.seek(off)
raw = f.read(1 << 20)
ents, p = [], 0
for i in range(nb):
    l1o, l1s, idl, nl, ds, dn, vc, vs, ex = struct.unpack('>QIHHIIQII', raw[p:p + 40])
    e = raw[p + 40:p + 40 + ex]
    ids = raw[p + 40 + ex:p + 40 + ex + idl]
    name = raw[p + 40 + ex + idl:p + 40 + ex + idl + nl]
    ents.append([raw[p:p + 36], e, ids, name])
    p += (40 + ex + idl + nl + 7) // 8 * 8
if op == 'extra_of':
    print(len(ents[int(sys.argv[3])][1]), ents[int(sys.argv[3])][1].hex())
    sys.exit(0)
ents[0][1] += bytes.fromhex('deadbeef01020304')
out = b''
for hd, e, ids, name in ents:
    ent = hd + struct.pack('>I', len(e)) + e + ids + name
    out += ent + b'\0' * (-len(ent) % 8)
assert (len(out) + cs - 1) // cs <= (p + cs - 1) // cs
f.seek(off)
f.write(out)
EOF
}

make_seeds() {
	dir=$1
	rm -f s.qcow2
	# v3, 512-byte clusters: our snapshot, copy-on-write, a snapshot with VM state
	"$IMG" create -q -f qcow2 -o cluster_size=512 s.qcow2 32k
	"$IO" -c "write -P 0x11 0 9000" s.qcow2 >/dev/null
	"$IMG" snapshot -c one s.qcow2
	"$IO" -c "write -P 0x12 4000 3000" -c "write -b -P 0x13 0 1500" s.qcow2 >/dev/null
	"$IMG" snapshot -c vm s.qcow2
	"$IO" -c "write -P 0x14 0 512" s.qcow2 >/dev/null
	cp s.qcow2 "$dir/snap-v3.qcow2"
	# v2 with a snapshot qemu-img made, then written over by qemu-io
	rm -f s.qcow2
	qemu-img create -q -f qcow2 -o cluster_size=512,compat=0.10 s.qcow2 16k
	qemu-io -c "write -P 0x21 0 6000" s.qcow2 >/dev/null
	qemu-img snapshot -c q s.qcow2
	qemu-io -c "write -P 0x22 1024 1024" s.qcow2 >/dev/null
	cp s.qcow2 "$dir/snap-v2.qcow2"
	# unknown extra data in a table entry, refcount_bits=64
	rm -f s.qcow2
	"$IMG" create -q -f qcow2 -o cluster_size=512,refcount_bits=64 s.qcow2 16k
	"$IO" -c "write -P 0x31 0 3000" s.qcow2 >/dev/null
	"$IMG" snapshot -c x s.qcow2
	snaptab add_extra s.qcow2
	cp s.qcow2 "$dir/snap-extra.qcow2"
}

if [ "${1:-}" = --write ]; then
	make_seeds "$corpus"
	ls -l "$corpus"/snap-*.qcow2
	exit 0
fi

for seed in "$corpus"/snap-*.qcow2; do
	[ -f "$seed" ] || continue
	name=${seed##*/}
	cp "$seed" s.qcow2
	size=$(wc -c <s.qcow2)
	test "$size" -le 65536
	tap_result $? "$name: at most 64 KiB"
	qemu-img check s.qcow2 >chk.out 2>&1
	tap_result $? "$name: qemu-img check clean" || sed 's/^/# /' chk.out | head -n 5
	compare_img "$name: snapshot -l as qemu-img" snapshot -l s.qcow2
done

# Unknown extra data survives our rewrite of the table (and qemu reads the result).
rm -f e.qcow2
"$IMG" create -q -f qcow2 e.qcow2 1M
"$IO" -c "write -P 0x41 0 64k" e.qcow2 >/dev/null
"$IMG" snapshot -c a e.qcow2
snaptab add_extra e.qcow2
compare_img "entry with unknown extra data listed as qemu-img" snapshot -l e.qcow2
"$IMG" snapshot -c b e.qcow2 && "$IO" -c "write -P 0x42 0 4k" e.qcow2 >/dev/null
tap_result $? "create and write with such an entry in the table"
echo "32 $(printf '%s' 0000000000000000 0000000000100000 0000000000000000 deadbeef01020304)" >r.x
snaptab extra_of e.qcow2 0 >o.x
same_file "unknown extra data preserved after the table was rewritten" o.x r.x
qemu-img check e.qcow2 >chk.out 2>&1
tap_result $? "qemu-img check clean" || sed 's/^/# /' chk.out | head -n 5
"$IMG" snapshot -a a e.qcow2 && qemu-io -c "read -P 0x41 0 64k" e.qcow2 | grep -q "^read"
tap_result $? "apply of the entry with extra data"
qemu-img snapshot -d a e.qcow2 && qemu-img check e.qcow2 >/dev/null 2>&1
tap_result $? "qemu-img deletes it, check clean"

tap_end
