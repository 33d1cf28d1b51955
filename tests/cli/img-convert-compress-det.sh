#!/bin/sh
# convert -c of a multi-cluster compressible image (40 MiB of text-like data, zlib and zstd):
# the output does not depend on thread scheduling (two default runs, -m 1 and -m 16 give the
# same bytes), `qemu-img check` is clean, `qemu-img compare` finds it identical to the source,
# and it is no more than 2% larger than qemu-img's.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

python3 - <<'PY'
import random
random.seed(11)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9)))
         for _ in range(4000)]
out = bytearray()
while len(out) < (40 << 20):
    out += (' '.join(random.choice(words) for _ in range(12)) + '\n').encode()
del out[40 << 20:]
out[5 << 20:6 << 20] = bytes(1 << 20)     # zero clusters among the data
open('src.raw', 'wb').write(out)
PY

for ct in zlib zstd; do
	qemu-img convert -c -O qcow2 -o compression_type=$ct src.raw q.qcow2
	"$IMG" convert -c -O qcow2 -o compression_type=$ct src.raw a.qcow2 >err.txt 2>&1
	tap_result $? "$ct: convert -c" || sed 's/^/# /' err.txt
	qemu-img check a.qcow2 >err.txt 2>&1
	tap_result $? "$ct: qemu-img check clean" || sed 's/^/# /' err.txt
	qemu-img compare src.raw a.qcow2 >err.txt 2>&1
	tap_result $? "$ct: qemu-img compare: identical to the source" || sed 's/^/# /' err.txt
	as=$(stat -c %s a.qcow2) qs=$(stat -c %s q.qcow2)
	echo "# $ct: size ours $as, qemu-img $qs"
	[ $((as * 100)) -le $((qs * 102)) ]
	tap_result $? "$ct: no more than 2% larger than qemu-img's"
	for run in "again" "-m 1" "-m 16"; do
		marg=""
		[ "$run" = again ] || marg="$run"
		rm -f b.qcow2
		# shellcheck disable=SC2086
		"$IMG" convert $marg -c -O qcow2 -o compression_type=$ct src.raw b.qcow2 >err.txt 2>&1 &&
			cmp a.qcow2 b.qcow2 >>err.txt 2>&1
		tap_result $? "$ct: $run gives the same bytes" || sed 's/^/# /' err.txt
	done
done
tap_end
