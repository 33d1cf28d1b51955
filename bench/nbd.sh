#!/bin/sh
# NBD throughput in one run, same client and parameters for both sides:
#  1. servers: strata-nbd vs qemu-nbd serving the same qcow2, client qemu-img bench over a unix
#     socket and loopback TCP (sequential 64k reads/writes at depth 16, 4k reads/writes at
#     depth 16 with a 1 MiB + 4 KiB stride: scattered offsets, as qemu-img bench has no random
#     mode);
#  2. clients: strata-img bench vs qemu-img bench against qemu-nbd (the same workloads).
# Prints the best of 3 run times and the ratio throughput(strata)/throughput(qemu): 1.00 or more
# means Strata is at least as fast. Not part of make check. Usage: bench/nbd.sh [workdir]
# BENCH_SIZE (default 1G) sets the image size. Figures on a loaded shared machine are noisy.
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
best() { echo "$1 $2" | awk '{print ($1 != "" && $1 < $2) ? $1 : $2}'; }
seq64=$((bytes / 65536))
workloads() {
	cat <<EOT
read-64k-seq-qd16 -c $seq64 -d 16 -s 64k
read-4k-stride-qd16 -c 50000 -d 16 -s 4k -S 1052672
write-64k-seq-qd16 -w -c $((seq64 / 4)) -d 16 -s 64k
write-4k-stride-qd16 -w -c 20000 -d 16 -s 4k -S 1052672
EOT
}

printf '%-34s %9s %9s %7s\n' "servers (client qemu-img bench)" "strata s" "qemu s" "ratio"
for transport in unix tcp; do
	workloads | while read -r name args; do
		bs=999999 bq=999999
		for i in 1 2 3; do
			start "$N" $transport; s=$(run qemu-img bench $args -f raw "$url"); stop
			start qemu-nbd $transport; q=$(run qemu-img bench $args -f raw "$url"); stop
			bs=$(best "$s" "$bs"); bq=$(best "$q" "$bq")
		done
		printf '%-34s %9.3f %9.3f %7.2f\n' "$transport $name" "$bs" "$bq" \
			"$(echo "$bs $bq" | awk '{print $2 / $1}')"
	done
done
printf '\n%-34s %9s %9s %7s\n' "clients (server qemu-nbd)" "strata s" "qemu s" "ratio"
workloads | while read -r name args; do
	bs=999999 bq=999999
	for i in 1 2 3; do
		start qemu-nbd unix
		s=$(run "$S" bench $args -f raw "$url")
		q=$(run qemu-img bench $args -f raw "$url")
		stop
		bs=$(best "$s" "$bs"); bq=$(best "$q" "$bq")
	done
	printf '%-34s %9.3f %9.3f %7.2f\n' "unix $name" "$bs" "$bq" "$(echo "$bs $bq" | awk '{print $2 / $1}')"
done
rm -f "$img"
