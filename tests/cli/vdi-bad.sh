#!/bin/sh
# vdi images that are damaged or come from VirtualBox:
#  - check on damaged block maps: the same messages, counts and exit status as qemu-img check;
#  - bad headers: qemu-io's open error where qemu has one; a clear error (and no crash) for the
#    damage qemu lets through (overlapping areas, truncated files, odd header sizes);
#  - reads of blocks outside the image fail cleanly;
#  - a VirtualBox-style image (its pre-header text, header size 0x190, data at 1 MiB,
#    discarded blocks, out-of-order map) reads and writes the same as with qemu.
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
same() { # name a b
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		printf '%s\n---\n%s\n' "$2" "$3" | sed 's/^/# /'
	fi
}

# Little-endian 32-bit value $3 into file $1 at byte offset $2.
put32() {
	v=$3
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) $((v >> 8 & 255)) \
		$((v >> 16 & 255)) $((v >> 24 & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
put64() { put32 "$1" "$2" $(($3 & 0xffffffff)); put32 "$1" $(($2 + 4)) $(($3 >> 32 & 0xffffffff)); }
norm() { sed -e 's/^qemu-img: /TOOL: /' -e 's/^strata-img: /TOOL: /' -e 's/^qemu-io: /TOOL: /' \
	-e 's/^strata-io: /TOOL: /'; }
crashed() { [ "$1" -ge 128 ] || grep -q -e Sanitizer -e 'runtime error' "$2"; }

BMAP=512

# --- check ---------------------------------------------------------------------------------
qemu-img create -q -f vdi -o static=on "$T/base.vdi" 5M
mk() { cp "$T/base.vdi" "$T/$1.vdi"; }
mk clean
mk big;    put32 "$T/big.vdi" $((BMAP + 4)) 7; put32 "$T/big.vdi" $((BMAP + 8)) 1
mk count;  put32 "$T/count.vdi" $((0x184)) 9
mk dup;    put32 "$T/dup.vdi" $((BMAP + 4)) 0; put32 "$T/dup.vdi" $((BMAP + 8)) 0xfffffffe
mk edge;   put32 "$T/edge.vdi" $((BMAP + 16)) 5
mk dup2;   put32 "$T/dup2.vdi" $BMAP 3
for c in clean big count dup edge dup2; do
	fmts=human
	case $c in clean | big) fmts="human json" ;; esac
	for fmt in $fmts; do
		(cd "$T" && qemu-img check --output=$fmt $c.vdi >q.out 2>q.err; echo "exit $?" >>q.out)
		(cd "$T" && "$STRATA_IMG" check --output=$fmt $c.vdi >s.out 2>s.err; echo "exit $?" >>s.out)
		same "check $fmt $c: same stdout and status" "$(cat "$T/q.out")" "$(cat "$T/s.out")"
		same "check $fmt $c: same messages" "$(norm <"$T/q.err")" "$(norm <"$T/s.err")"
	done
done
a=$(cd "$T" && qemu-img check -r all big.vdi 2>&1; echo "exit $?")
b=$(cd "$T" && "$STRATA_IMG" check -r all big.vdi 2>&1; echo "exit $?")
same "check -r all: not supported, as qemu" "$(echo "$a" | norm)" "$(echo "$b" | norm)"

# Reads of entries outside the image: a clean error, and the rest of the image still reads.
"$STRATA_IO" -r -c 'read 1048576 512' "$T/big.vdi" >"$T/o" 2>&1
rc=$?
[ $rc != 0 ] && ! crashed $rc "$T/o" && grep -q 'Input/output error' "$T/o"
check $? "read of a block index past the image fails with EIO ($(head -c 200 "$T/o"))"
"$STRATA_IO" -r -c 'read -P 0 0 1048576' -c 'read -P 0 2097152 3145728' "$T/big.vdi" >"$T/o" 2>&1
check $? "blocks with good entries still read"
"$STRATA_IO" -c 'write -P 1 1048576 512' "$T/big.vdi" >"$T/o" 2>&1
rc=$?
[ $rc != 0 ] && ! crashed $rc "$T/o"
check $? "write to a block index past the image fails cleanly"

# --- bad headers qemu refuses: the same error --------------------------------------------
qemu-img create -q -f vdi "$T/small.vdi" 3M
bad() { # name offset value [64]
	cp "$T/small.vdi" "$T/$1.vdi"
	if [ "${4:-}" = 64 ]; then put64 "$T/$1.vdi" $(($2)) $(($3)); else put32 "$T/$1.vdi" $(($2)) $(($3)); fi
}
bad sig 0x40 0x12345678
bad version 0x44 0x00010002
bad bmapalign 0x154 0x201
bad dataalign 0x158 0x401
bad sector 0x168 4096
bad room 0x170 0x10000000000 64
bad huge 0x170 0x7fffffffffffffff 64
bad blocksize 0x178 0x200000
bad blocks 0x180 0x20000000
bad link 0x1a8 5
bad parent 0x1bc 5
for c in sig version bmapalign dataalign sector room huge blocksize blocks link parent; do
	a=$(cd "$T" && qemu-io -f vdi -c 'read 0 512' $c.vdi 2>&1 | norm; echo "exit $?")
	b=$(cd "$T" && "$STRATA_IO" -f vdi -c 'read 0 512' $c.vdi 2>&1 | norm; echo "exit $?")
	same "bad header '$c': qemu-io's error" "$a" "$b"
done

# Odd disk sizes (VBoxManage convertfromraw) are rounded up to a sector, as by qemu.
bad odd 0x170 1000
for cmd in "info" "info --output=json"; do
	# shellcheck disable=SC2086
	a=$(cd "$T" && qemu-img $cmd odd.vdi 2>&1; echo "exit $?")
	# shellcheck disable=SC2086
	b=$(cd "$T" && "$STRATA_IMG" $cmd odd.vdi 2>&1; echo "exit $?")
	same "odd disk size: $cmd as qemu-img" "$a" "$b"
done

# --- damage qemu lets through: a clear error, no crash ----------------------------------------
bad bmapzero 0x154 0
bad hdrsize 0x48 0x10000
bad type 0x4c 3
bad extra 0x17c 512
bad dataover 0x158 0x200
bad bmapfar 0x154 0x100000
bad bmapfar2 0x154 0xfffffe00
bad mapcut 0x154 0x100000; put32 "$T/mapcut.vdi" $((0x158)) $((0x100400))
cp "$T/small.vdi" "$T/short.vdi"; truncate -s 300 "$T/short.vdi"
cp "$T/small.vdi" "$T/shortmap.vdi"; truncate -s 514 "$T/shortmap.vdi"
for c in bmapzero:overlaps hdrsize:"header size" type:"image type" extra:"block extra" \
	dataover:overlaps bmapfar:overlaps bmapfar2:overlaps mapcut:truncated short:truncated \
	shortmap:truncated; do
	name=${c%%:*}
	want=${c#*:}
	tools="$STRATA_IO -c info"
	case $name in bmapzero | short | mapcut) tools="$tools|$STRATA_IMG check" ;; esac
	IFS='|'
	# shellcheck disable=SC2086
	set -- $tools
	unset IFS
	for tool in "$@"; do
		# shellcheck disable=SC2086
		$tool "$T/$name.vdi" >"$T/o" 2>&1
		rc=$?
		[ $rc != 0 ] && ! crashed $rc "$T/o" && grep -q "$want" "$T/o"
		check $? "damaged '$name': ${tool##*/} fails with a clear error ($(head -c 150 "$T/o"))"
	done
done

# A data block that starts past the end of the file.
qemu-img create -q -f vdi -o static=on "$T/cut.vdi" 4M
truncate -s $((1024 + 2 * 1048576)) "$T/cut.vdi"
"$STRATA_IO" -r -c 'read 3145728 512' "$T/cut.vdi" >"$T/o" 2>&1
rc=$?
[ $rc != 0 ] && ! crashed $rc "$T/o"
check $? "block past the end of a truncated file: read fails cleanly"
"$STRATA_IO" -r -c 'read -P 0 0 2097152' "$T/cut.vdi" >"$T/o" 2>&1
check $? "truncated file: blocks inside it still read"

# --- VirtualBox-style image -----------------------------------------------------------------
V=$T/vbox.vdi
qemu-img create -q -f vdi "$V" 4M
printf '<<< Oracle VM VirtualBox Disk Image >>>\n' | dd of="$V" conv=notrunc 2>/dev/null
put32 "$V" $((0x48)) $((0x190))
put32 "$V" $((0x158)) $((0x100000))          # data at 1 MiB
put32 "$V" $((0x184)) 2
put32 "$V" $((0x1c8)) 8; put32 "$V" $((0x1cc)) 16; put32 "$V" $((0x1d0)) 63; put32 "$V" $((0x1d4)) 512
put32 "$V" $((0x198)) 0x12345678              # "modify" UUID
put32 "$V" $BMAP 1; put32 "$V" $((BMAP + 4)) 0xfffffffe; put32 "$V" $((BMAP + 8)) 0
truncate -s $((3 * 1048576)) "$V"
qemu-io -f raw -c 'write -P 0x32 1048576 1048576' -c 'write -P 0x31 2097152 1048576' \
	-c 'write -P 0x3a 2097152 7' "$V" >/dev/null
cp "$V" "$T/vbox-q.vdi"
a=$(qemu-io -r -c 'read -v 0 4194304' "$V" 2>&1 | grep -v ops/sec | cksum)
b=$("$STRATA_IO" -r -c 'read -v 0 4194304' "$V" 2>&1 | grep -v ops/sec | cksum)
same "VirtualBox-style image reads as with qemu-io" "$a" "$b"
for cmd in "info" "info --output=json" "check"; do
	# shellcheck disable=SC2086
	a=$(cd "$T" && qemu-img $cmd vbox.vdi 2>&1; echo "exit $?")
	# shellcheck disable=SC2086
	b=$(cd "$T" && "$STRATA_IMG" $cmd vbox.vdi 2>&1; echo "exit $?")
	same "VirtualBox-style image: $cmd as qemu-img" "$a" "$b"
done
io() { tool=$1; shift; "$tool" -c 'write -P 0x41 1048576 4096' -c 'write -P 0x42 3145728 1048576' \
	-c 'write -P 0x43 100 100' "$@"; }
io "$STRATA_IO" "$V" >"$T/o" 2>&1
check $? "VirtualBox-style image: strata-io writes into discarded and unallocated blocks"
io qemu-io "$T/vbox-q.vdi" >/dev/null 2>&1
qemu-img check "$V" >/dev/null 2>&1
check $? "VirtualBox-style image after our writes: qemu-img check passes"
cmp "$V" "$T/vbox-q.vdi" >/dev/null
check $? "VirtualBox-style image after the same writes: the same file as qemu's"
# A VirtualBox-style fixed (static) image: type 2, data at 1 MiB, every block mapped.
F=$T/vbox-fixed.vdi
qemu-img create -q -f vdi -o static=on "$F" 2M
printf '<<< Oracle VM VirtualBox Disk Image >>>\n' | dd of="$F" conv=notrunc 2>/dev/null
put32 "$F" $((0x48)) $((0x190))
put32 "$F" $((0x158)) $((0x100000))
truncate -s $((3 * 1048576)) "$F"
qemu-io -f raw -c 'write -P 0x61 1048576 1048576' -c 'write -P 0x62 2097152 1048576' "$F" >/dev/null
cp "$F" "$T/vbox-fixed-q.vdi"
a=$(qemu-io -r -c 'read -v 0 2097152' "$F" 2>&1 | grep -v ops/sec | cksum)
b=$("$STRATA_IO" -r -c 'read -v 0 2097152' "$F" 2>&1 | grep -v ops/sec | cksum)
same "VirtualBox-style fixed image reads as with qemu-io" "$a" "$b"
"$STRATA_IO" -c 'write -P 0x63 1048000 1000' "$F" >/dev/null 2>&1
qemu-io -c 'write -P 0x63 1048000 1000' "$T/vbox-fixed-q.vdi" >/dev/null 2>&1
cmp "$F" "$T/vbox-fixed-q.vdi" >/dev/null && qemu-img check "$F" >/dev/null 2>&1
check $? "VirtualBox-style fixed image: written in place as by qemu, check passes"
echo "1..$n"
