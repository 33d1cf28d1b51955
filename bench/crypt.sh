#!/bin/sh
# Encrypted qcow2 (LUKS aes-256-xts, 64 KiB clusters) against qemu-io 7.2, side by side in one
# run (not part of make check): sequential 64 KiB writes filling a fresh image (+ flush),
# sequential 64 KiB reads of it, random 4 KiB writes, random 4 KiB reads. Best of REPS runs
# each, the tools alternating. speedup = qemu-io's time / strata-io's (>= 1.00: at least
# qemu-io's throughput). Both open the image with --image-opts and the same secret.
# Usage: sh bench/crypt.sh [BUILD_DIR]   (env: SIZE_MB=512 OPS=20000 REPS=2 CACHE=writeback)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/rel}
IO=${STRATA_IO:-$build/strata-io}
IMG=${STRATA_IMG:-$build/strata-img}
size_mb=${SIZE_MB:-512}
ops=${OPS:-20000}
reps=${REPS:-2}
cache=${CACHE:-writeback}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/crypt-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
SEC="--object secret,id=s0,data=bench-pass"
O="encrypt.format=luks,encrypt.key-secret=s0,encrypt.cipher-alg=aes-256,encrypt.cipher-mode=xts,encrypt.iter-time=10"

n=$((size_mb * 16))
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "write -q %d 65536\n", i * 65536; print "flush" }' >seqw.cmds
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "read -q %d 65536\n", i * 65536 }' >seqr.cmds
awk -v n="$ops" -v max="$((size_mb * 256))" 'BEGIN { srand(42); for (i = 0; i < n; i++) printf "write -q %d 4096\n", int(rand() * max) * 4096; print "flush" }' >rndw.cmds
awk -v n="$ops" -v max="$((size_mb * 256))" 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "read -q %d 4096\n", int(rand() * max) * 4096 }' >rndr.cmds

# run TOOL FILE CMDS -> seconds
run() {
	t0=$(date +%s.%N)
	"$1" $SEC -t "$cache" --image-opts "driver=qcow2,file.filename=$2,encrypt.key-secret=s0" \
		<"$3" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ print $2 - $1 }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "inf" }'; }

for w in seqw seqr rndw rndr; do eval "q_$w= o_$w="; done
for rep in $(seq "$reps"); do
	rm -f q.qcow2 s.qcow2
	qemu-img create -q $SEC -f qcow2 -o "$O" q.qcow2 "${size_mb}M"
	"$IMG" create -q $SEC -f qcow2 -o "$O" s.qcow2 "${size_mb}M"
	for w in seqw seqr rndw rndr; do
		sync
		if [ $((rep % 2)) -eq 1 ]; then
			a=$(run qemu-io q.qcow2 $w.cmds); b=$(run "$IO" s.qcow2 $w.cmds)
		else
			b=$(run "$IO" s.qcow2 $w.cmds); a=$(run qemu-io q.qcow2 $w.cmds)
		fi
		eval "q_$w=\$(min \"\$q_$w\" $a); o_$w=\$(min \"\$o_$w\" $b)"
	done
done
qemu-img compare -q $SEC --image-opts "driver=qcow2,file.filename=q.qcow2,encrypt.key-secret=s0" \
	"driver=qcow2,file.filename=s.qcow2,encrypt.key-secret=s0" ||
	echo "WARNING: the two images differ"
qemu-img check -q $SEC --image-opts "driver=qcow2,file.filename=s.qcow2,encrypt.key-secret=s0" ||
	echo "WARNING: qemu-img check found problems in our image"

printf '%-36s %9s %9s %8s\n' "LUKS aes-256-xts qcow2 (${size_mb} MiB)" "qemu-io" "strata-io" "speedup"
printf '%-36s %8ss %8ss %8s\n' "seq 64 KiB writes (fill + flush)" "$q_seqw" "$o_seqw" "$(ratio "$o_seqw" "$q_seqw")"
printf '%-36s %8ss %8ss %8s\n' "seq 64 KiB reads" "$q_seqr" "$o_seqr" "$(ratio "$o_seqr" "$q_seqr")"
printf '%-36s %8ss %8ss %8s\n' "random 4 KiB writes ($ops + flush)" "$q_rndw" "$o_rndw" "$(ratio "$o_rndw" "$q_rndw")"
printf '%-36s %8ss %8ss %8s\n' "random 4 KiB reads ($ops)" "$q_rndr" "$o_rndr" "$(ratio "$o_rndr" "$q_rndr")"
echo "(load average: $(cut -d ' ' -f 1-3 /proc/loadavg); figures under load are noisy)"
