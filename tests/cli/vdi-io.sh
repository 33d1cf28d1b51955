#!/bin/sh
# vdi data path both ways with qemu 7.2:
#  - images made by strata-img (dynamic, static) and written by strata-io pass qemu-img check
#    and qemu-img compare equal to a raw reference written by qemu-io with the same commands;
#  - written like qemu (no zero-writes to unallocated blocks) they are the same bytes as
#    qemu's, but for the two random UUIDs: same block allocation order, map and count;
#  - images made and written by qemu-img / qemu-io read byte-identical through strata-io.
for t in qemu-img qemu-io; do
	command -v $t >/dev/null 2>&1 || { echo "1..0 # SKIP $t not installed"; exit 77; }
done
: "${STRATA_IMG:?}" "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
set -u
T=$TEST_TMPDIR
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }

# Runs qemu-io-style commands, one per line of $2, on image $3 with tool $1 (extra args after).
io_script() {
	tool=$1 cmds=$2 img=$3
	shift 3
	set --
	while IFS= read -r c; do
		[ -n "$c" ] && set -- "$@" -c "$c"
	done <<EOF
$cmds
EOF
	"$tool" "$@" "$img"
}

# Output of a command list with the timing lines removed.
io_out() { io_script "$@" 2>&1 | grep -v -e 'ops/sec' ; }

diff_but_uuids() {
	cmp -l "$1" "$2" 2>&1 | awk '$1 ~ /^[0-9]+$/ && ($1 < 393 || $1 > 424) { bad++ } /EOF/ { bad++ }
		END { exit bad ? 1 : 0 }'
}

# Writes that qemu and we lay out identically: partial, unaligned, across block boundaries,
# whole blocks, zeroes inside allocated blocks, vectored and asynchronous writes.
W_SAME='write -P 0xaa 1048576 4096
write -P 0xbb 0 512
write -P 0xcc 5242873 100
write -z 5242880 4096
aio_write -P 0xdd 6291456 65536
aio_flush
writev -P 0xee 7340035 100 200
write -P 0x11 2097152 1048576
write -P 0x22 1048575 2
write -z 1048576 512
flush'
# Plus zero-writes to unallocated blocks (we allocate nothing, qemu allocates zeros).
W_ALL="$W_SAME
write -z 3145728 1048576
write -z 4194304 1000"
W_STATIC='write -P 0xaa 1048576 4096
write -P 0xbb 0 512
write -P 0xcc 1048570 100
write -z 1048576 512
write -z 2097152 1048576
writev -P 0xee 2097155 100 200
flush'

# --- strata writes, qemu checks -------------------------------------------------------------
"$STRATA_IMG" create -q -f vdi "$T/s-dyn.vdi" 8M
"$STRATA_IMG" create -q -f vdi -o static=on "$T/s-st.vdi" 3M
qemu-img create -q -f raw "$T/ref-dyn.raw" 8M
qemu-img create -q -f raw "$T/ref-st.raw" 3M
io_script "$STRATA_IO" "$W_ALL" "$T/s-dyn.vdi" >"$T/out" 2>&1
check $? "strata-io writes a dynamic image"
io_script qemu-io "$W_ALL" "$T/ref-dyn.raw" -f raw >/dev/null 2>&1
io_script "$STRATA_IO" "$W_STATIC" "$T/s-st.vdi" >"$T/out" 2>&1
check $? "strata-io writes a static image"
io_script qemu-io "$W_STATIC" "$T/ref-st.raw" -f raw >/dev/null 2>&1
for k in dyn st; do
	out=$(qemu-img check "$T/s-$k.vdi" 2>&1)
	rc=$?
	[ $rc = 0 ] && [ "$out" = "No errors were found on the image." ]
	check $? "qemu-img check passes on strata's $k image ($rc: $out)"
	out=$(qemu-img compare "$T/s-$k.vdi" "$T/ref-$k.raw" 2>&1)
	check $? "qemu-img compare: strata's $k image equals the raw reference ($out)"
done
a=$(qemu-img info --output=json "$T/s-st.vdi" | grep -v actual-size)
b=$(qemu-img info --output=json "$T/ref-st.raw" | grep -c '"virtual-size": 3145728')
[ "$b" = 1 ] && echo "$a" | grep -q '"virtual-size": 3145728'
check $? "static image keeps its size"

# Same writes through both tools on their own images: same bytes but for the UUIDs.
qemu-img create -q -f vdi "$T/q-same.vdi" 8M
"$STRATA_IMG" create -q -f vdi "$T/s-same.vdi" 8M
io_script qemu-io "$W_SAME" "$T/q-same.vdi" >/dev/null 2>&1
io_script "$STRATA_IO" "$W_SAME" "$T/s-same.vdi" >/dev/null 2>&1
diff_but_uuids "$T/q-same.vdi" "$T/s-same.vdi"
check $? "same writes: the same file as qemu's (block map order, count, data)"
a=$(qemu-img map --output=json "$T/q-same.vdi" | sed 's/q-same/X/')
b=$(qemu-img map --output=json "$T/s-same.vdi" | sed 's/s-same/X/')
[ "$a" = "$b" ]
check $? "same writes: the same qemu-img map"

# Discard: qemu keeps vdi blocks allocated, so do we; data stays as written.
D='discard 1048576 1048576
write -P 0x77 1049000 10
discard 0 8388608
flush'
io_script qemu-io "$D" "$T/q-same.vdi" >/dev/null 2>&1
io_script "$STRATA_IO" "$D" "$T/s-same.vdi" >"$T/out" 2>&1
check $? "strata-io discard succeeds"
diff_but_uuids "$T/q-same.vdi" "$T/s-same.vdi"
check $? "discard: the same file as qemu's afterwards"
qemu-img compare "$T/q-same.vdi" "$T/s-same.vdi" >/dev/null 2>&1
check $? "discard: qemu-img compare equal"

# --- qemu writes, strata reads --------------------------------------------------------------
qemu-img create -q -f vdi "$T/q-dyn.vdi" 8M
qemu-img create -q -f vdi -o static=on "$T/q-st.vdi" 3M
io_script qemu-io "$W_ALL" "$T/q-dyn.vdi" >/dev/null 2>&1
io_script qemu-io "$W_STATIC" "$T/q-st.vdi" >/dev/null 2>&1
for k in dyn:8388608 st:3145728; do
	img=$T/q-${k%%:*}.vdi
	size=${k#*:}
	a=$(qemu-io -r -c "read -v 0 $size" "$img" 2>&1 | grep -v ops/sec | cksum)
	b=$("$STRATA_IO" -r -c "read -v 0 $size" "$img" 2>&1 | grep -v ops/sec | cksum)
	[ "$a" = "$b" ]
	check $? "qemu's ${k%%:*} image reads byte-identical through strata-io"
	a=$(io_out qemu-io 'map' "$img" -r)
	b=$(io_out "$STRATA_IO" 'map' "$img" -r)
	[ "$a" = "$b" ]
	check $? "qemu's ${k%%:*} image: same qemu-io map"
done
R='read -P 0xbb 0 512
read -P 0 512 1048063
read -P 0x22 1048575 1
read -P 0 1048576 512
read -P 0xaa 1049088 3584
read -P 0x11 2097152 1048576
read -P 0 3145728 2097145
read -P 0xcc 5242873 7
read -P 0 5242880 4096
read -P 0xdd 6291456 65536
read -P 0xee 7340035 300
read -P 0 7340335 1048273'
a=$(io_out qemu-io "$R" "$T/q-dyn.vdi" -r)
b=$(io_out "$STRATA_IO" "$R" "$T/q-dyn.vdi" -r)
[ "$a" = "$b" ] && ! echo "$b" | grep -q -i -e fail -e mismatch
check $? "pattern reads of qemu's image agree with qemu-io"

# Interleaved: qemu writes, we write more, qemu reads and checks, and back.
io_script "$STRATA_IO" 'write -P 0x66 4194304 1000
write -P 0x67 7000000 1388608' "$T/q-dyn.vdi" >/dev/null 2>&1
io_script qemu-io 'write -P 0x66 4194304 1000
write -P 0x67 7000000 1388608' "$T/ref-dyn.raw" -f raw >/dev/null 2>&1
qemu-img check "$T/q-dyn.vdi" >/dev/null 2>&1
check $? "qemu's image written by strata-io passes qemu-img check"
qemu-img compare "$T/q-dyn.vdi" "$T/ref-dyn.raw" >/dev/null 2>&1
check $? "qemu's image written by strata-io equals the raw reference"
# A large sparse image: blocks far apart, a 4 MiB block map, offsets past 2^32 and 2^40 - 1.
"$STRATA_IMG" create -q -f vdi "$T/big.vdi" 1T
io_script "$STRATA_IO" 'write -P 0x5c 1099511623680 4096
write -P 0x5d 4294967295 2
write -P 0x5e 549755813888 1048576' "$T/big.vdi" >"$T/out" 2>&1
check $? "1 TiB image: strata-io writes near the end and past 4 GiB"
qemu-img check "$T/big.vdi" >/dev/null 2>&1
check $? "1 TiB image: qemu-img check passes"
a=$(io_out qemu-io 'read -P 0x5c 1099511623680 4096
read -P 0 1099511619584 4096
read -P 0x5d 4294967295 2
read -P 0x5e 549755813888 1048576
read -P 0 0 1048576' "$T/big.vdi" -r)
echo "$a" | grep -q -i -e fail -e error
[ $? = 1 ] && [ "$(stat -c %s "$T/big.vdi")" = $((512 + 4194304 + 4 * 1048576)) ]
check $? "1 TiB image: qemu-io reads our data, file is header + map + four blocks"

# cache=none (O_DIRECT): unaligned requests and metadata go through aligned sectors; the
# result is qemu's, byte for byte (same starting file, so same UUIDs).
qemu-img create -q -f vdi "$T/dio-q.vdi" 6M
cp "$T/dio-q.vdi" "$T/dio-s.vdi"
DIO='write -P 1 0 100
write -P 2 2097000 4096
write -P 3 4194304 7
aio_write -P 4 5000000 70000
aio_flush
write -z 100 50
flush'
io_script qemu-io "$DIO" "$T/dio-q.vdi" -t none >/dev/null 2>&1
io_script "$STRATA_IO" "$DIO" "$T/dio-s.vdi" -f vdi -t none >"$T/out" 2>&1
check $? "strata-io -t none writes"
cmp "$T/dio-q.vdi" "$T/dio-s.vdi" >/dev/null
check $? "-t none: the same file as qemu-io's"
a=$(io_out qemu-io 'read -v 2096990 130' "$T/dio-q.vdi" -r -t none)
b=$(io_out "$STRATA_IO" 'read -v 2096990 130' "$T/dio-q.vdi" -f vdi -r -t none)
[ "$a" = "$b" ]
check $? "-t none: unaligned read as qemu-io's"

# convert to vdi (dynamic and static) gives qemu-img convert's file; and back to raw.
qemu-img create -q -f raw "$T/src.raw" 5M
qemu-io -f raw -c 'write -P 0x12 100 5000' -c 'write -P 0x34 3145728 1048576' "$T/src.raw" >/dev/null
for o in static=off static=on; do
	qemu-img convert -O vdi -o $o "$T/src.raw" "$T/cq.vdi"
	"$STRATA_IMG" convert -O vdi -o $o "$T/src.raw" "$T/cs.vdi"
	diff_but_uuids "$T/cq.vdi" "$T/cs.vdi"
	check $? "convert -O vdi -o $o: qemu-img convert's file but for the UUIDs"
done
"$STRATA_IMG" convert -O raw "$T/q-dyn.vdi" "$T/back.raw"
qemu-img convert -O raw "$T/q-dyn.vdi" "$T/back-q.raw"
cmp "$T/back.raw" "$T/back-q.raw" >/dev/null
check $? "convert of qemu's vdi to raw: the same bytes as qemu-img convert"

# map (JSON; human where no extent is zero-and-data) as qemu-img's, on images from both tools.
for img in q-dyn s-dyn q-same q-st s-st; do
	outs=json
	case $img in *-st) ;; *) outs="json human" ;; esac
	for o in $outs; do
		a=$(cd "$T" && qemu-img map --output=$o $img.vdi 2>&1)
		b=$(cd "$T" && "$STRATA_IMG" map --output=$o $img.vdi 2>&1)
		[ "$a" = "$b" ]
		check $? "map --output=$o of $img as qemu-img's"
	done
done
echo "1..$n"
