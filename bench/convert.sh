#!/bin/sh
# convert throughput: strata-img convert next to qemu-img convert on the same source, one run.
# Source: a 1 GiB qcow2 image, half of it data (pattern), the rest zero or unallocated.
# Also convert -c to qcow2 (zlib, zstd) of that image and of a 1 GiB compressible one (text-like
# data, about 2:1 with zlib) and of 256 MiB of the host's binaries: both tools with their default threads (ours: one codec worker per
# core), and ours with -m 1; the output sizes side by side.
# Runs alternate (ours, qemu-img, ours -m 1, ...; BENCH_RUNS of each, default 5) so that a
# change of load hits both tools alike; prints the median seconds and the ratio strata/qemu
# (below 1.00: Strata is faster), and for the compressible image the median CPU seconds
# (user+sys), which a loaded host disturbs much less than the wall time, the median output
# sizes and each run's wall time. The load average is printed before and after.
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
RUNS=${BENCH_RUNS:-5}
# timed NAME CMD...: one run; its wall seconds are appended to NAME.t, its CPU seconds
# (user+sys) to NAME.c, the output's size to NAME.s
timed() {
	n=$1
	shift
	rm -f out.img
	t0=$(now); /usr/bin/time -f '%U %S' -o run.cpu "$@" >/dev/null; t1=$(now)
	echo "$t0 $t1" | awk '{print $2 - $1}' >>"$n.t"
	awk '{print $1 + $2}' run.cpu >>"$n.c"
	stat -c %s out.img >>"$n.s"
}
# med FILE: the median of the numbers in FILE
med() { sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
echo "load before: $(uptime | sed 's/.*load average: //')  (medians of $RUNS alternating runs)"
printf '%-28s %9s %9s %7s\n' "workload" "strata s" "qemu s" "ratio"
[ "$BENCH_ONLY" = text ] || for fmt in raw qcow2 vmdk vdi "qcow2 -c zlib" "qcow2 -c zstd"; do
	rm -f s.t s.c s.s q.t q.c q.s
	case $fmt in
	*zlib | *zstd) args="-c -O qcow2 -o compression_type=${fmt##* }" ;;
	*) args="-O $fmt" ;;
	esac
	i=0
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2086
		timed s "$S" convert $args src.qcow2 out.img
		# shellcheck disable=SC2086
		timed q qemu-img convert $args src.qcow2 out.img
		i=$((i + 1))
	done
	s=$(med s.t) q=$(med q.t)
	printf '%-28s %9.3f %9.3f %7s\n' "qcow2 -> $fmt" "$s" "$q" "$(ratio "$s" "$q")"
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
# 256 MiB of binaries: the host's executables and libraries over 16 KiB, in name order (the
# data zlib wins on; its size depends on the host)
find /usr/bin /usr/lib -type f -size +16k 2>/dev/null | LC_ALL=C sort | xargs cat 2>/dev/null |
	head -c 256M >bin.raw || true
for img in text bin; do
[ "$img" = text ] && label="text 1G" || label="bin 256M"
for ct in zlib zstd; do
	rm -f s.t s.c s.s s1.t s1.c s1.s q.t q.c q.s
	i=0
	while [ $i -lt "$RUNS" ]; do
		timed s "$S" convert -c -O qcow2 -o compression_type=$ct $img.raw out.img
		timed q qemu-img convert -c -O qcow2 -o compression_type=$ct $img.raw out.img
		timed s1 "$S" convert -m 1 -c -O qcow2 -o compression_type=$ct $img.raw out.img
		i=$((i + 1))
	done
	s=$(med s.t) q=$(med q.t) s1=$(med s1.t) ss=$(med s.s) qs=$(med q.s)
	printf '%-28s %9.3f %9.3f %7s  (-m 1: %.3f s %s; size %s vs %s, %s)\n' \
		"$label -> qcow2 -c $ct" "$s" "$q" "$(ratio "$s" "$q")" "$s1" "$(ratio "$s1" "$q")" \
		"$ss" "$qs" "$(echo "$ss $qs" | awk '{printf "%.3f", $1 / $2}')"
	sc=$(med s.c) qc=$(med q.c)
	printf '%-28s %9.3f %9.3f %7s  (CPU seconds, user+sys)\n' "  cpu" "$sc" "$qc" "$(ratio "$sc" "$qc")"
	echo "  wall s ours: $(tr '\n' ' ' <s.t)"
	echo "  wall s qemu: $(tr '\n' ' ' <q.t)"
	echo "  load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
rm -f text.raw bin.raw out.img run.cpu ./*.t ./*.c ./*.s
