#!/bin/sh
# convert throughput: strata-img convert next to qemu-img convert on the same source, one run.
# Source: a 1 GiB qcow2 image, half of it data (pattern), the rest zero or unallocated.
# Also convert -c to qcow2 (zlib, zstd) of that image and of a 1 GiB compressible one (text-like
# data, about 2:1 with zlib): both tools with their default threads (ours: one codec worker per
# core), and ours with -m 1; the output sizes side by side.
# Prints seconds (best of 3) and the ratio strata/qemu (below 1.00: Strata is faster); for the
# compressible image also the CPU seconds (user+sys) of those best runs and their ratio, which
# a loaded host disturbs much less than the wall time.
# Usage: bench/convert.sh [workdir]   (not part of make check; run after `make`)
#        BENCH_ONLY=text bench/convert.sh   runs only the compressible-image part
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
[ "$BENCH_ONLY" = text ] || eval qemu-io $cmds src.qcow2

now() { date +%s.%N; }
# best CMD...: the best wall time of 3 runs; the CPU seconds of that run go to file best.cpu
best() {
	b=999999
	for i in 1 2 3; do
		rm -f out.img
		t0=$(now); /usr/bin/time -f '%U %S' -o run.cpu "$@" >/dev/null; t1=$(now)
		d=$(echo "$t0 $t1" | awk '{print $2 - $1}')
		if [ "$(echo "$d $b" | awk '{print ($1 < $2)}')" = 1 ]; then
			b=$d
			awk '{print $1 + $2}' run.cpu >best.cpu
		fi
	done
	echo "$b"
}
printf '%-28s %9s %9s %7s\n' "workload" "strata s" "qemu s" "ratio"
[ "$BENCH_ONLY" = text ] || for fmt in raw qcow2 vmdk vdi; do
	s=$(best "$S" convert -O $fmt src.qcow2 out.img)
	q=$(best qemu-img convert -O $fmt src.qcow2 out.img)
	printf '%-28s %9.3f %9.3f %7.2f\n' "qcow2 -> $fmt (1G, 50% data)" "$s" "$q" \
		"$(echo "$s $q" | awk '{print $1 / $2}')"
done
[ "$BENCH_ONLY" = text ] || for ct in zlib zstd; do
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
	sc=$(cat best.cpu)
	s1=$(best "$S" convert -m 1 -c -O qcow2 -o compression_type=$ct text.raw out.img)
	q=$(best qemu-img convert -c -O qcow2 -o compression_type=$ct text.raw out.img); qs=$(size)
	qc=$(cat best.cpu)
	printf '%-28s %9.3f %9.3f %7.2f  (-m 1: %.3f s %.2f; size %s vs %s, %.3f)\n' \
		"text 1G -> qcow2 -c $ct" "$s" "$q" "$(echo "$s $q" | awk '{print $1 / $2}')" \
		"$s1" "$(echo "$s1 $q" | awk '{print $1 / $2}')" "$ss" "$qs" \
		"$(echo "$ss $qs" | awk '{print $1 / $2}')"
	printf '%-28s %9.3f %9.3f %7.2f  (CPU seconds, user+sys)\n' "  cpu" "$sc" "$qc" \
		"$(echo "$sc $qc" | awk '{print $1 / $2}')"
done
rm -f text.raw out.img run.cpu best.cpu
