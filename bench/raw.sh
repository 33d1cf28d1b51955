#!/bin/sh
# Raw-image throughput, strata-img bench next to qemu-img bench in one run, same parameters.
# Prints each tool's run time and the ratio strata/qemu (below 1.00 means Strata is faster).
# Usage: bench/raw.sh [workdir]   (not part of make check; run after `make`)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/build/rel/strata-img
dir=${1:-$(mktemp -d)}
img=$dir/bench.raw
[ -x "$S" ] || { echo "build first: make" >&2; exit 1; }
qemu-img create -q -f raw "$img" 1G
qemu-io -f raw -c 'write -q 0 1G' "$img" >/dev/null   # allocate, so reads hit real blocks

run() { "$@" 2>&1 | sed -n 's/^Run completed in \([0-9.]*\) seconds./\1/p'; }
printf '%-44s %9s %9s %7s\n' "workload" "strata s" "qemu s" "ratio"
while read -r name args; do
	best_s=999999 best_q=999999
	for i in 1 2 3; do
		s=$(run "$S" bench $args -f raw "$img")
		q=$(run qemu-img bench $args -f raw "$img")
		best_s=$(echo "$s $best_s" | awk '{print ($1 < $2) ? $1 : $2}')
		best_q=$(echo "$q $best_q" | awk '{print ($1 < $2) ? $1 : $2}')
	done
	printf '%-44s %9.3f %9.3f %7.2f\n' "$name" "$best_s" "$best_q" \
		"$(echo "$best_s $best_q" | awk '{print $1 / $2}')"
done <<EOT
read-4k-qd64 -c 200000 -d 64 -s 4k
read-4k-qd1 -c 50000 -d 1 -s 4k
read-64k-seq-qd16 -c 16384 -d 16 -s 64k
write-64k-seq-qd16 -w -c 16384 -d 16 -s 64k
write-4k-qd64-flush1024 -w -c 100000 -d 64 -s 4k --flush-interval=1024
read-4k-qd64-O_DIRECT -c 100000 -d 64 -s 4k -t none
EOT
rm -f "$img"
