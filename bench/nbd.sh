#!/bin/sh
# NBD throughput in one run, same client and parameters for both sides:
#  1. servers: strata-nbd vs qemu-nbd serving the same qcow2, client qemu-img bench over a unix
#     socket and loopback TCP (sequential 64k reads over the whole image BENCH_PASSES times,
#     default 4, and writes at depth 16, 4k reads/writes at depth 16 with a 1 MiB + 4 KiB
#     stride: scattered offsets, as qemu-img bench has no random mode);
#  2. clients: strata-img bench vs qemu-img bench against qemu-nbd (the same workloads), over
#     the unix socket and TCP, a fresh qemu-nbd per run (see "Client rows" below).
# Each pair runs BENCH_RUNS times (default 5), alternating which side goes first; the median
# run time of each side gives its throughput (MiB/s) and the ratio
# throughput(strata)/throughput(qemu): 1.00 or more means Strata is at least as fast. Wall times
# swing with the machine's load; the CPU columns do not: the user+sys seconds of the side being
# compared (the server process for the server rows, the client for the client rows), medians,
# and cpu ratio = cpu(qemu)/cpu(strata) (1.00 or more: Strata spends no more CPU per run). The
# load average is printed before and after, and beside each row. Not part of make check.
#  3. servers on a raw copy with --cache=none (O_DIRECT, the engine's io_uring queue), unix.
# Usage: bench/nbd.sh [workdir]
# BENCH_SIZE (default 1G) sets the image size, BENCH_TRANSPORTS (default "unix tcp") the
# transports, BENCH_WORKLOADS (an extended regular expression, default all) the rows by name,
# e.g. "read-4k", BENCH_DIRECT=0 leaves out part 3, BENCH_PARTS (default "servers clients")
# which of parts 1 and 2 run. Our client runs with its defaults: against qemu-nbd -e 0, which
# advertises multi-conn, its queued reads go over 2 connections (docs/nbd.md).
# Client rows: every timed run gets a qemu-nbd of its own, started the same way and warmed up
# by both clients (BENCH_WARM reads each, untimed), the sides in alternating order, so both
# clients always meet a server in the same state. That server runs
# with glibc's heap trim threshold raised (BENCH_NBD_TRIM bytes, default 64 MiB; empty: glibc's
# default 128 KiB): with the default, its main heap shrinks and grows again (brk) around the
# 64 KiB request buffers up to thousands of times a pass, each regrowth zero-filling fresh
# pages (30k-180k page faults per 4 GiB), how often depending on where longer-lived
# allocations happened to land; a fresh server churns most, a long-lived one may stop. It
# cost qemu-img's client more than ours, and which side met a churning server depended on run
# order (docs/nbd.md, "Server state"). The server rows leave qemu-nbd as it comes.
# Over TCP the 4k rows send 75 (reads) and 25 (writes) times fewer requests (BENCH_TCP_DIV
# sets both): qemu-nbd 7.2 does not set TCP_NODELAY on the connections it accepts (strace: no
# setsockopt on them; qemu-img's client does set it), so with several small replies in flight
# each waits in Nagle's algorithm for the client's (delayed) ACK of the one before: about 3 ms
# per 4k request instead of 0.1, minutes per run at full count.
# Figures on a loaded shared machine are noisy.
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

trim=${BENCH_NBD_TRIM-67108864}
start() { # SERVER TRANSPORT [FORMAT IMAGE CACHE]; $senv: the server's environment
	rm -f "$sock"
	if [ "$2" = unix ]; then addr="-k $sock"; else port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"); addr="-b 127.0.0.1 -p $port"; fi
	env ${senv:+"$senv"} timeout 3600 "$1" -f "${3:-qcow2}" -t -e 0 --cache="${5:-writeback}" $addr "${4:-$img}" >/dev/null 2>&1 &
	pid=$!
	spid=""
	i=0
	while [ $i -lt 100 ]; do
		if [ "$2" = unix ]; then [ -S "$sock" ] && break
		else python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && break; fi
		sleep 0.1; i=$((i + 1))
	done
	if [ "$2" = unix ]; then url="nbd+unix:///?socket=$sock"; else url="nbd://127.0.0.1:$port"; fi
	spid=$(cat /proc/$pid/task/$pid/children 2>/dev/null | cut -d' ' -f1)
}
# The server's user+sys seconds so far (all its threads, ended ones included).
server_cpu() {
	awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' /proc/$spid/stat 2>/dev/null || echo 0
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; }
# run CMD...: "WALL CPU", the run time the tool reports and its user+sys seconds.
run() {
	/usr/bin/time -f "cpu %U %S" "$@" 2>&1 |
		awk '/^Run completed in/ {w = $4} /^cpu / {c = $2 + $3} END {print w, c}'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
seq64=$((bytes / 65536))
# The read rows run several seconds a side (BENCH_PASSES passes over the image, 150000 4k
# requests): runs of about one second gave ratios from 0.85 to 2.47 for the same binaries.
passes=${BENCH_PASSES:-4}
workloads() { # TRANSPORT
	r4=150000 w4=20000
	[ "$1" = tcp ] && r4=$((r4 / ${BENCH_TCP_DIV:-75})) w4=$((w4 / ${BENCH_TCP_DIV:-25}))
	cat <<EOT | grep -E "${BENCH_WORKLOADS:-.}"
read-64k-seq-qd16 $((seq64 * passes * 65536)) -c $((seq64 * passes)) -d 16 -s 64k
read-4k-stride-qd16 $((r4 * 4096)) -c $r4 -d 16 -s 4k -S 1052672
write-64k-seq-qd16 $((seq64 / 4 * 65536)) -w -c $((seq64 / 4)) -d 16 -s 64k
write-4k-stride-qd16 $((w4 * 4096)) -w -c $w4 -d 16 -s 4k -S 1052672
EOT
}
runs=${BENCH_RUNS:-5}
# row LABEL BYTES STRATA_SECONDS QEMU_SECONDS STRATA_CPU QEMU_CPU: both times, both
# throughputs, the ratio, both CPU times, their ratio, and the load average now.
row() {
	printf '%-30s %8.3f %8.3f %9.1f %9.1f %6.2f %7.2f %7.2f %6.2f  %s\n' "$1" "$3" "$4" \
		"$(echo "$2 $3" | awk '{print $1 / $2 / 1048576}')" \
		"$(echo "$2 $4" | awk '{print $1 / $2 / 1048576}')" "$(echo "$3 $4" | awk '{print $2 / $1}')" \
		"$5" "$6" "$(echo "$5 $6" | awk '{print ($1 > 0 ? $2 / $1 : 0)}')" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}
header() {
	printf '\n%-30s %8s %8s %9s %9s %6s %7s %7s %6s  %s\n' "$1" "strata s" "qemu s" \
		"strata/s" "qemu/s" "ratio" "s cpu" "q cpu" "cpu r" "load"
}

echo "load before: $(cat /proc/loadavg)"
# servers TITLE FORMAT IMAGE CACHE TRANSPORTS: the server rows.
servers() {
	header "$1"
	fmt=$2 image=$3 cache=$4
	for transport in $5; do
		workloads $transport | while read -r name nbytes args; do
			ts="" tq="" cs="" cq=""
			for i in $(seq "$runs"); do
				for side in $([ $((i % 2)) = 1 ] && echo "s q" || echo "q s"); do
					if [ $side = s ]; then start "$N" $transport $fmt "$image" $cache
					else start qemu-nbd $transport $fmt "$image" $cache; fi
					c0=$(server_cpu)
					t=$(run qemu-img bench $args -f raw "$url" | cut -d' ' -f1)
					c=$(echo "$(server_cpu) $c0" | awk '{print $1 - $2}'); stop
					if [ $side = s ]; then ts="$ts $t" cs="$cs $c"; else tq="$tq $t" cq="$cq $c"; fi
				done
			done
			row "$transport $name" "$nbytes" "$(echo $ts | median)" "$(echo $tq | median)" \
				"$(echo $cs | median)" "$(echo $cq | median)"
		done
	done
}
# warm SIDE: untimed sequential 64k reads on the fresh server, BENCH_WARM of them (default
# 4096, 256 MiB) from each client, the other side's first, so every timed run meets a server
# that has served both clients (its thread and coroutine pools grown) and not a cold one.
warm() {
	w=${BENCH_WARM:-4096}
	[ "$w" -gt 0 ] || return 0
	for c in $([ "$1" = s ] && echo "qemu-img $S" || echo "$S qemu-img"); do
		"$c" bench -c "$w" -d 16 -s 64k -f raw "$url" >/dev/null
	done
}
part() { case " ${BENCH_PARTS:-servers clients} " in *" $1 "*) return 0 ;; esac; return 1; }
part servers &&
	servers "servers (client qemu-img bench)" qcow2 "$img" writeback "${BENCH_TRANSPORTS:-unix tcp}"
part clients && header "clients (server qemu-nbd)"
for transport in $(part clients && echo "${BENCH_TRANSPORTS:-unix tcp}"); do
	workloads $transport | while read -r name nbytes args; do
		ts="" tq="" cs="" cq=""
		for i in $(seq "$runs"); do
			for side in $([ $((i % 2)) = 1 ] && echo "s q" || echo "q s"); do
				senv=${trim:+GLIBC_TUNABLES=glibc.malloc.trim_threshold=$trim}
				start qemu-nbd $transport
				senv=""
				warm $side
				if [ $side = s ]; then
					r=$(run "$S" bench $args -f raw "$url"); ts="$ts ${r% *}" cs="$cs ${r#* }"
				else
					r=$(run qemu-img bench $args -f raw "$url"); tq="$tq ${r% *}" cq="$cq ${r#* }"
				fi
				stop
			done
		done
		row "$transport $name" "$nbytes" "$(echo $ts | median)" "$(echo $tq | median)" \
			"$(echo $cs | median)" "$(echo $cq | median)"
	done
done
if [ "${BENCH_DIRECT:-1}" = 1 ]; then
	qemu-img convert -f qcow2 -O raw "$img" "$dir/nbd-bench.raw"
	servers "servers, raw --cache=none (client qemu-img bench)" raw "$dir/nbd-bench.raw" none unix
	rm -f "$dir/nbd-bench.raw"
fi
echo "load after: $(cat /proc/loadavg)"
rm -f "$img"
