#!/bin/sh
# Compressed cluster writes against qemu-img / qemu-io 7.2: strata-img convert -c over cluster
# sizes 512..2M, compat 0.10 / 1.1, zlib / zstd, extended L2 (qemu-img check clean, compare,
# map, read back both ways, file size next to qemu-img's), strata-io write -c with overwrites
# (normal and compressed), refcount widths, and the refusals with qemu's messages and codes.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

no_fail() { ! grep -qiE 'fail|error' "$1"; }

# mkmix CS N FILE: N clusters of CS bytes cycling through incompressible, compressible text,
# zeros, a few bytes in a zero cluster and half random / half zero, plus a half cluster at the
# end (the image's last cluster is partial) unless CS is 512.
mkmix() {
	python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
cs, n, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(cs)
out = bytearray()
for i in range(n):
    k = i % 5
    if k == 0:
        c = r.randbytes(cs)
    elif k == 1:
        line = b"".join(b"line %d of cluster %d\n" % (j, i) for j in range(cs // 16 + 1))
        c = line[:cs]
    elif k == 2:
        c = bytes(cs)
    elif k == 3:
        c = bytearray(cs); c[cs // 3:cs // 3 + 7] = b"strata!"; c = bytes(c)
    else:
        c = r.randbytes(cs // 2) + bytes(cs - cs // 2)
    out += c
if cs > 512:
    out += (b"tail" * cs)[:cs // 2]
open(name, "wb").write(out)
EOF
}

# --- convert -c: the matrix ---
for cs in 512 4k 64k 2M; do
	case $cs in
	512) n=40 bytes=512 ;;
	4k) n=30 bytes=4096 ;;
	64k) n=15 bytes=65536 ;;
	2M) n=6 bytes=2097152 ;;
	esac
	mkmix "$bytes" "$n" src.raw
	for v in compat=0.10 compat=1.1 compat=1.1,compression_type=zstd \
		 compat=1.1,extended_l2=on compat=1.1,extended_l2=on,compression_type=zstd; do
		case $v in *extended_l2*) [ "$bytes" -ge 16384 ] || continue ;; esac
		t="convert -c cluster_size=$cs,$v"
		o="-o cluster_size=$cs,$v"
		rm -f o.qcow2 r.qcow2
		"$IMG" convert -c -f raw -O qcow2 $o src.raw o.qcow2 >err 2>&1
		tap_result $? "$t" || sed 's/^/# /' err
		qemu-img convert -c -f raw -O qcow2 $o src.raw r.qcow2
		qemu-img check o.qcow2 >chk 2>&1
		tap_result $? "$t: qemu-img check clean" || sed 's/^/# /' chk
		check "$t: qemu-img compare with the source" qemu-img compare -f raw -F qcow2 src.raw o.qcow2
		qemu-img map --output=json o.qcow2 >o.map
		qemu-img map --output=json r.qcow2 >r.map
		same_file "$t: qemu-img map equals qemu-img convert -c's" o.map r.map
		"$IMG" map --output=json o.qcow2 >s.map
		same_file "$t: our map equals qemu-img's" s.map o.map
		qemu-img convert -O raw o.qcow2 back.raw
		check "$t: qemu-img reads it back byte-exactly" cmp src.raw back.raw
		"$IMG" convert -O raw r.qcow2 ours.raw
		check "$t: we read qemu-img's output byte-exactly" cmp src.raw ours.raw
		"$IMG" check o.qcow2 >ochk 2>&1
		same_file "$t: check output as qemu-img's" ochk chk
		cmp -s o.qcow2 r.qcow2 && echo "# $t: byte-identical to qemu-img's"
		os=$(stat -c %s o.qcow2) rs=$(stat -c %s r.qcow2)
		echo "# $t: file size ours $os, qemu-img $rs"
		[ "$os" -le $((rs + rs / 10)) ]
		tap_result $? "$t: file size within 10% of qemu-img's"
	done
done

# -S 0: every cluster compressed, zeros too (as qemu-img)
mkmix 65536 10 src.raw
"$IMG" convert -c -S 0 -O qcow2 src.raw o.qcow2
qemu-img convert -c -S 0 -O qcow2 src.raw r.qcow2
qemu-img map --output=json o.qcow2 >o.map
qemu-img map --output=json r.qcow2 >r.map
same_file "convert -c -S 0: map as qemu-img's" o.map r.map
check "convert -c -S 0: compare" qemu-img compare src.raw o.qcow2

# qcow2 source (with zero clusters and holes) into a compressed target
qemu-img create -q -f qcow2 s.qcow2 4M
qemu-io -c 'write -P 1 0 100k' -c 'write -z 1M 64k' -c 'write -P 2 1100k 1k' \
	-c 'write -P 3 4095k 1k' s.qcow2 >/dev/null
"$IMG" convert -c -O qcow2 s.qcow2 o.qcow2
qemu-img convert -c -O qcow2 s.qcow2 r.qcow2
check "qcow2 -> convert -c: check" qemu-img check o.qcow2
check "qcow2 -> convert -c: compare" qemu-img compare s.qcow2 o.qcow2
qemu-img map --output=json o.qcow2 >o.map
qemu-img map --output=json r.qcow2 >r.map
same_file "qcow2 -> convert -c: map as qemu-img's" o.map r.map

# refcount_bits=1: a host cluster cannot be shared, every compressed cluster gets its own
mkmix 4096 20 src.raw
for rb in 1 2 64; do
	"$IMG" convert -c -O qcow2 -o cluster_size=4k,refcount_bits=$rb src.raw o.qcow2
	qemu-img convert -c -O qcow2 -o cluster_size=4k,refcount_bits=$rb src.raw r.qcow2
	check "convert -c refcount_bits=$rb: check clean" qemu-img check o.qcow2
	check "convert -c refcount_bits=$rb: compare" qemu-img compare src.raw o.qcow2
	qemu-img map --output=json o.qcow2 >o.map
	qemu-img map --output=json r.qcow2 >r.map
	same_file "convert -c refcount_bits=$rb: map as qemu-img's" o.map r.map
done

# vmdk takes -c as qemu's vmdk does: as normal writes of whole grains
mkmix 65536 12 src.raw
for sub in monolithicSparse streamOptimized; do
	rm -f o.vmdk r.vmdk
	check "convert -c -O vmdk ($sub)" "$IMG" convert -c -O vmdk -o subformat=$sub src.raw o.vmdk
	qemu-img convert -c -O vmdk -o subformat=$sub src.raw r.vmdk
	check "convert -c -O vmdk ($sub): check" qemu-img check o.vmdk
	check "convert -c -O vmdk ($sub): compare" qemu-img compare src.raw o.vmdk
	qemu-img map --output=json o.vmdk | sed 's/"offset": [0-9]*//' >o.map
	qemu-img map --output=json r.vmdk | sed 's/"offset": [0-9]*//' >r.map
	same_file "convert -c -O vmdk ($sub): map as qemu-img's" o.map r.map
done

# --- errors as qemu-img ---
qemu-img create -q -f raw z.raw 1M
for fmt in raw vdi; do
	rm -f e.$fmt
	compare_img "convert -c -O $fmt: refused" convert -c -O $fmt z.raw e.$fmt
	[ ! -e e.$fmt ]
	tap_result $? "convert -c -O $fmt: no file created"
done
compare_img "convert -c to qcow2 with a data file: refused" \
	convert -c -O qcow2 -o data_file=dd.raw src.raw dd.qcow2
compare_img "convert -c of zeros to qcow2 with a data file: refused" \
	convert -c -O qcow2 -o data_file=dz.raw z.raw dz.qcow2

# --- strata-io write -c, then overwrites, against a raw reference written by qemu-io ---
for v in compat=1.1 compat=0.10 compat=1.1,compression_type=zstd compat=1.1,extended_l2=on \
	 compat=1.1,lazy_refcounts=on; do
	"$IMG" create -q -f qcow2 -o "$v" w.qcow2 1M
	qemu-img create -q -f raw ref.raw 1M
	"$IO" -c 'write -c -P 0x11 0 256k' -c 'write -c -P 0x22 256k 64k' -c 'write -P 0x33 64k 4k' \
	      -c 'write -c -P 0x44 128k 64k' -c 'write -c -P 0x55 320k 64k' \
	      -c 'write -P 0x66 448k 64k' -c 'write -c -P 0x77 448k 64k' \
	      -c 'write -z 192k 64k' -c 'write -c -P 0x78 192k 64k' \
	      -c 'write -P 0x88 300k 40k' -c 'write -c -s src.raw 960k 64k' w.qcow2 >o.out 2>&1
	tap_result $? "write -c $v" || sed 's/^/# /' o.out
	qemu-io -f raw -c 'write -P 0x11 0 256k' -c 'write -P 0x22 256k 64k' -c 'write -P 0x33 64k 4k' \
	      -c 'write -P 0x44 128k 64k' -c 'write -P 0x55 320k 64k' \
	      -c 'write -P 0x66 448k 64k' -c 'write -P 0x77 448k 64k' \
	      -c 'write -z 192k 64k' -c 'write -P 0x78 192k 64k' \
	      -c 'write -P 0x88 300k 40k' -c 'write -s src.raw 960k 64k' ref.raw >/dev/null 2>&1
	qemu-img check w.qcow2 >chk 2>&1
	tap_result $? "write -c $v: qemu-img check clean" || sed 's/^/# /' chk
	check "write -c $v: data as written" qemu-img compare ref.raw w.qcow2
	qemu-img map --output=json w.qcow2 | grep -c '"data": true' >/dev/null
	# the clusters still compressed: the map has no host offset for them
	qemu-img map --output=json w.qcow2 | grep '"start": 0,' | grep -qv offset
	tap_result $? "write -c $v: cluster 0 stays compressed"
done

# two sessions: packing starts afresh in a new host cluster, refcounts stay right
"$IMG" create -q -f qcow2 -o cluster_size=4k p.qcow2 1M
"$IO" -c 'write -c -P 1 0 4k' -c 'write -c -P 2 4k 4k' p.qcow2 >/dev/null
"$IO" -c 'write -c -P 3 8k 4k' -c 'write -c -P 4 0 4k' p.qcow2 >/dev/null
check "two sessions of write -c: check clean" qemu-img check p.qcow2
check "two sessions of write -c: data" qemu-io -c 'read -P 4 0 4k' -c 'read -P 2 4k 4k' \
	-c 'read -P 3 8k 4k' p.qcow2

# the last cluster of an image may be partial (padded with zeros)
"$IMG" create -q -f qcow2 t.qcow2 100k
"$IO" -c 'write -c -P 9 64k 36k' t.qcow2 >o.out 2>&1
tap_result $? "write -c of the partial last cluster"
check "partial last cluster: check" qemu-img check t.qcow2
check "partial last cluster: data" qemu-io -c 'read -P 9 64k 36k' t.qcow2

# refusals, as qemu-io (message and exit status)
compare_io() {
	name=$1
	shift
	"$IO" "$@" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-io "$@" >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i 's/qemu-io/strata-io/g' r.out
	same_file "$name" o.out r.out
}
qemu-img create -q -f qcow2 q.qcow2 100k
compare_io "write -c of part of a cluster: refused" -c 'write -c 0 4k' q.qcow2
compare_io "write -c at an unaligned offset: refused" -c 'write -c 512 64k' q.qcow2
compare_io "write -c not ending at a cluster or the image end: refused" -c 'write -c 0 96k' q.qcow2
compare_io "write -c of an unaligned sector: refused" -c 'write -c 1 512' q.qcow2
qemu-img create -q -f qcow2 -o data_file=qd.raw qd.qcow2 1M
compare_io "write -c with a data file: refused" -c 'write -c 0 64k' qd.qcow2
qemu-img create -q -f raw qr.raw 1M
compare_io "write -c on raw: refused" -f raw -c 'write -c 0 64k' qr.raw

tap_end
