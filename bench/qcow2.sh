#!/bin/sh
# qcow2 performance against qemu-io 7.2, side by side in one run (not part of make check):
#   1. sequential 64 KiB writes filling a fresh 2 GiB image (64 KiB clusters), then flush;
#   2. random 4 KiB reads from the full image;
#   3. peak RSS of each tool during 1 and 2 (/usr/bin/time -v).
# Both tools run with the same cache mode (CACHE, default writeback; "none" for O_DIRECT).
# Usage: sh bench/qcow2.sh [BUILD_DIR]   (env: SIZE_MB=2048 READS=20000 CACHE=writeback)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/rel}
IO=${STRATA_IO:-$build/strata-io}
IMG=${STRATA_IMG:-$build/strata-img}
size_mb=${SIZE_MB:-2048}
reads=${READS:-20000}
cache=${CACHE:-writeback}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/qcow2-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

n=$((size_mb * 16))
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "write -q %d 65536\n", i * 65536; print "flush" }' >seq.cmds
awk -v n="$reads" -v max="$((size_mb * 256))" 'BEGIN { srand(42); for (i = 0; i < n; i++) printf "read -q %d 4096\n", int(rand() * max) * 4096 }' >rand.cmds

# run TOOL FILE CMDS -> prints "seconds max_rss_kb"
run() {
	/usr/bin/time -v -o time.out "$1" -t "$cache" "$2" <"$3" >/dev/null 2>&1
	s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); v = 0; for (i = 1; i <= n; i++) v = v * 60 + t[i]; print v }' time.out)
	r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' time.out)
	echo "$s $r"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "inf" }'; }

reps=${REPS:-4}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b > a) ? b : a }'; }
q_seq= o_seq= q_rnd= o_rnd= q_rss1= o_rss1= q_rss2= o_rss2=
# Best of REPS runs each, alternating the tools (the host may be busy); RSS is the maximum.
for rep in $(seq "$reps"); do
	rm -f ref.qcow2 ours.qcow2
	qemu-img create -q -f qcow2 ref.qcow2 "${size_mb}M"
	"$IMG" create -q -f qcow2 ours.qcow2 "${size_mb}M"
	# The tool that writes second pays for the first one's writeback still draining in the
	# virtual disk: alternate who goes first, keep the best time of each.
	sync
	if [ $((rep % 2)) -eq 1 ]; then
		set -- $(run qemu-io ref.qcow2 seq.cmds); q_seq=$(min "$q_seq" $1) q_rss1=$(max "$q_rss1" $2)
		sync
		set -- $(run "$IO" ours.qcow2 seq.cmds); o_seq=$(min "$o_seq" $1) o_rss1=$(max "$o_rss1" $2)
	else
		set -- $(run "$IO" ours.qcow2 seq.cmds); o_seq=$(min "$o_seq" $1) o_rss1=$(max "$o_rss1" $2)
		sync
		set -- $(run qemu-io ref.qcow2 seq.cmds); q_seq=$(min "$q_seq" $1) q_rss1=$(max "$q_rss1" $2)
	fi
	sync
	set -- $(run qemu-io ref.qcow2 rand.cmds); q_rnd=$(min "$q_rnd" $1) q_rss2=$(max "$q_rss2" $2)
	set -- $(run "$IO" ours.qcow2 rand.cmds); o_rnd=$(min "$o_rnd" $1) o_rss2=$(max "$o_rss2" $2)
done
qemu-img check -q ours.qcow2 || echo "WARNING: qemu-img check found problems in our image"
qemu-img compare -q ref.qcow2 ours.qcow2 || echo "WARNING: images differ"

printf '%-34s %10s %10s %8s\n' "qcow2 (${size_mb} MiB, cache=$cache)" "qemu-io" "strata-io" "speedup"
printf '%-34s %9ss %9ss %8s\n' "seq 64 KiB writes (fill + flush)" "$q_seq" "$o_seq" "$(ratio "$o_seq" "$q_seq")"
printf '%-34s %9ss %9ss %8s\n' "random 4 KiB reads ($reads)" "$q_rnd" "$o_rnd" "$(ratio "$o_rnd" "$q_rnd")"
printf '%-34s %8sk %8sk %8s\n' "peak RSS, writes" "$q_rss1" "$o_rss1" "$(ratio "$o_rss1" "$q_rss1")"
printf '%-34s %8sk %8sk %8s\n' "peak RSS, reads" "$q_rss2" "$o_rss2" "$(ratio "$o_rss2" "$q_rss2")"
