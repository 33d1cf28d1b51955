#!/bin/sh
# Persistent dirty bitmaps against qemu-img / qemu-io / qemu-nbd 7.2: `bitmap` (every action,
# its refusals and texts), bitmaps in info (human, JSON) and measure, convert --bitmaps, and
# the bits themselves: the same writes done by strata-io and qemu-io leave the same dirty
# extents, read back through qemu-nbd's dirty-bitmap export; the in-use flag after a crash.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }
command -v qemu-nbd >/dev/null || { echo "1..0 # SKIP no qemu-nbd"; exit 77; }

# The dirty extents of bitmap $2 in image $1 as "start+length ..." (qemu-nbd -B exports it;
# qemu-img map shows dirty areas as data:false).
dump() {
	sock=$TEST_TMPDIR/nbd.sock
	rm -f "$sock"
	timeout 60 qemu-nbd -r -f qcow2 -B "$2" -k "$sock" "$1" 2>/dev/null &
	npid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	timeout 60 qemu-img map --output=json --image-opts \
		"driver=nbd,server.type=unix,server.path=$sock,x-dirty-bitmap=qemu:dirty-bitmap:$2" |
		python3 -c 'import json,sys; print(" ".join("%d+%d" % (e["start"], e["length"])
			for e in json.load(sys.stdin) if not e["data"]))'
	kill "$npid" 2>/dev/null
	wait "$npid" 2>/dev/null
}

# bitmaps_of IMG: qemu-img's view of the bitmaps (info's list) and check's verdict.
bitmaps_of() {
	qemu-img info "$1" | sed -n '/bitmaps:/,/refcount bits/p'
	qemu-img check "$1" 2>&1 | head -n 1
}

# Node names (qemu: '#block123') and our file names are masked in messages.
mask() { sed -e "s/#block[0-9]*/NODE/g; s/'[ro]\.qcow2'/'NODE'/g; s/ [ro]\.qcow2:/ NODE:/g" \
	     -e 's/qemu-img/strata-img/g' "$@"; }

# pair NAME ARGS...: runs "strata-img ARGS" on o.qcow2 and "qemu-img ARGS" on r.qcow2 (same
# starting bytes; @ in ARGS is the image), compares output, exit status and the bitmaps after.
pair() {
	name=$1
	shift
	oa="" ra=""
	for x in "$@"; do
		[ "$x" = @ ] && { oa="$oa o.qcow2"; ra="$ra r.qcow2"; continue; }
		oa="$oa $x" ra="$ra $x"
	done
	# shellcheck disable=SC2086
	"$IMG" $oa >o.out 2>&1; echo "rc=$?" >>o.out
	# shellcheck disable=SC2086
	qemu-img $ra >r.out 2>&1; echo "rc=$?" >>r.out
	mask o.out >o.m; mask r.out >r.m
	bitmaps_of o.qcow2 >o.bm; bitmaps_of r.qcow2 >r.bm
	cat o.bm >>o.m; cat r.bm >>r.m
	same_file "$name" o.m r.m
}

fresh() { # fresh ARGS...: o.qcow2 and r.qcow2, both made by qemu-img create ARGS
	rm -f o.qcow2 r.qcow2
	qemu-img create -q -f qcow2 "$@" r.qcow2 64M
	cp r.qcow2 o.qcow2
}

# --- the bitmap sub-command: actions in order, refusals ---
fresh
pair "add" bitmap --add @ b0
pair "add -g 128k --disable" bitmap --add -g 128k --disable @ b1
pair "add, then enable in one call" bitmap --add --disable --enable @ b2
pair "add an existing name" bitmap --add @ b0
pair "add -g 100" bitmap --add -g 100 @ bx
pair "add -g 4G" bitmap --add -g 4G @ bx
pair "add -g 2G (the largest)" bitmap --add -g 2G @ big
pair "add -g 1x" bitmap --add -g 1x @ bx
pair "add an empty name" bitmap --add @ ""
pair "add a 1100-character name" bitmap --add @ "$(printf 'n%.0s' $(seq 1100))"
pair "remove a missing one" bitmap --remove @ nope
for a in --clear --enable --disable "--merge nope"; do
	pair "$a on a missing bitmap" bitmap $a @ zz
done
pair "merge a missing source" bitmap --merge nope @ b0
pair "no action" bitmap @ b0
pair "one name only" bitmap --add @
pair "-b without --merge" bitmap -b r.qcow2 --add @ q
pair "-F without -b" bitmap --add -F raw @ q
pair "-g without --add" bitmap -g 64k --remove @ b0
pair "unknown option" bitmap --add -q @ q
pair "remove then add again (goes last)" bitmap --remove --add @ b0
pair "disable, enable" bitmap --disable @ b2
pair "remove" bitmap --remove @ big
for o in --output=human --output=json; do
	"$IMG" info $o o.qcow2 >o.info 2>&1
	qemu-img info $o o.qcow2 >r.info 2>&1
	same_file "info $o lists our bitmaps as qemu-img does" o.info r.info
done
qemu-img create -q -f qcow2 -o compat=0.10 o.qcow2 1M; cp o.qcow2 r.qcow2
pair "add to a v2 image" bitmap --add @ x
qemu-img create -q -f raw o.qcow2 1M; cp o.qcow2 r.qcow2
pair "add to a raw image" bitmap --add -f raw @ x
for cs in 512 2M; do
	fresh -o cluster_size=$cs
	pair "default granularity, cluster_size=$cs" bitmap --add @ x
done

# --- the bits: the same writes by strata-io and qemu-io dirty the same extents ---
writes='-c "write -P 1 0 64k" -c "write 10M 1k" -c "write 30M 200k" -c "write -z 50M 64k"
	-c "discard 60M 64k" -c "aio_write 40M 1" -c aio_flush'
fresh
qemu-img bitmap --add r.qcow2 b0
qemu-img bitmap --add -g 128k --disable r.qcow2 b1
qemu-img bitmap --add -g 512 r.qcow2 fine
cp r.qcow2 o.qcow2
eval "\"\$IO\" $writes o.qcow2" >/dev/null 2>&1
eval "qemu-io $writes r.qcow2" >/dev/null 2>&1
for b in b0 b1 fine; do
	dump o.qcow2 $b >o.d; dump r.qcow2 $b >r.d
	[ -s r.d ] || [ $b = b1 ]
	tap_result $? "qemu's bitmap $b is dirty where qemu wrote (sanity)"
	same_file "qemu-made bitmap $b: strata-io's writes dirty what qemu-io's do" o.d r.d
done
qemu-img check o.qcow2 >o.chk 2>&1
tap_result $? "after strata-io wrote: qemu-img check clean"
# made by strata-img, written by qemu-io and by strata-io
fresh
"$IMG" bitmap --add r.qcow2 b0
"$IMG" bitmap --add -g 1M r.qcow2 coarse
"$IMG" bitmap --add --disable r.qcow2 off
cp r.qcow2 o.qcow2
eval "\"\$IO\" $writes o.qcow2" >/dev/null 2>&1
eval "qemu-io $writes r.qcow2" >/dev/null 2>&1
for b in b0 coarse off; do
	dump o.qcow2 $b >o.d; dump r.qcow2 $b >r.d
	same_file "strata-made bitmap $b: same extents after strata-io / qemu-io writes" o.d r.d
done
bitmaps_of o.qcow2 >o.bm; bitmaps_of r.qcow2 >r.bm
same_file "strata-made bitmaps: info and check the same after both" o.bm r.bm
# compressed writes (convert -c of data into an image with a bitmap: -n keeps the target)
pair "clear" bitmap --clear @ b0
dump o.qcow2 b0 >o.d
[ "$(cat o.d)" = "" ]
tap_result $? "clear: no dirty extent left" || sed 's/^/# /' o.d
pair "merge coarse into off (granularities differ)" bitmap --merge coarse @ off
dump o.qcow2 off >o.d; dump r.qcow2 off >r.d
same_file "merge: the same bits as qemu's" o.d r.d
qemu-img create -q -f qcow2 other.qcow2 64M
qemu-img bitmap --add other.qcow2 ext
qemu-io -c "write 5M 4k" other.qcow2 >/dev/null
pair "merge from another file (-b -F)" bitmap --merge ext -b other.qcow2 -F qcow2 @ b0
dump o.qcow2 b0 >o.d; dump r.qcow2 b0 >r.d
same_file "merge -b: the same bits as qemu's" o.d r.d
qemu-img create -q -f qcow2 small.qcow2 32M
qemu-img bitmap --add small.qcow2 s
pair "merge from an image of another size" bitmap --merge s -b small.qcow2 @ b0
pair "merge from a missing file" bitmap --merge s -b missing.qcow2 @ b0

# --- resize: the bitmaps follow (new area clean, later writes tracked) ---
pair "resize with bitmaps" resize @ 128M
"$IO" -c "write 100M 64k" o.qcow2 >/dev/null 2>&1
qemu-io -c "write 100M 64k" r.qcow2 >/dev/null 2>&1
for b in b0 coarse; do
	dump o.qcow2 $b >o.d; dump r.qcow2 $b >r.d
	same_file "after resize, bitmap $b as qemu's" o.d r.d
done

# --- compressed writes set bits too ---
qemu-img create -q -f qcow2 c.qcow2 64M; qemu-img bitmap --add c.qcow2 z
cp c.qcow2 rz.qcow2
qemu-img create -q -f raw d.raw 64M
qemu-io -f raw -c "write -P 7 3M 128k" d.raw >/dev/null
"$IMG" convert -n -c -f raw -O qcow2 d.raw c.qcow2
qemu-img convert -n -c -f raw -O qcow2 d.raw rz.qcow2
dump c.qcow2 z >o.d; dump rz.qcow2 z >r.d
same_file "compressed writes (convert -n -c) dirty the bitmap as qemu's" o.d r.d

# --- a crash while open read-write: in use, inconsistent (as qemu) ---
fresh
qemu-img bitmap --add r.qcow2 b1
qemu-img bitmap --add r.qcow2 b2
cp r.qcow2 o.qcow2
"$IO" -c "write 0 4k" -c flush -c "sigraise 9" o.qcow2 >/dev/null 2>&1
qemu-io -c "write 0 4k" -c flush -c "sigraise 9" r.qcow2 >/dev/null 2>&1
bitmaps_of o.qcow2 >o.bm; bitmaps_of r.qcow2 >r.bm
same_file "killed while open: in-use flags as qemu's" o.bm r.bm
for i in o r; do cp $i.qcow2 $i-keep.qcow2; done
pair "check reports it as qemu (nothing)" check @
pair "check -r all repairs as qemu" check -r all @
pair "clear an inconsistent bitmap" bitmap --clear @ b1
pair "merge from an inconsistent bitmap" bitmap --merge b2 @ b1
pair "resize with an inconsistent bitmap" resize @ 128M
"$IO" -c "write 1M 4k" o.qcow2 >/dev/null 2>&1
qemu-io -c "write 1M 4k" r.qcow2 >/dev/null 2>&1
bitmaps_of o.qcow2 >o.bm; bitmaps_of r.qcow2 >r.bm
same_file "writes leave inconsistent bitmaps in use" o.bm r.bm
pair "convert --bitmaps refuses inconsistent ones" convert --bitmaps -O qcow2 @ conv.qcow2
pair "remove an inconsistent bitmap" bitmap --remove @ b1
pair "remove the other" bitmap --remove @ b2
qemu-img check o.qcow2 >/dev/null 2>&1
tap_result $? "all removed: qemu-img check clean"

# --- convert --bitmaps ---
fresh
qemu-img bitmap --add r.qcow2 b0
qemu-img bitmap --add -g 128k --disable r.qcow2 b1
qemu-img bitmap --add r.qcow2 b2
qemu-io -c "write 0 64k" -c "write 20M 1k" r.qcow2 >/dev/null
cp r.qcow2 o.qcow2
rm -f oc.qcow2 rc.qcow2
"$IMG" convert --bitmaps -O qcow2 o.qcow2 oc.qcow2 >o.out 2>&1
qemu-img convert --bitmaps -O qcow2 r.qcow2 rc.qcow2 >r.out 2>&1
same_file "convert --bitmaps: output" o.out r.out
bitmaps_of oc.qcow2 >o.bm; bitmaps_of rc.qcow2 >r.bm
same_file "convert --bitmaps: the copies listed as qemu's, check clean" o.bm r.bm
for b in b0 b1 b2; do
	dump oc.qcow2 $b >o.d; dump rc.qcow2 $b >r.d
	same_file "convert --bitmaps: $b's bits copied" o.d r.d
done
cp rc.qcow2 n.qcow2
for i in o r; do cp n.qcow2 $i-n.qcow2; done
rm -f o.raw
compare_img "convert --bitmaps -n into an image that has them" convert --bitmaps -n -O qcow2 o.qcow2 o-n.qcow2
for args in "--bitmaps -O raw o.qcow2 x.raw" "--bitmaps -O qcow2 o.qcow2 other.qcow2 x.qcow2" \
	    "--bitmaps -O qcow2 d.raw x.qcow2" "--bitmaps -O qcow2 -o compat=0.10 o.qcow2 x.qcow2" \
	    "--skip-broken-bitmaps -O qcow2 o.qcow2 x.qcow2" \
	    "--bitmaps --skip-broken-bitmaps -O qcow2 o-keep.qcow2 x.qcow2"; do
	rm -f x.raw x.qcow2
	# shellcheck disable=SC2086
	"$IMG" convert $args >o.out 2>&1; echo "rc=$? $(ls x.* 2>/dev/null)" >>o.out
	rm -f x.raw x.qcow2
	# shellcheck disable=SC2086
	qemu-img convert $args >r.out 2>&1; echo "rc=$? $(ls x.* 2>/dev/null)" >>r.out
	mask o.out >o.m; mask r.out >r.m
	same_file "convert $args" o.m r.m
done

# --- measure ---
for args in "-O qcow2 o.qcow2" "-O qcow2 --output=json o.qcow2" "-O qcow2 -o cluster_size=512 o.qcow2" \
	    "-O qcow2 -o compat=0.10 o.qcow2" "-O raw o.qcow2" "-O qcow2 o-keep.qcow2" \
	    "-O qcow2 d.raw" "-O qcow2 -o cluster_size=2M o.qcow2"; do
	# shellcheck disable=SC2086
	compare_img "measure $args" measure $args
done

tap_end
