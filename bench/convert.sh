#!/bin/sh
# convert throughput: strata-img convert next to qemu-img convert on the same source, one run.
# Source: a 1 GiB qcow2 image, half of it data (pattern), the rest zero or unallocated.
# Also convert -c to qcow2 (zlib, zstd): qemu-img compresses on a thread pool, we on one thread.
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
