#!/bin/sh
# qcow2 odds and ends against qemu-img / qemu-io 7.2: resize (grow with preallocation,
# shrink), compressed clusters written by qemu, images with internal snapshots (read only),
# the corrupt bit (as qemu: message, header bit, read-write open refused), lazy refcounts
# after a crash (dirty bit, repair on open), check output, and broken headers (one error in
# qemu's words, the file left untouched).
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

no_fail() { ! grep -qiE 'fail|error' "$1"; }

# --- resize ---
"$IMG" create -q -f qcow2 r.qcow2 1M
"$IO" -c "write -P 0x61 0 1M" -c "truncate 3M" -c "write -P 0x62 2M 1M" r.qcow2 >o.out 2>&1
qemu-img check -q r.qcow2 >/dev/null 2>&1
tap_result $? "grow: check clean"
qemu-io -c "read -P 0x61 0 1M" -c "read -P 0 1M 1M" -c "read -P 0x62 2M 1M" r.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "grow: qemu reads it back"
"$IO" -c "truncate -m metadata 5M" r.qcow2 >o.out 2>&1
qemu-img check -q r.qcow2 >/dev/null 2>&1
tap_result $? "grow with preallocation=metadata: check clean"
"$IO" -c "truncate 2M" r.qcow2 >o.out 2>&1
qemu-img check -q r.qcow2 >/dev/null 2>&1
tap_result $? "shrink: check clean, no leaks"
qemu-img info --output=json r.qcow2 | grep -q '"virtual-size": 2097152'
tap_result $? "shrink: new size"
qemu-io -c "read -P 0x61 0 1M" -c "read -P 0 1M 1M" r.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "shrink: data kept"

# --- refcount table growth (512-byte clusters: one table cluster covers 2 MiB at 64 bits) ---
for rb in 64 8; do
	"$IMG" create -q -f qcow2 -o cluster_size=512,refcount_bits=$rb g.qcow2 8M
	"$IO" -c "write -P 0xa5 0 3M" -c "write -z -u 1M 512k" -c "write -P 0xa6 5M 3M" \
	      -c "discard 6M 1M" g.qcow2 >o.out 2>&1
	qemu-img check g.qcow2 >chk.out 2>&1
	tap_result $? "refcount table growth (refcount_bits=$rb): check clean"
	grep -v '^No errors' chk.out | grep -vE 'allocated|Image end' | head -5 | sed 's/^/# /'
	qemu-io -c "read -P 0xa5 0 1M" -c "read -P 0 1M 512k" -c "read -P 0xa5 1536k 1536k" \
		-c "read -P 0 3M 2M" -c "read -P 0xa6 5M 1M" -c "read -P 0 6M 1M" \
		-c "read -P 0xa6 7M 1M" g.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "refcount table growth (refcount_bits=$rb): qemu reads it back"
	"$IMG" check g.qcow2 >o.chk 2>&1
	same_file "refcount table growth (refcount_bits=$rb): check output" o.chk chk.out
done

# --- compressed clusters (qemu-img convert -c) ---
qemu-img create -q -f raw src.raw 1M
qemu-io -f raw -c "write -P 0x71 0 300k" -c "write -P 0x72 600k 100k" src.raw >/dev/null
for ct in zlib zstd; do
	qemu-img convert -c -f raw -O qcow2 -o compression_type=$ct src.raw c.qcow2
	"$IO" -c "read -P 0x71 0 300k" -c "read -P 0 300k 300k" -c "read -P 0x72 600k 100k" \
	      -c "read -P 0 700k 324k" c.qcow2 >v.out 2>&1
	no_fail v.out
	tap_result $? "reads compressed clusters ($ct)"
	"$IMG" info c.qcow2 >o.info 2>&1
	qemu-img info c.qcow2 >r.info 2>&1
	same_file "info of compressed image ($ct)" o.info r.info
	"$IMG" check c.qcow2 >o.chk 2>&1
	qemu-img check c.qcow2 >r.chk 2>&1
	same_file "check of compressed image ($ct)" o.chk r.chk
	# writes, zeroes and discards over compressed clusters, against a raw reference
	cp src.raw ref.raw
	for t in "$IO" qemu-io; do
		f=c.qcow2
		[ "$t" = qemu-io ] && f="-f raw ref.raw"
		$t -c "write -P 0x11 1000 3000" -c "write -z 131072 65536" -c "write -z 300000 5000" \
		   -c "discard 524288 131072" -c "write -P 0x22 900000 70000" \
		   -c "write -z -u 720896 65536" $f >/dev/null 2>&1
	done
	qemu-img check -q c.qcow2 >/dev/null 2>&1
	tap_result $? "rewriting compressed clusters ($ct): check clean"
	qemu-img compare -q c.qcow2 ref.raw
	tap_result $? "rewriting compressed clusters ($ct): compare with raw"
done

# --- internal snapshots: readable, info lists them, writes refused for now ---
qemu-img create -q -f qcow2 s.qcow2 1M
qemu-io -c "write -P 0x81 0 64k" s.qcow2 >/dev/null
qemu-img snapshot -c snap1 s.qcow2
qemu-io -c "write -P 0x82 0 4k" s.qcow2 >/dev/null
"$IO" -r -c "read -P 0x82 0 4k" -c "read -P 0x81 4k 60k" s.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "reads an image with snapshots"
"$IMG" check s.qcow2 >o.chk 2>&1
qemu-img check s.qcow2 >r.chk 2>&1
same_file "check of an image with snapshots" o.chk r.chk
# Until snapshot support lands, writing is refused with a clear message; once it has, the
# write must go to a copy: check clean, new data visible, the snapshot unchanged.
"$IO" -c "write -P 0x83 0 512" s.qcow2 >o.err 2>&1
if [ $? -ne 0 ]; then
	grep -q "snapshots" o.err
else
	qemu-img check -q s.qcow2 >/dev/null 2>&1 &&
	qemu-io -c "read -P 0x83 0 512" -c "read -P 0x82 512 3584" s.qcow2 >v.out 2>&1 &&
	no_fail v.out &&
	qemu-img convert -l snapshot.name=snap1 -O raw s.qcow2 snap.raw &&
	qemu-io -f raw -c "read -P 0x81 0 64k" snap.raw >v.out 2>&1 && no_fail v.out
fi
tap_result $? "writing an image with snapshots: refused clearly, or copy-on-write keeps the snapshot"

# --- the corrupt bit ---
qemu-img create -q -f qcow2 k.qcow2 1M
qemu-io -c "write 0 64k" k.qcow2 >/dev/null
# point guest cluster 0 at the refcount table
l1=$(od -An -t u1 -j 40 -N 8 k.qcow2 | awk '{o=0; for(i=1;i<=NF;i++) o=o*256+$i; print o}')
l2=$(od -An -t u1 -j "$l1" -N 8 k.qcow2 | awk '{o=0; for(i=2;i<=NF;i++) o=o*256+$i; print o}')
printf '\200\000\000\000\000\001\000\000' | dd of=k.qcow2 bs=1 seek="$l2" conv=notrunc 2>/dev/null
cp k.qcow2 k2.qcow2
"$IO" -c "write 0 512" k.qcow2 >o.out 2>o.err
qemu-io -c "write 0 512" k2.qcow2 >r.out 2>r.err
normalize r.err >r2.err
same_file "marking corrupt: qemu's message" o.err r2.err
same_file "marking corrupt: write fails as qemu" o.out r.out
cmp -s k.qcow2 k2.qcow2
tap_result $? "marking corrupt: same bytes on disk as qemu"
"$IO" -c "read 0 512" k.qcow2 >o.out 2>o.err
normalize r.err >/dev/null
qemu-io -c "read 0 512" k2.qcow2 >r.out 2>r.err
normalize r.err >r2.err
sed 's/k2.qcow2/k.qcow2/' r2.err >r3.err
same_file "corrupt image refuses read-write open as qemu" o.err r3.err
"$IMG" info k.qcow2 >o.info 2>&1
qemu-img info k.qcow2 >r.info 2>&1
same_file "info shows corrupt: true" o.info r.info

# --- persistent bitmaps (read only): info lists them, check counts their clusters ---
qemu-img create -q -f qcow2 bm.qcow2 1M
qemu-io -c "write 0 64k" bm.qcow2 >/dev/null
qemu-img bitmap --add bm.qcow2 bm0
qemu-img bitmap --add -g 128k bm.qcow2 bm1
qemu-img bitmap --disable bm.qcow2 bm1
qemu-io -c "write 128k 64k" bm.qcow2 >/dev/null
for o in --output=human --output=json; do
	"$IMG" info $o bm.qcow2 >o.info 2>&1
	qemu-img info $o bm.qcow2 >r.info 2>&1
	same_file "bitmaps: info $o" o.info r.info
done
"$IMG" check bm.qcow2 >o.chk 2>&1
qemu-img check bm.qcow2 >r.chk 2>&1
same_file "bitmaps: check" o.chk r.chk

# --- header rewrite (rebase -u): unknown extensions kept, same bytes as qemu ---
qemu-img create -q -f qcow2 hb.qcow2 1M
qemu-img create -q -f qcow2 u.qcow2 1M
# an unknown extension where the end marker was (after the feature table)
printf '\022\064\126\170\000\000\000\004abcd' | dd of=u.qcow2 bs=1 seek=504 conv=notrunc 2>/dev/null
cp u.qcow2 u2.qcow2
"$IMG" rebase -u -b hb.qcow2 -F qcow2 u.qcow2 >/dev/null 2>&1
qemu-img rebase -u -b hb.qcow2 -F qcow2 u2.qcow2
cmp -s u.qcow2 u2.qcow2 && grep -a -q abcd u.qcow2
tap_result $? "rebase -u keeps unknown header extensions, bytes as qemu"
"$IMG" rebase -u -b "" u.qcow2 >/dev/null 2>&1
qemu-img rebase -u -b "" u2.qcow2
cmp -s u.qcow2 u2.qcow2
tap_result $? "rebase -u to no backing file, bytes as qemu"

# --- a leaked cluster: check and check -r leaks as qemu (output and resulting bytes) ---
qemu-img create -q -f qcow2 l.qcow2 1M
qemu-io -c "write 0 256k" l.qcow2 >/dev/null
l1=$(od -An -t u1 -j 40 -N 8 l.qcow2 | awk '{o=0; for(i=1;i<=NF;i++) o=o*256+$i; print o}')
l2=$(od -An -t u1 -j "$l1" -N 8 l.qcow2 | awk '{o=0; for(i=2;i<=NF;i++) o=o*256+$i; print o}')
dd if=/dev/zero of=l.qcow2 bs=1 seek=$((l2 + 8)) count=8 conv=notrunc 2>/dev/null
cp l.qcow2 l2.qcow2
"$IMG" check l.qcow2 >o.chk 2>&1
echo "rc=$?" >>o.chk
qemu-img check l2.qcow2 >r.chk 2>&1
echo "rc=$?" >>r.chk
same_file "leak: check output and exit code" o.chk r.chk
"$IMG" check -r leaks l.qcow2 >o.chk 2>&1
qemu-img check -r leaks l2.qcow2 >r.chk 2>&1
normalize r.chk >r2.chk
same_file "leak: check -r leaks output" o.chk r2.chk
cmp -s l.qcow2 l2.qcow2
tap_result $? "leak: repaired image identical to qemu's"

# --- lazy refcounts and a crash ---
qemu-img create -q -f qcow2 -o lazy_refcounts=on z.qcow2 1M
qemu-io -c "write -P 0x91 0 300k" -c abort z.qcow2 >/dev/null 2>&1
cp z.qcow2 z2.qcow2
"$IMG" check z.qcow2 >o.chk 2>&1
qemu-img check z2.qcow2 >r.chk 2>&1
same_file "check of a dirty lazy-refcounts image" o.chk r.chk
"$IMG" info --output=json z.qcow2 >o.info 2>&1
qemu-img info --output=json z.qcow2 >r.info 2>&1
same_file "info of a dirty image (dirty-flag)" o.info r.info
"$IO" -c "read -P 0x91 0 300k" -c "write -P 0x92 300k 100k" z.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "dirty image opens read-write (refcounts rebuilt)"
qemu-img check -q z.qcow2 >/dev/null 2>&1
tap_result $? "after repair on open and close: check clean"
"$IMG" create -q -f qcow2 -o lazy_refcounts=on y.qcow2 1M
"$IO" -c "write -P 0x93 0 200k" -c flush -c abort y.qcow2 >/dev/null 2>&1
qemu-img check -r all y.qcow2 >/dev/null 2>&1
qemu-io -c "read -P 0x93 0 200k" y.qcow2 >v.out 2>&1
no_fail v.out
tap_result $? "our crashed lazy image: qemu repairs it and reads the data"

# --- broken headers: one error in qemu's words, nothing written ---
qemu-img create -q -f qcow2 good.qcow2 1M
bad() { # NAME OFFSET BYTES(octal printf)
	cp good.qcow2 "$1.qcow2"
	printf "$3" | dd of="$1.qcow2" bs=1 seek="$2" conv=notrunc 2>/dev/null
	cp "$1.qcow2" "$1.orig"
	"$IMG" info "$1.qcow2" >o.out 2>&1
	qemu-img info "$1.qcow2" >r.out 2>&1
	normalize r.out >r2.out
	same_file "broken header $1: qemu's message" o.out r2.out
	[ "$1" = magic ] && return # that one is a raw image now
	"$IO" -c "write 0 512" "$1.qcow2" >/dev/null 2>&1
	cmp -s "$1.qcow2" "$1.orig"
	tap_result $? "broken header $1: file untouched"
}
bad magic 0 'XXXX'
bad version 4 '\000\000\000\011'
bad cluster-bits 20 '\000\000\000\077'
bad header-length 100 '\000\000\000\010'
bad incompat 72 '\000\000\000\000\000\000\001\000'
bad refcount-order 96 '\000\000\000\011'
bad l1-size 36 '\177\377\377\377'
bad reftable-clusters 56 '\177\377\377\377'
bad backing-offset 8 '\000\000\000\000\177\000\000\000'
bad snapshots 60 '\177\377\377\377'
tap_end
