#!/bin/sh
# convert throughput: strata-img convert next to qemu-img convert on the same source, one run.
# Source: a 1 GiB qcow2 image, half of it data (pattern), the rest zero or unallocated.
# Also convert -c to qcow2 (zlib, zstd) of that image and of a 1 GiB compressible one (text-like
# data, about 2:1 with zlib): both tools with their default threads (ours: one codec worker per
# core), and ours with -m 1; the output sizes side by side.
# Prints seconds (best of 3) and the ratio strata/qemu (below 1.00: Strata is faster).
# Usage: bench/convert.sh [workdir]   (not part of make check; run after `make`)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
S=${STRATA_IMG:-$top/build/rel/strata-img}
dir=${1:-$(mktemp -d)}
cd "$dir"
[ -x "$S" ] || { echo "build first: make" >&2; exit 1; }
qemu-img create -q -f qcow2 src.qcow2 1G
cmds=""
i=0
while [ $i -lt 512 ]; do
	cmds="$cmds -c 'write -q -P $((i % 250 + 1)) $((i * 2))M 1M'"
	i=$((i + 1))
done
eval qemu-io $cmds src.qcow2

now() { date +%s.%N; }
best() {
	b=999999
	for i in 1 2 3; do
		rm -f out.img
		t0=$(now); "$@" >/dev/null; t1=$(now)
		b=$(echo "$t0 $t1 $b" | awk '{d = $2 - $1; print (d < $3) ? d : $3}')
	done
	echo "$b"
}
printf '%-28s %9s %9s %7s\n' "workload" "strata s" "qemu s" "ratio"
for fmt in raw qcow2 vmdk vdi; do
	s=$(best "$S" convert -O $fmt src.qcow2 out.img)
	q=$(best qemu-img convert -O $fmt src.qcow2 out.img)
	printf '%-28s %9.3f %9.3f %7.2f\n' "qcow2 -> $fmt (1G, 50% data)" "$s" "$q" \
		"$(echo "$s $q" | awk '{print $1 / $2}')"
done
for ct in zlib zstd; do
	s=$(best "$S" convert -c -O qcow2 -o compression_type=$ct src.qcow2 out.img)
	q=$(best qemu-img convert -c -O qcow2 -o compression_type=$ct src.qcow2 out.img)
	printf '%-28s %9.3f %9.3f %7.2f\n' "qcow2 -> qcow2 -c $ct" "$s" "$q" \
		"$(echo "$s $q" | awk '{print $1 / $2}')"
done
rm -f src.qcow2 out.img

# 1 GiB of compressible text: 16 MiB of random words repeated (each cluster compresses alone)
python3 - <<'PY'
import random
random.seed(1)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9)))
         for _ in range(5000)]
parts, n = [], 0
while n < 16 << 20:
    line = ' '.join(random.choice(words) for _ in range(12)) + '\n'
    parts.append(line)
    n += len(line)
blk = ''.join(parts).encode()[:16 << 20]
with open('text.raw', 'wb') as f:
    for _ in range(64):
        f.write(blk)
PY
size() { stat -c %s out.img; }
for ct in zlib zstd; do
	s=$(best "$S" convert -c -O qcow2 -o compression_type=$ct text.raw out.img); ss=$(size)
	s1=$(best "$S" convert -m 1 -c -O qcow2 -o compression_type=$ct text.raw out.img)
	q=$(best qemu-img convert -c -O qcow2 -o compression_type=$ct text.raw out.img); qs=$(size)
	printf '%-28s %9.3f %9.3f %7.2f  (-m 1: %.3f s %.2f; size %s vs %s, %.3f)\n' \
		"text 1G -> qcow2 -c $ct" "$s" "$q" "$(echo "$s $q" | awk '{print $1 / $2}')" \
		"$s1" "$(echo "$s1 $q" | awk '{print $1 / $2}')" "$ss" "$qs" \
		"$(echo "$ss $qs" | awk '{print $1 / $2}')"
done
rm -f text.raw out.img
