#!/bin/sh
# strata-io against qemu-io: each case runs the same arguments through both tools on twin raw
# images (same name, separate directories) and compares stdout, stderr, exit status and the
# resulting image bytes. Timing and rate figures are masked; the program name is mapped.
# Environment: STRATA_IO (absolute path), TEST_TMPDIR (fresh directory).
set -u
: "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
n=0
if ! command -v qemu-io >/dev/null 2>&1; then
	echo "ok 1 - io-compare # SKIP qemu-io not installed"
	exit 0
fi
cd "$TEST_TMPDIR" || exit 1
mkdir q s

# "64 KiB, 1 ops; 00.00 sec (1.2 MiB/sec and 3.4 ops/sec)" and "-C" lines lose their numbers.
mask() {
	sed -e 's/; [0-9:.]*\( sec\)* ([0-9.]* [A-Za-z]*\/sec and [0-9.]* ops\/sec)$/; TIME (RATE)/' \
	    -e 's/^\([0-9]*,[0-9]*\),[0-9:.]*,[0-9.]*,[0-9.]*$/\1,TIME,RATE,RATE/' \
	    -e 's/strata-io/qemu-io/g' "$1"
}

# Runs "$@" in directory $1 with tool $2; leaves out, err (masked) and the status in $1/.
run_in() {
	dir=$1 tool=$2
	shift 2
	(cd "$dir" && "$tool" "$@" >raw-out 2>raw-err <"${STDIN:-/dev/null}"; echo "status $?" >>raw-out)
	mask "$dir/raw-out" >"$dir/out"
	mask "$dir/raw-err" >"$dir/err"
}

# check NAME SIZE ARGS...: fresh twin images of SIZE, then both tools, then compare.
check() {
	name=$1 size=$2
	shift 2
	for d in q s; do
		rm -f "$d/img.raw"
		[ "$size" = - ] || truncate -s "$size" "$d/img.raw"
	done
	run_in q qemu-io "$@"
	run_in s "$STRATA_IO" "$@"
	n=$((n + 1))
	if cmp -s q/out s/out && cmp -s q/err s/err &&
	   { [ "$size" = - ] || cmp -s q/img.raw s/img.raw; }; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		diff q/out s/out | sed 's/^/# out: /' | head -n 20
		diff q/err s/err | sed 's/^/# err: /' | head -n 20
		[ "$size" = - ] || cmp q/img.raw s/img.raw 2>&1 | sed 's/^/# /'
	fi
}

check "write, read, pattern check, hex dump (probed raw)" 1M \
	-c 'write -P 0xab 0 64k' -c 'read -P 0xab 0 64k' -c 'read -P 0xac 0 64k' \
	-c 'read -v 0 40' -c 'read -P 0xab -v 65500 64' img.raw
check "out of range, zero length, length, info, map, alloc" 1M -f raw \
	-c 'read 1M 1' -c 'read 1048575 2' -c 'read 0 0' -c 'write 1M 512' -c length -c info \
	-c map -c 'alloc 0' -c 'alloc 0 128k' -c 'alloc 64k 64k' -c 'alloc 1048000 1000' \
	-c 'alloc 2M' img.raw
check "flush, discard, truncate, quiet read" 1M -f raw \
	-c flush -c 'discard 0 4k' -c 'discard -q 4k 4k' -c 'discard -C 8k 4k' -c 'truncate 2M' \
	-c length -c 'truncate -m falloc 3M' -c 'truncate -m full 3500k' -c 'truncate 1M' \
	-c length -c 'read -q 0 1' img.raw
check "command errors" 1M -f raw \
	-c 'read x 1' -c 'read 0 x' -c 'read 1' -c 'read -Z 0 1' -c foo -c 'read -v 0' \
	-c 'read 0 1 2' -c 'read -s 1 0 4' -c 'read -P 0 -s 2 -l 4 0 4' \
	-c 'read -P 0 -s 2 -l 2 0 4' -c 'read -l 5 0 10' -c 'read 0 3G' -c 'read -1 4' \
	-c 'discard 1M 1' -c 'discard 0 3G' -c 'truncate x' -c 'truncate -m bogus 1M' \
	-c 'truncate -m full x' -c 'alloc' -c 'alloc 0 1 2' -c 'length 1' img.raw
check "write flags and their conflicts" 1M -f raw \
	-c 'write -z -P 1 0 4' -c 'write -u 0 4' -c 'write -n 0 4' -c 'write -z -u 0 4k' \
	-c 'write -z 4k 4' -c 'write -z -n 8k 4' -c 'write -c 0 64k' -c 'write -f 64k 4' \
	-c 'write -q 0 4' -c 'write -C 0 4' -c 'read -C 0 4' -c 'write 0 3G' \
	-c 'write -z 0 3G' -c 'write -z 1M 1' -c 'write -b -z 0 512' -c 'write -f -c 0 512' \
	-c 'write -c 1 512' -c 'write -b 0 4' -c 'read -b 0 4' img.raw
printf 'Strata io test data: 0123456789 !@#$%%^&*()\n' >pattern.txt
: >empty.txt
check "write -s source file" 1M -f raw \
	-c 'write -s ../pattern.txt 0 100' -c 'read -v 0 100' -c 'write -s ../nonexist 0 4' \
	-c 'write -s ../q 0 4' -c 'write -s ../empty.txt 0 4' -c 'write -P 1 -s x 0 4' img.raw
LC_ALL=C awk 'BEGIN { for (i = 0; i < 256; i++) printf "%c", i }' >all.bin
if [ "$(wc -c <all.bin)" -eq 256 ]; then
	check "hex dump of every byte value" 1M -f raw \
		-c 'write -s ../all.bin 0 256' -c 'read -v 0 256' -c 'read -v 7 33' \
		-c 'readv -v 250 3 3' img.raw
fi
check "readv, writev" 1M -f raw \
	-c 'writev -P 3 0 1k 2k' -c 'readv -P 3 0 1k 2k' -c 'readv -v 0 8 8' \
	-c 'readv -P 4 0 1k' -c 'writev 1M 1' -c 'readv 0 3G' -c 'readv 0 2G 2G' -c 'readv 0' \
	-c 'writev -q 4k 1' -c 'readv -C 0 1' -c 'writev -Z 0 1' -c 'readv x 1' \
	-c 'writev -f 8k 512 512' img.raw
check "aio_read, aio_write, aio_flush" 1M -f raw \
	-c 'aio_write -P 5 0 4k' -c aio_flush -c 'aio_write -P 6 4k 4k 4k' -c aio_flush \
	-c 'aio_read -P 5 0 4k' -c aio_flush -c 'aio_read -P 7 0 4k' -c aio_flush \
	-c 'aio_read -v 0 16' -c aio_flush -c 'aio_read 2M 1' -c aio_flush \
	-c 'aio_read -q 0 1' -c 'aio_read -z 0 1' -c 'aio_read -i 0 1' -c 'aio_write -i 0 1' \
	-c 'aio_read' -c 'aio_read x 1' -c 'aio_read 0 x' -c 'aio_read -C 0 1' -c aio_flush \
	-c 'aio_write -z 16k 4k' -c aio_flush -c 'aio_write -z 0 4k 4k' -c 'aio_write -u 0 1' \
	-c 'aio_write -z -u 20k 4k' -c aio_flush img.raw
check "aio completion printed at aio_flush and at exit" 1M -f raw \
	-c 'aio_write -P 1 0 4k' -c 'write -Z' -c 'read -q 8k 1' -c length -c aio_flush \
	-c 'aio_read -P 1 0 4k' img.raw

sizes=""
for v in 0.5 1.5k 0x10k 0x1.8k 1e3 1k2 1.k 1. .5k 0x 1K 1m 1g 1t 1p 1e 8E 16E 7E \
	 0x7fffffffffffffff 0x8000000000000000 18446744073709551615 99999999999999999999 \
	 99999999999999999999k 1kB 1KiB +1 00 0X10 1.0000001k 1.9999b 0.0 1.5 010k 1.5e; do
	sizes="$sizes -c 'alloc $v'"
done
eval "check 'number syntax' 1M -f raw $sizes img.raw"
pats=""
for p in 0 1 255 256 -1 x 0x10 010 0xg 1x 077; do
	pats="$pats -c 'read -q -P $p 0 1'"
done
eval "check 'pattern bytes' 1M -f raw $pats img.raw"

helps="-c help"
for c in abort aio_flush aio_read aio_write alloc break close discard flush help info length \
	 map open quit read readv remove_break reopen resume sigraise sleep truncate wait_break \
	 write writev r w a c d f i l o q t '?' foo; do
	helps="$helps -c 'help $c'"
done
eval "check 'help' - $helps"
check "aliases, spacing, empty commands" 1M -f raw \
	-c '' -c '   ' -c '  read   0   1  ' -c 'r 0 1' -c 'w 0 1' -c len -c l -c i -c 'a 0' \
	-c 'd 0 1' -c f -c 't 1M' -c 'sleep 1' -c 'sleep x' -c 'sigraise 0' -c 'sigraise 99' \
	-c 'sigraise x' -c 'break a b' -c 'remove_break a' -c 'resume a' img.raw
check "read-only refusals" 1M -r -f raw \
	-c 'write 0 1' -c 'read 0 1' -c 'discard 0 1' -c 'truncate 1M' -c flush -c 'writev 0 1' \
	-c 'aio_write 0 1' -c 'write 1' img.raw
printf 'QFI\373' >magic
check "probed raw: block 0 restricted" 1M \
	-c 'write -s ../magic 0 4' -c 'read -v 0 16' -c 'write -s ../magic 512 4' \
	-c 'write -s ../magic 1 4' img.raw
check "open, close, quit" 1M \
	-c 'open -r img.raw' -c length -c close -c length -c 'open -o driver=raw img.raw' \
	-c 'write 0 1' -c 'open img.raw' -c 'open -x' -c 'open' -c 'open a b' -c quit -c length
check "reopen" 1M -f raw \
	-c 'reopen -r' -c 'write 0 1' -c 'reopen -w' -c 'write 0 1' -c 'reopen -r -w' \
	-c 'reopen -c none' -c 'reopen -c bogus' -c 'reopen -x' -c 'reopen -o foo=bar' \
	-c 'reopen a' -c 'reopen -c writeback -c unsafe' -c 'write -P 3 0 1k' \
	-c 'read -P 3 0 1k' -c 'reopen -r' -c 'aio_write 0 1' -c reopen -c 'read -P 3 0 1' img.raw
check "no image" - -c 'read 0 1' -c length -c 'help length'
printf 'read 0 1\nlength\nbogus\nwrite -P 7 0 1\n' >cmds
STDIN=../cmds check "commands from standard input" 1M -f raw img.raw
echo "1..$n"
