#!/bin/bash
# Our NBD client's connection count A/B against qemu-img's client, to pick multi-conn's default
# on a given machine: sequential 64k reads at depth 16 (BENCH_PASSES passes over a 1 GiB qcow2,
# default 4) from `qemu-nbd -f qcow2 -t -e 0` (which advertises multi-conn), a fresh server per
# run, the sides in rotating order, BENCH_RUNS rounds (default 6). SIDES (default "q 1 2 4"):
# q is qemu-img bench, N is strata-img bench with multi-conn=N. Per side, the medians of: the
# run time, the client's user+sys seconds and voluntary context switches (how often it slept),
# the server's user+sys seconds and involuntary switches (how often its threads were
# preempted); the load average beside every run and at the end. BENCH_TRANSPORT=tcp for
# loopback TCP. The server runs with glibc's heap trim threshold at BENCH_NBD_TRIM bytes
# (default 64 MiB; empty: glibc's 128 KiB), as in bench/nbd.sh's client rows (docs/nbd.md,
# "Server state"); its page faults per run are printed too.
# Usage: bench/nbd-client-ab.sh [workdir]. Not part of make check.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/build/rel/strata-img
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
img=$dir/ab.qcow2
[ -x "$S" ] || { echo "build first: make" >&2; exit 1; }
qemu-img create -q -f qcow2 "$img" 1G
qemu-io -f qcow2 -c "write -q 0 1G" "$img" >/dev/null
count=$((16384 * ${BENCH_PASSES:-4}))
read -r -a sides <<<"${SIDES:-q 1 2 4}"
tck=$(getconf CLK_TCK)
trim=${BENCH_NBD_TRIM-67108864}
senv=${trim:+GLIBC_TUNABLES=glibc.malloc.trim_threshold=$trim}
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT
log=$dir/ab.log
: >"$log"
echo "load before: $(cat /proc/loadavg)"
for i in $(seq "${BENCH_RUNS:-6}"); do
	for j in $(seq 0 $((${#sides[@]} - 1))); do
		s=${sides[$(((i + j) % ${#sides[@]}))]}
		if [ "${BENCH_TRANSPORT:-unix}" = tcp ]; then
			port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
			env ${senv:+"$senv"} qemu-nbd -f qcow2 -t -e 0 -b 127.0.0.1 -p "$port" "$img" >/dev/null 2>&1 &
			pid=$!
			n=0
			until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null ||
				[ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
			url="nbd://127.0.0.1:$port" sep="?"
		else
			sock=$dir/ab.sock
			rm -f "$sock"
			env ${senv:+"$senv"} qemu-nbd -f qcow2 -t -e 0 -k "$sock" "$img" >/dev/null 2>&1 &
			pid=$!
			n=0
			until [ -S "$sock" ] || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
			url="nbd+unix:///?socket=$sock" sep="&"
		fi
		if [ "$s" = q ]; then cmd=(qemu-img bench); u=$url
		else cmd=("$S" bench); u="$url${sep}multi-conn=$s"; fi
		r=$(/usr/bin/time -f "cpu %U %S %w" "${cmd[@]}" -c "$count" -d 16 -s 64k -f raw "$u" 2>&1 |
			awk '/^Run completed/ {w = $4} /^cpu / {c = $2 + $3; v = $4} END {print w, c, v}')
		read -r sc sf <<<"$(awk -v t="$tck" '{print ($14 + $15) / t, $10}' /proc/$pid/stat)"
		sp=$(cat /proc/$pid/task/*/status | awk '/^nonvoluntary_ctxt/ {n += $2} END {print n}')
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=""
		echo "$s $r $sc $sp $sf $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$log"
	done
done
printf '%-5s %8s %8s %9s %8s %9s %8s\n' side wall "c cpu" "c sleeps" "s cpu" "s preempt" "s faults"
for s in "${sides[@]}"; do
	awk -v s="$s" '$1 == s' "$log" | python3 -c '
import sys, statistics as st
rows = [l.split() for l in sys.stdin]
m = [st.median(float(r[k]) for r in rows) for k in range(1, 7)]
print("%-5s %8.3f %8.2f %9.0f %8.2f %9.0f %8.0f" % (rows[0][0], *m))'
done
echo "load after: $(cat /proc/loadavg)"
rm -f "$img"
