#!/bin/sh
# convert -c with compression_type=zlib, where clusters are deflated by zlib or by ISA-L's igzip
# (chosen per epoch of 256 clusters by sampling, formats/qcow2/compress.c):
# - window: 8 KiB clusters whose text repeats at distance 5120 (a 32 KiB-window deflate would
#   match it): every compressed cluster inflated by tests/tools/qcow2-deflate-check.py, which
#   asserts no match distance over 4096 and the source's bytes, and that igzip streams are there;
#   qemu-img check clean, qemu-img compare identical;
# - 64 MiB of text-like data (the bench's kind) with pattern, random and zero clusters among it:
#   igzip used, check clean, compare identical, qemu-io read -P of the pattern clusters, the
#   random clusters stored uncompressed exactly where qemu-img stores them, no more than 2%
#   larger than qemu-img's output, the same bytes with -m 1, -m 3, -m 16 and again; ours and
#   qemu-img's images read back by strata-img and strata-io (the read side inflates with igzip);
# - 48 MiB of executables (/usr/bin; three epochs, the last deflated by zlib with the shorter
#   search): check clean, compare identical, every 7th cluster inflated by the checker, no more
#   than 2% larger than qemu-img's output;
# - zstd of the executables and of the text: check clean, compare identical, within 2%.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }
CHECK="python3 $SRC_DIR/tests/tools/qcow2-deflate-check.py"

$CHECK --selftest >out.txt 2>&1
tap_result $? "the checker finds a 32 KiB-window stream" || sed 's/^/# /' out.txt

python3 - <<'PY'
import random
random.seed(14)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9)))
         for _ in range(5000)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += (' '.join(random.choice(words) for _ in range(12)) + '\n').encode()
    return bytes(out[:n])
# window: 768 clusters of 8 KiB (three epochs), each 5 KiB of text then its first 3 KiB again
with open('win.raw', 'wb') as f:
    for _ in range(768):
        a = text(5120)
        f.write(a + a[:3072])
# text: 64 MiB; clusters 600..603 a pattern (0x41 + i), 700..707 random, 800..815 zero
blk = text(8 << 20)
cs = 65536
img = bytearray(blk * 8)
for i in range(4):
    img[(600 + i) * cs:(601 + i) * cs] = bytes([0x41 + i]) * cs
for i in range(8):
    img[(700 + i) * cs:(701 + i) * cs] = random.randbytes(cs)
img[800 * cs:816 * cs] = bytes(16 * cs)
open('text.raw', 'wb').write(img)
PY

# window
"$IMG" convert -c -O qcow2 -o cluster_size=8192 win.raw w.qcow2 >err.txt 2>&1
tap_result $? "window: convert -c (8 KiB clusters)" || sed 's/^/# /' err.txt
$CHECK w.qcow2 win.raw >out.txt 2>&1
tap_result $? "window: every cluster inflates to the source, no distance over 4096" ||
	sed 's/^/# /' out.txt
sed 's/^/# /' out.txt
grep -Eq 'other [1-9][0-9]* maxdist' out.txt && grep -Eq 'streamed [1-9]' out.txt
tap_result $? "window: igzip streams among them, the farthest read by zlib with a 4 KiB window"
qemu-img check w.qcow2 >err.txt 2>&1
tap_result $? "window: qemu-img check clean" || sed 's/^/# /' err.txt
qemu-img compare win.raw w.qcow2 >err.txt 2>&1
tap_result $? "window: qemu-img compare: identical" || sed 's/^/# /' err.txt

# text
"$IMG" convert -c -O qcow2 text.raw a.qcow2 >err.txt 2>&1
tap_result $? "text: convert -c" || sed 's/^/# /' err.txt
qemu-img convert -c -O qcow2 text.raw q.qcow2
$CHECK a.qcow2 text.raw 11 >out.txt 2>&1
tap_result $? "text: every 11th cluster inflates to the source, no distance over 4096" ||
	sed 's/^/# /' out.txt
sed 's/^/# /' out.txt
grep -Eq 'other [1-9][0-9]* maxdist' out.txt
tap_result $? "text: igzip streams among them"
qemu-img check a.qcow2 >err.txt 2>&1
tap_result $? "text: qemu-img check clean" || sed 's/^/# /' err.txt
qemu-img compare text.raw a.qcow2 >err.txt 2>&1
tap_result $? "text: qemu-img compare: identical" || sed 's/^/# /' err.txt
qemu-io -r -c 'read -q -P 0x41 39321600 64k' -c 'read -q -P 0x42 39387136 64k' \
	-c 'read -q -P 0x43 39452672 64k' -c 'read -q -P 0x44 39518208 64k' \
	-c 'read -q -P 0 52428800 1M' a.qcow2 >err.txt 2>&1 && ! [ -s err.txt ]
tap_result $? "text: qemu-io read -P of the pattern and zero clusters" || sed 's/^/# /' err.txt
$CHECK --plain a.qcow2 >plain.a && $CHECK --plain q.qcow2 >plain.q
same_file "text: the random clusters stored uncompressed where qemu-img stores them" plain.a plain.q
[ "$(wc -l <plain.a)" = 8 ]
tap_result $? "text: 8 uncompressed clusters"
as=$(stat -c %s a.qcow2) qs=$(stat -c %s q.qcow2)
echo "# text: size ours $as, qemu-img $qs"
[ $((as * 100)) -le $((qs * 102)) ]
tap_result $? "text: no more than 2% larger than qemu-img's"
# the read side (igzip inflate, zlib when igzip does not decode a whole cluster): ours and
# qemu-img's images read back by strata-img and strata-io
for im in a q; do
	rm -f back.raw
	"$IMG" convert -O raw $im.qcow2 back.raw >err.txt 2>&1 && cmp back.raw text.raw >>err.txt 2>&1
	tap_result $? "text: strata-img reads $im.qcow2 back byte for byte" || sed 's/^/# /' err.txt
	"$IO" -r -c 'read -q -P 0x43 39452672 64k' -c 'read -q -P 0 52428800 1M' $im.qcow2 \
		>err.txt 2>&1 && ! [ -s err.txt ]
	tap_result $? "text: strata-io read -P of $im.qcow2" || sed 's/^/# /' err.txt
done
rm -f back.raw
"$IMG" convert -O raw w.qcow2 back.raw >err.txt 2>&1 && cmp back.raw win.raw >>err.txt 2>&1
tap_result $? "window: strata-img reads it back byte for byte" || sed 's/^/# /' err.txt
for run in "again" "-m 1" "-m 3" "-m 16"; do
	marg=""
	[ "$run" = again ] || marg="$run"
	rm -f b.qcow2
	# shellcheck disable=SC2086
	"$IMG" convert $marg -c -O qcow2 text.raw b.qcow2 >err.txt 2>&1 && cmp a.qcow2 b.qcow2 >>err.txt 2>&1
	tap_result $? "text: $run gives the same bytes" || sed 's/^/# /' err.txt
done

# executables
rm -f bin.raw
for f in $(find /usr/bin -maxdepth 1 -type f -size +100k | LC_ALL=C sort); do
	cat "$f" >>bin.raw
	[ "$(stat -c %s bin.raw)" -lt $((48 << 20)) ] || break
done
truncate -s 48M bin.raw
"$IMG" convert -c -O qcow2 bin.raw a.qcow2 >err.txt 2>&1
tap_result $? "executables: convert -c" || sed 's/^/# /' err.txt
qemu-img convert -c -O qcow2 bin.raw q.qcow2
qemu-img compare bin.raw a.qcow2 >err.txt 2>&1
tap_result $? "executables: qemu-img compare: identical" || sed 's/^/# /' err.txt
qemu-img check a.qcow2 >err.txt 2>&1
tap_result $? "executables: qemu-img check clean" || sed 's/^/# /' err.txt
$CHECK a.qcow2 bin.raw 7 >out.txt 2>&1
tap_result $? "executables: every 7th cluster inflates to the source, no distance over 4096" ||
	sed 's/^/# /' out.txt
sed 's/^/# /' out.txt
as=$(stat -c %s a.qcow2) qs=$(stat -c %s q.qcow2)
echo "# executables: size ours $as, qemu-img $qs"
[ $((as * 100)) -le $((qs * 102)) ]
tap_result $? "executables: no more than 2% larger than qemu-img's"

# zstd ("fast" matcher, compress.c): the same executables and the text, each read back by
# qemu-img (check clean, compare identical) and no more than 2% larger than qemu-img's output
for d in bin text; do
	rm -f a.qcow2 q.qcow2
	"$IMG" convert -c -O qcow2 -o compression_type=zstd $d.raw a.qcow2 >err.txt 2>&1
	tap_result $? "zstd $d: convert -c" || sed 's/^/# /' err.txt
	qemu-img convert -c -O qcow2 -o compression_type=zstd $d.raw q.qcow2
	qemu-img check a.qcow2 >err.txt 2>&1
	tap_result $? "zstd $d: qemu-img check clean" || sed 's/^/# /' err.txt
	qemu-img compare $d.raw a.qcow2 >err.txt 2>&1
	tap_result $? "zstd $d: qemu-img compare: identical" || sed 's/^/# /' err.txt
	as=$(stat -c %s a.qcow2) qs=$(stat -c %s q.qcow2)
	echo "# zstd $d: size ours $as, qemu-img $qs"
	[ $((as * 100)) -le $((qs * 102)) ]
	tap_result $? "zstd $d: no more than 2% larger than qemu-img's"
done
tap_end
