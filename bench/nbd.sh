#!/bin/sh
# NBD throughput in one run, same client and parameters for both sides:
#  1. servers: strata-nbd vs qemu-nbd serving the same qcow2, client qemu-img bench over a unix
#     socket and loopback TCP (sequential 64k reads over the whole image and writes at depth 16,
#     4k reads/writes at depth 16 with a 1 MiB + 4 KiB stride: scattered offsets, as qemu-img
#     bench has no random mode);
#  2. clients: strata-img bench vs qemu-img bench against qemu-nbd (the same workloads), over
#     the unix socket and TCP.
# Each pair runs BENCH_RUNS times (default 5), alternating which side goes first; the median
# run time of each side gives its throughput (MiB/s) and the ratio
# throughput(strata)/throughput(qemu): 1.00 or more means Strata is at least as fast. The load
# average is printed before and after. Not part of make check. Usage: bench/nbd.sh [workdir]
# BENCH_SIZE (default 1G) sets the image size, BENCH_TRANSPORTS (default "unix tcp") the
# transports (qemu-nbd's 4k runs over TCP take minutes here). Figures on a loaded shared machine are noisy.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/build/rel/strata-img
N=$top/build/rel/strata-nbd
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
size=${BENCH_SIZE:-1G}
img=$dir/nbd-bench.qcow2
sock=$dir/nbd-bench.sock
[ -x "$S" ] && [ -x "$N" ] || { echo "build first: make" >&2; exit 1; }
qemu-img create -q -f qcow2 "$img" "$size"
qemu-io -f qcow2 -c "write -q 0 $size" "$img" >/dev/null
bytes=$(qemu-img info --output=json "$img" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT

start() { # SERVER TRANSPORT
	rm -f "$sock"
	if [ "$2" = unix ]; then addr="-k $sock"; else port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"); addr="-b 127.0.0.1 -p $port"; fi
	timeout 3600 "$1" -f qcow2 -t -e 0 --cache=writeback $addr "$img" >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 100 ]; do
		if [ "$2" = unix ]; then [ -S "$sock" ] && break
		else python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && break; fi
		sleep 0.1; i=$((i + 1))
	done
	if [ "$2" = unix ]; then url="nbd+unix:///?socket=$sock"; else url="nbd://127.0.0.1:$port"; fi
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; }
run() { "$@" 2>&1 | sed -n 's/^Run completed in \([0-9.]*\) seconds./\1/p'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
seq64=$((bytes / 65536))
workloads() {
	cat <<EOT
read-64k-seq-qd16 $((seq64 * 65536)) -c $seq64 -d 16 -s 64k
read-4k-stride-qd16 $((50000 * 4096)) -c 50000 -d 16 -s 4k -S 1052672
write-64k-seq-qd16 $((seq64 / 4 * 65536)) -w -c $((seq64 / 4)) -d 16 -s 64k
write-4k-stride-qd16 $((20000 * 4096)) -w -c 20000 -d 16 -s 4k -S 1052672
EOT
}
runs=${BENCH_RUNS:-5}
# row LABEL BYTES STRATA_SECONDS QEMU_SECONDS: both times, both throughputs and the ratio.
row() {
	printf '%-30s %8.3f %8.3f %9.1f %9.1f %6.2f\n' "$1" "$3" "$4" \
		"$(echo "$2 $3" | awk '{print $1 / $2 / 1048576}')" \
		"$(echo "$2 $4" | awk '{print $1 / $2 / 1048576}')" "$(echo "$3 $4" | awk '{print $2 / $1}')"
}
header() { printf '\n%-30s %8s %8s %9s %9s %6s\n' "$1" "strata s" "qemu s" "strata/s" "qemu/s" "ratio"; }

echo "load before: $(cat /proc/loadavg)"
header "servers (client qemu-img bench)"
for transport in ${BENCH_TRANSPORTS:-unix tcp}; do
	workloads | while read -r name nbytes args; do
		ts="" tq=""
		for i in $(seq "$runs"); do
			for side in $([ $((i % 2)) = 1 ] && echo "s q" || echo "q s"); do
				if [ $side = s ]; then start "$N" $transport; else start qemu-nbd $transport; fi
				t=$(run qemu-img bench $args -f raw "$url"); stop
				if [ $side = s ]; then ts="$ts $t"; else tq="$tq $t"; fi
			done
		done
		row "$transport $name" "$nbytes" "$(echo $ts | median)" "$(echo $tq | median)"
	done
done
header "clients (server qemu-nbd)"
for transport in ${BENCH_TRANSPORTS:-unix tcp}; do
	workloads | while read -r name nbytes args; do
		ts="" tq=""
		for i in $(seq "$runs"); do
			start qemu-nbd $transport
			for side in $([ $((i % 2)) = 1 ] && echo "s q" || echo "q s"); do
				if [ $side = s ]; then ts="$ts $(run "$S" bench $args -f raw "$url")"
				else tq="$tq $(run qemu-img bench $args -f raw "$url")"; fi
			done
			stop
		done
		row "$transport $name" "$nbytes" "$(echo $ts | median)" "$(echo $tq | median)"
	done
done
echo "load after: $(cat /proc/loadavg)"
rm -f "$img"
