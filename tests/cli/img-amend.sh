#!/bin/sh
# strata-img amend against qemu-img amend on twin copies of the same images: stdout, stderr,
# exit status, then the results: info (JSON), check, map, and compare of the two copies.
. "$SRC_DIR/tests/lib/tap.sh"

mkdir -p base ours ref

# The starting images, written by qemu-io: data, zero clusters with and without a host
# cluster (write -z over data keeps it, write -z -u and over nothing do not), and a layer that
# has a backing file.
zeros() {
	qemu-io -c 'write -P 1 0 128k' -c 'write -z 64k 64k' -c 'write -z 1M 128k' \
		-c 'write -z -u 256k 64k' -c 'write -P 2 512k 64k' -c 'write -z 512k 64k' "$1" >/dev/null
}
(
	cd base || exit 1
	qemu-img create -q -f qcow2 plain.qcow2 4M && zeros plain.qcow2
	qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 4M
	qemu-io -c 'write -P 3 0 192k' v2.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k v2small.qcow2 1M
	qemu-io -c 'write -P 3 4k 8k' v2small.qcow2 >/dev/null
	# the backing file is never written: one copy, linked from the twin directories
	qemu-img create -q -f raw ../b.raw 4M
	qemu-io -f raw -c 'write -P 7 0 4M' ../b.raw >/dev/null
	ln -s ../b.raw b.raw
	qemu-img create -q -f qcow2 -b b.raw -F raw over.qcow2 && zeros over.qcow2
	qemu-img create -q -f qcow2 snap.qcow2 4M && zeros snap.qcow2
	qemu-img snapshot -c s1 snap.qcow2
	qemu-io -c 'write -z 2M 64k' -c 'write -P 5 64k 64k' snap.qcow2 >/dev/null
	# 20 GiB: 40 L1 entries, so -p reports the expansion step by step
	qemu-img create -q -f qcow2 big.qcow2 20G
	qemu-io -c 'write -z 0 64k' -c 'write -z 5G 64k' -c 'write -P 1 10G 64k' \
		-c 'write -z -u 10G 64k' -c 'write -z 19G 1M' big.qcow2 >/dev/null
	qemu-img snapshot -c s1 big.qcow2
	qemu-io -c 'write -z 7G 64k' big.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 4M
	qemu-io -c 'write -P 4 0 256k' lazy.qcow2 >/dev/null
	cp lazy.qcow2 dirty.qcow2
	qemu-io -c 'write -P 6 1M 256k' -c 'write -z 2M 64k' -c abort dirty.qcow2 >/dev/null 2>&1
	qemu-img create -q -f qcow2 -o extended_l2=on extl2.qcow2 1M
	qemu-img create -q -f qcow2 -o compression_type=zstd zstd.qcow2 1M
	qemu-io -c 'write -P 8 0 64k' zstd.qcow2 >/dev/null
	cp zstd.qcow2 zstdc.qcow2
	qemu-io -c 'write -c -P 9 64k 64k' zstdc.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o refcount_bits=64 rc64.qcow2 1M
	qemu-io -c 'write -P 2 0 192k' rc64.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o cluster_size=512 c512.qcow2 8M
	qemu-io -c 'write -P 1 0 6M' c512.qcow2 >/dev/null
	qemu-img create -q -f qcow2 holes.qcow2 8M
	qemu-io -c 'write -P 1 0 4M' -c 'discard 1M 1M' holes.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o data_file=d.raw dfile.qcow2 1M
	qemu-io -c 'write -P 1 0 64k' dfile.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o data_file=draw.raw,data_file_raw=on dfraw.qcow2 1M
	qemu-img create -q -f raw r.raw 1M
	qemu-img create -q -f vdi v.vdi 1M
	qemu-img create -q -f vmdk k.vmdk 1M
) || exit 1

# The map as runs of (depth, present, data or zero). What may legitimately differ is left
# out: host offsets (each allocator places new clusters its own way) and the "zero" flag of
# data extents, which reports holes in the host file: qemu writes the zeroes of an expanded
# zero cluster by punching a hole and re-allocating, falling back to writing zeroes once the
# file system refuses the fallocate, so whether a hole is left depends on the host file system.
map_runs() {
	sed -n 's/.*"start": \([0-9]*\), "length": \([0-9]*\), "depth": \([0-9]*\), "present": \([a-z]*\), "zero": \([a-z]*\), "data": \([a-z]*\).*/\1 \2 \3 \4 \5 \6/p' |
	awk '{ k = $3 " " $4 " " ($6 == "true" ? "data" : "zero=" $5)
	       if (k == key && $1 == end) { end += $2; next }
	       if (key != "") print start, end - start, key
	       key = k; start = $1; end = $1 + $2 }
	     END { if (key != "") print start, end - start, key }'
}

# The result of an amendment: info (JSON) without "actual-size" (host allocation, see above),
# (snapshots included), check without the image end offset (allocator placement), the map and
# the bytes of the header (with its extensions and backing file name) as written.
state() {
	(cd "$1" && qemu-img info --output=json -U "$2" | grep -v '"actual-size"'
	 qemu-img check -U "$2" 2>&1 | grep -v '^Image end offset'; echo "check rc=$?"
	 qemu-img map --output=json -U "$2" 2>&1 | map_runs
	 [ -n "${NOHEADER:-}" ] || od -A d -t x1 -N 512 "$2")
}

# compare_amend NAME IMAGE ARGS...: fresh twin copies of base/IMAGE and the companion files
# (backing and data files; a missing file name stays missing), then
# "amend ARGS" by both tools in their directory. ERRMASK, if set, is a sed script applied to
# qemu's stderr; DATAFILE, if set, names an external data file: the two are compared with cmp
# (qemu-img compare resolves data file names against the working directory, not the image's).
compare_amend() {
	name=$1 img=$2
	shift 2
	for d in ours ref; do
		rm -f $d/*
		cp -P base/"$img" base/b.raw base/d.raw base/draw.raw $d/ 2>/dev/null
	done
	[ -z "${RO:-}" ] || chmod 444 ours/"$img" ref/"$img"
	(cd ours && $RUNAS "$IMG" amend "$@" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && $RUNAS qemu-img amend "$@" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err | sed -e "${ERRMASK:-}" >r.e
	state ours "$img" >ours.state 2>&1 &
	state ref "$img" >ref.state 2>&1
	wait
	if [ -n "${DATAFILE:-}" ]; then
		cmp ours/"$DATAFILE" ref/"$DATAFILE" >cmp.out 2>&1
	else
		qemu-img compare -U ours/"$img" ref/"$img" >cmp.out 2>&1
	fi
	cmp_rc=$?
	if cmp -s o.out r.out && cmp -s o.err r.e && cmp -s ours.state ref.state && [ $cmp_rc -eq 0 ]
	then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'
		diff ours.state ref.state | head -n 30 | sed 's/^/# /'
		sed 's/^/# compare: /' cmp.out
	fi
}

# Option parsing and help
compare_amend "help for the probed format" plain.qcow2 -o help plain.qcow2
compare_amend "help with ?" plain.qcow2 -o '?' plain.qcow2
compare_amend "help for -f without a file" plain.qcow2 -f qcow2 -o help
compare_amend "help among other options" plain.qcow2 -o compat=1.1,help plain.qcow2
compare_amend "help for raw" r.raw -f raw -o help
compare_amend "help for an unknown format" r.raw -f foo -o help
compare_amend "help for a probed vdi" v.vdi -o help v.vdi
compare_amend "no -o" plain.qcow2 plain.qcow2
compare_amend "empty -o" plain.qcow2 -o '' plain.qcow2
compare_amend "-o without argument" plain.qcow2 -o
compare_amend "unknown flag" plain.qcow2 -x -o compat=1.1 plain.qcow2
compare_amend "no file name" plain.qcow2 -o compat=1.1
compare_amend "two file names" plain.qcow2 -o compat=1.1 plain.qcow2 v2.qcow2
compare_amend "missing file" plain.qcow2 -o compat=1.1 nofile.qcow2
compare_amend "bad cache mode" plain.qcow2 -t bogus -o compat=1.1 plain.qcow2
compare_amend "cache none, --force, --object" plain.qcow2 -t none --force \
	--object secret,id=s0,data=x -o compat=1.1 plain.qcow2
compare_amend "wrong -f" r.raw -f qcow2 -o size=2M r.raw
compare_amend "unknown option" plain.qcow2 -o foo=1 plain.qcow2
compare_amend "repeated -o" plain.qcow2 -o compat=1.1 -o lazy_refcounts=on plain.qcow2

# Formats without amendment
compare_amend "raw (probed)" r.raw -o size=2M r.raw
compare_amend "raw" r.raw -f raw -o size=2M r.raw
compare_amend "vdi" v.vdi -o size=2M v.vdi
compare_amend "vmdk" k.vmdk -o size=2M k.vmdk

# Options only create takes, bad values
for o in cluster_size=4k encryption=on preallocation=metadata extended_l2=on \
	compression_type=zstd encrypt.format=luks encrypt.key-secret=x compat=0.10,cluster_size=4k; do
	compare_amend "create-only option $o" plain.qcow2 -o "$o" plain.qcow2
done
for o in compat=2 compat= refcount_bits=3 refcount_bits=0 refcount_bits=128 refcount_bits=abc \
	size=abc lazy_refcounts=maybe data_file=x data_file_raw=on encrypt.state=active \
	refcount_bits=3,compat=2 size=1000 cluster_size=4k,foo=1; do
	compare_amend "bad value $o" plain.qcow2 -o "$o" plain.qcow2
done

# compat
compare_amend "downgrade zero clusters, no backing" plain.qcow2 -o compat=0.10 plain.qcow2
compare_amend "downgrade with v2 spelled v2" plain.qcow2 -o compat=v2 plain.qcow2
compare_amend "downgrade zero clusters over a backing file" over.qcow2 -o compat=0.10 over.qcow2
compare_amend "downgrade with snapshots" snap.qcow2 -o compat=0.10 snap.qcow2
compare_amend "downgrade with progress" plain.qcow2 -p -o compat=0.10 plain.qcow2
compare_amend "downgrade 20 GiB with snapshots, progress" big.qcow2 -p -o compat=0.10 big.qcow2
compare_amend "refcount_bits 20 GiB with snapshots, progress" big.qcow2 -p -o refcount_bits=32 big.qcow2
compare_amend "downgrade quiet progress" plain.qcow2 -p -q -o compat=0.10 plain.qcow2
compare_amend "downgrade lazy refcounts" lazy.qcow2 -o compat=0.10 lazy.qcow2
# qemu prints its repair of a dirty image when it opens it and rebuilds the refcount structure
# elsewhere (a new refcount table offset in the header); ours repairs the entries in place,
# silently (see docs/qcow2.md): the transcript is left out of qemu's stderr, the header bytes
# out of the comparison.
REPAIR='/^ERROR cluster/d; /^Rebuilding refcount/d; /^Repairing cluster/d'
ERRMASK=$REPAIR; NOHEADER=1
compare_amend "downgrade a dirty image" dirty.qcow2 -o compat=0.10 dirty.qcow2
compare_amend "lazy refcounts off on a dirty image" dirty.qcow2 -o lazy_refcounts=off dirty.qcow2
ERRMASK=; NOHEADER=
compare_amend "downgrade extended L2 refused" extl2.qcow2 -o compat=0.10 extl2.qcow2
compare_amend "downgrade zstd without compressed clusters" zstd.qcow2 -o compat=0.10 zstd.qcow2
compare_amend "downgrade zstd with compressed clusters refused" zstdc.qcow2 -o compat=0.10 zstdc.qcow2
compare_amend "downgrade refcount_bits=64 refused" rc64.qcow2 -o compat=0.10 rc64.qcow2
DATAFILE=d.raw; compare_amend "downgrade with a data file refused" dfile.qcow2 -o compat=0.10 dfile.qcow2; DATAFILE=
compare_amend "downgrade after a grow with snapshots refused" snap.qcow2 -o compat=0.10,size=8M snap.qcow2
compare_amend "upgrade" v2.qcow2 -o compat=1.1 v2.qcow2
compare_amend "upgrade spelled v3, progress" v2.qcow2 -p -o compat=v3 v2.qcow2
compare_amend "upgrade 4k clusters" v2small.qcow2 -o compat=1.1 v2small.qcow2
compare_amend "upgrade and lazy refcounts" v2.qcow2 -o compat=1.1,lazy_refcounts=on v2.qcow2
compare_amend "same compat" plain.qcow2 -o compat=1.1 plain.qcow2

# lazy refcounts
compare_amend "lazy refcounts on" plain.qcow2 -o lazy_refcounts=on plain.qcow2
compare_amend "lazy refcounts off" lazy.qcow2 -o lazy_refcounts=off lazy.qcow2
compare_amend "lazy refcounts on v2 refused" v2.qcow2 -o lazy_refcounts=on v2.qcow2
compare_amend "lazy refcounts on with a downgrade refused" plain.qcow2 -o compat=0.10,lazy_refcounts=on plain.qcow2

# size
compare_amend "grow" plain.qcow2 -o size=8M plain.qcow2
compare_amend "shrink" plain.qcow2 -o size=1M plain.qcow2
compare_amend "size 0 leaves it" plain.qcow2 -o size=0 plain.qcow2
compare_amend "grow with snapshots" snap.qcow2 -o size=8M snap.qcow2
compare_amend "shrink with snapshots" snap.qcow2 -o size=1M snap.qcow2
compare_amend "grow and downgrade" plain.qcow2 -o size=6M,compat=0.10 plain.qcow2

# backing file: qemu 7.2 accepts only the current values
compare_amend "new backing file refused" over.qcow2 -o backing_file=other.raw over.qcow2
compare_amend "backing format alone refused" over.qcow2 -o backing_fmt=raw over.qcow2
compare_amend "same backing file and format" over.qcow2 -o backing_file=b.raw,backing_fmt=raw over.qcow2
compare_amend "backing file on an image without one" plain.qcow2 -o backing_file=b.raw,backing_fmt=raw plain.qcow2
compare_amend "upgrade happens before the backing refusal" v2.qcow2 -o compat=1.1,backing_file=x v2.qcow2

# refcount width: the structures are rebuilt in the new width (byte-identical to qemu's)
compare_amend "refcount_bits 16 is no change" plain.qcow2 -o refcount_bits=16 plain.qcow2
for b in 1 2 4 8 32 64; do
	compare_amend "refcount_bits=$b" plain.qcow2 -o refcount_bits=$b plain.qcow2
done
compare_amend "refcount_bits=64 with progress" plain.qcow2 -p -o refcount_bits=64 plain.qcow2
compare_amend "refcount_bits=8 and back to 16" rc64.qcow2 -o refcount_bits=16 rc64.qcow2
compare_amend "refcount_bits=2 with snapshots" snap.qcow2 -o refcount_bits=2 snap.qcow2
compare_amend "refcount_bits=1 with shared clusters refused" snap.qcow2 -o refcount_bits=1 snap.qcow2
compare_amend "refcount_bits=64, 512-byte clusters (table grows)" c512.qcow2 -p -o refcount_bits=64 c512.qcow2
compare_amend "refcount_bits=1 over freed clusters" holes.qcow2 -o refcount_bits=1 holes.qcow2
compare_amend "refcount_bits and upgrade" v2.qcow2 -p -o compat=1.1,refcount_bits=4 v2.qcow2
compare_amend "refcount_bits with lazy refcounts" lazy.qcow2 -o refcount_bits=8 lazy.qcow2
compare_amend "refcount_bits on v2 refused" v2.qcow2 -o refcount_bits=8 v2.qcow2
compare_amend "refcount_bits with a downgrade refused" plain.qcow2 -o compat=0.10,refcount_bits=64 plain.qcow2

# data file
DATAFILE=draw.raw; compare_amend "data_file_raw off" dfraw.qcow2 -o data_file_raw=off dfraw.qcow2; DATAFILE=
DATAFILE=d.raw; compare_amend "data_file_raw on refused" dfile.qcow2 -o data_file_raw=on dfile.qcow2; DATAFILE=
DATAFILE=d.raw; compare_amend "data_file renamed" dfile.qcow2 -o data_file=d.raw dfile.qcow2; DATAFILE=

# An image the user may not write (root writes anyway: the tools then run as nobody).
RUNAS=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 . ours ref
fi
if [ "$(id -u)" != 0 ] || [ -n "$RUNAS" ]; then
	RO=1
	compare_amend "read-only image" plain.qcow2 -o compat=0.10 plain.qcow2
	compare_amend "read-only image, help" plain.qcow2 -o help plain.qcow2
	RO=
else
	tap_result 0 "read-only image # SKIP root without setpriv"
fi
RUNAS=

tap_end
