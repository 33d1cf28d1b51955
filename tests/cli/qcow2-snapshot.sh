#!/bin/sh
# qcow2 internal snapshots against qemu-img / qemu-io 7.2: create / apply / delete sequences
# with writes in between (strata-io and qemu-io), every state compared with a raw reference
# and `qemu-img check` clean after every step; snapshots made by one tool listed, applied
# and deleted by the other; `snapshot -l` and `info` identical to qemu-img's on the same
# file. Matrix: cluster sizes 512 and 64k, compat 0.10 and 1.1, refcount_bits 16 and 64,
# extended L2; refcount_bits=1 refuses like qemu; compressed clusters; a backing file; an
# image qemu-img resized after the snapshot. See docs/qcow2-snapshots.md.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

# clean NAME: qemu-img check of t.qcow2 finds nothing (no errors, no leaks).
clean() {
	qemu-img check t.qcow2 >chk.out 2>&1
	rc=$?
	grep -q '^No errors were found' chk.out || rc=1
	tap_result $rc "$1: qemu-img check clean" || sed 's/^/# /' chk.out | head -n 8
}

# same_as NAME REF: t.qcow2 reads exactly as raw file REF (qemu-img compare).
same_as() {
	qemu-img compare -f raw -F qcow2 "$2" t.qcow2 >cmp.out 2>&1
	tap_result $? "$1: content equals $2" || sed 's/^/# /' cmp.out | head -n 4
}

# w TOOL ARGS: the same write to t.qcow2 (with TOOL: ours or qemu-io) and to ref.raw.
w() {
	tool=$1
	shift
	if [ "$tool" = ours ]; then
		"$IO" -c "$*" t.qcow2 >w.out 2>&1
	else
		qemu-io -c "$*" t.qcow2 >w.out 2>&1
	fi
	case "$*" in
	*-c\ *) set -- $(echo "$*" | sed 's/ -c / /') ;;
	esac
	qemu-io -f raw -c "$*" ref.raw >/dev/null 2>&1
	! grep -qiE 'error|fail|denied' w.out || { sed 's/^/# /' w.out; return 1; }
}

sequence() {
	tag=$1
	opts=$2
	rm -f t.qcow2 ref.raw ref-*.raw
	"$IMG" create -q -f qcow2 -o "$opts" t.qcow2 4M
	qemu-img create -q -f raw ref.raw 4M

	w ours "write -P 0x11 0 256k" && w qemu "write -P 0x12 3M 100k"
	tap_result $? "$tag: first writes"
	"$IMG" snapshot -c s1 t.qcow2
	tap_result $? "$tag: strata-img snapshot -c s1"
	cp ref.raw ref-s1.raw
	clean "$tag: after create s1"

	w ours "write -P 0x21 100k 300k" && w ours "write -z 1M 64k" && w ours "write -P 0x22 2M 4k" &&
	w ours "discard 0 64k" && w qemu "write -P 0x23 3100k 20k"
	tap_result $? "$tag: writes over s1 (copy-on-write)"
	clean "$tag: after writes over s1"
	same_as "$tag: before s2" ref.raw
	qemu-img snapshot -c s2 t.qcow2
	tap_result $? "$tag: qemu-img snapshot -c s2"
	cp ref.raw ref-s2.raw
	clean "$tag: after create s2"

	w ours "write -P 0x31 50k 2M" && w qemu "write -P 0x32 0 4k"
	tap_result $? "$tag: writes over s2"
	cp ref.raw ref-cur.raw
	same_as "$tag: current" ref-cur.raw
	clean "$tag: after writes over s2"

	compare_img "$tag: snapshot -l as qemu-img" snapshot -l t.qcow2
	compare_img "$tag: info as qemu-img" info t.qcow2
	compare_img "$tag: info json as qemu-img" info --output=json t.qcow2

	"$IMG" snapshot -a s1 t.qcow2
	tap_result $? "$tag: strata-img snapshot -a s1"
	same_as "$tag: applied s1" ref-s1.raw
	clean "$tag: after apply s1"
	cp ref-s1.raw ref.raw
	w ours "write -P 0x41 0 64k" && w ours "write -P 0x42 3M 4k"
	tap_result $? "$tag: writes after apply"
	same_as "$tag: writes after apply" ref.raw
	clean "$tag: after writes after apply"

	qemu-img snapshot -a s2 t.qcow2
	tap_result $? "$tag: qemu-img snapshot -a s2 (of strata's image)"
	same_as "$tag: qemu applied s2" ref-s2.raw
	"$IMG" snapshot -a 1 t.qcow2
	tap_result $? "$tag: strata-img snapshot -a by ID"
	same_as "$tag: applied s1 by ID" ref-s1.raw

	"$IMG" snapshot -d s1 t.qcow2
	tap_result $? "$tag: strata-img snapshot -d s1"
	clean "$tag: after delete s1"
	same_as "$tag: delete keeps the active state" ref-s1.raw
	"$IMG" snapshot -a s2 t.qcow2
	tap_result $? "$tag: strata-img snapshot -a s2 (made by qemu-img)"
	same_as "$tag: applied s2" ref-s2.raw
	clean "$tag: after apply s2"

	"$IMG" snapshot -c s3 t.qcow2
	compare_img "$tag: snapshot -l (s2, s3) as qemu-img" snapshot -l t.qcow2
	qemu-img snapshot -d s3 t.qcow2
	tap_result $? "$tag: qemu-img deletes strata's s3"
	clean "$tag: after qemu deletes s3"
	"$IMG" snapshot -d s2 t.qcow2
	tap_result $? "$tag: strata-img deletes qemu's s2"
	clean "$tag: after delete s2 (no snapshot left)"
	same_as "$tag: final state" ref-s2.raw
	compare_img "$tag: empty snapshot -l" snapshot -l t.qcow2
}

sequence "64k v3" "cluster_size=65536,compat=1.1"
sequence "512 v3 rb16" "cluster_size=512,compat=1.1,refcount_bits=16"
sequence "512 v2" "cluster_size=512,compat=0.10"
sequence "64k v2" "cluster_size=65536,compat=0.10"
sequence "64k v3 rb64 extl2" "cluster_size=65536,refcount_bits=64,extended_l2=on"

# --- not-found, duplicate names (qemu allows them; delete takes the first) ---
rm -f t.qcow2
"$IMG" create -q -f qcow2 t.qcow2 1M
"$IMG" snapshot -c dup t.qcow2 && "$IMG" snapshot -c dup t.qcow2
tap_result $? "duplicate names allowed"
compare_img "duplicate names listed" snapshot -l t.qcow2
cp t.qcow2 q.qcow2
compare_img "apply of a missing snapshot" snapshot -a nope t.qcow2
compare_img "delete of a missing snapshot" snapshot -d nope t.qcow2
"$IMG" snapshot -d dup t.qcow2
qemu-img snapshot -d dup q.qcow2
qemu-img snapshot -l t.qcow2 >o.l
qemu-img snapshot -l q.qcow2 >r.l
same_file "delete by name takes the first, as qemu" o.l r.l
clean "duplicates"

# --- refcount_bits=1: a second reference does not fit (as qemu: EINVAL, nothing changed) ---
rm -f t.qcow2
"$IMG" create -q -f qcow2 -o refcount_bits=1 t.qcow2 1M
"$IO" -c "write -P 0x51 0 64k" t.qcow2 >/dev/null 2>&1
"$IMG" snapshot -c s1 t.qcow2 >o.err 2>&1
echo "rc=$?" >>o.err
cat >r.err <<'EOF'
strata-img: Could not create snapshot 's1': -22 (Invalid argument)
rc=1
EOF
same_file "refcount_bits=1: create refused as qemu" o.err r.err
clean "refcount_bits=1 refused create"
qemu-img snapshot -l t.qcow2 | grep -q s1
test $? -ne 0
tap_result $? "refcount_bits=1: no snapshot recorded"

# --- refcount_bits=2: three references fit, a fourth does not (as qemu) ---
rm -f t.qcow2
"$IMG" create -q -f qcow2 -o refcount_bits=2 t.qcow2 1M
"$IO" -c "write -P 0x52 0 128k" t.qcow2 >/dev/null 2>&1
"$IMG" snapshot -c s1 t.qcow2 && "$IMG" snapshot -c s2 t.qcow2
tap_result $? "refcount_bits=2: two snapshots"
cp t.qcow2 q.qcow2
compare_img "refcount_bits=2: third refused as qemu" snapshot -c s3 q.qcow2
"$IMG" snapshot -c s3 t.qcow2 2>/dev/null
clean "refcount_bits=2: refused without leaks (qemu leaks one cluster here)"

# --- external data file: refused as qemu ---
rm -f t.qcow2 t.data
qemu-img create -q -f qcow2 -o data_file=t.data t.qcow2 1M
compare_img "data file: create refused as qemu" snapshot -c s t.qcow2

# --- compressed clusters shared with a snapshot ---
qemu-img create -q -f raw ref.raw 1M
qemu-io -f raw -c "write -P 0x61 0 300k" ref.raw >/dev/null
rm -f t.qcow2
qemu-img convert -c -f raw -O qcow2 ref.raw t.qcow2
"$IMG" snapshot -c c1 t.qcow2
cp ref.raw ref-c1.raw
w ours "write -P 0x62 10k 100k" && w ours "discard 192k 64k"
tap_result $? "compressed: writes over a snapshot"
same_as "compressed: current" ref.raw
clean "compressed: after writes"
"$IMG" snapshot -a c1 t.qcow2
same_as "compressed: applied" ref-c1.raw
"$IMG" snapshot -d c1 t.qcow2
clean "compressed: after delete"

# --- an overlay with a backing file: copy-on-write keeps backing data showing through ---
rm -f t.qcow2 bb.raw
qemu-img create -q -f raw bb.raw 2M
qemu-io -f raw -c "write -P 0x61 0 2M" bb.raw >/dev/null
cp bb.raw ref.raw
qemu-img create -q -f qcow2 -b bb.raw -F raw t.qcow2
w ours "write -P 0x62 100k 200k"
"$IMG" snapshot -c s t.qcow2
cp ref.raw ref-s.raw
w ours "write -P 0x63 150k 10k" && w ours "write -z 0 64k" && w qemu "write -P 0x64 1M 4k"
tap_result $? "backing: writes over the snapshot"
same_as "backing: current" ref.raw
clean "backing: after writes"
"$IMG" snapshot -a s t.qcow2
same_as "backing: applied" ref-s.raw
"$IMG" snapshot -d s t.qcow2
clean "backing: after delete"

# --- an image qemu-img resized after the snapshot: apply restores the old size ---
rm -f t.qcow2 q.qcow2
qemu-img create -q -f qcow2 t.qcow2 1M
qemu-io -c "write -P 0x71 0 1M" t.qcow2 >/dev/null
"$IMG" snapshot -c small t.qcow2
qemu-img resize -q t.qcow2 3M && qemu-io -c "write -P 0x72 0 3M" t.qcow2 >/dev/null
cp t.qcow2 q.qcow2
"$IMG" convert -l small -O raw t.qcow2 o.raw && qemu-img convert -l small -O raw t.qcow2 r.raw &&
cmp o.raw r.raw
tap_result $? "resized by qemu-img: convert -l of the older snapshot as qemu-img"
"$IMG" snapshot -a small t.qcow2
qemu-img snapshot -a small q.qcow2
qemu-img compare t.qcow2 q.qcow2 >/dev/null 2>&1
tap_result $? "resized by qemu-img: apply restores size and content as qemu-img"
compare_img "resized by qemu-img: info after apply" info t.qcow2
clean "resized by qemu-img: after apply"

tap_end
