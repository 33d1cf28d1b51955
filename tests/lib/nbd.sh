# NBD test helpers (source after tap.sh): servers run bounded by timeout, are stopped by pid.
: "${STRATA_NBD:=$SRC_DIR/build/rel/strata-nbd}"
NBD=$STRATA_NBD
nbd_pids=""
nbd_cleanup() { for p in $nbd_pids; do kill "$p" 2>/dev/null; done; }
trap nbd_cleanup EXIT

# nbd_start SOCKET CMD...: starts an NBD server listening on unix SOCKET (created by CMD) and
# waits, bounded, until it accepts; sets nbd_pid. Returns 1 when it never came up.
nbd_start() {
	sock=$1
	shift
	rm -f "$sock"
	timeout 300 "$@" >>server.log 2>&1 &
	nbd_pid=$!
	nbd_pids="$nbd_pids $nbd_pid"
	n=0
	while [ ! -S "$sock" ] && [ $n -lt 200 ]; do
		kill -0 "$nbd_pid" 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
	[ -S "$sock" ]
}

# nbd_start_tcp PORTFILE CMD...: the same for TCP servers, waiting until the port answers.
nbd_wait_tcp() {
	port=$1
	n=0
	while [ $n -lt 200 ]; do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1).close()" \
			2>/dev/null && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# nbd_stop: stops the last server (SIGTERM) and waits for it, bounded by its timeout.
nbd_stop() {
	kill "$nbd_pid" 2>/dev/null
	wait "$nbd_pid" 2>/dev/null
}

# A free TCP port on 127.0.0.1 (the kernel picks one).
nbd_free_port() {
	python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}

# nbd_chunks: q.qcow2 (8M) whose 64k chunk i holds pattern i+1, every fifth chunk a hole, its
# raw copy ref.raw, and in $reads 48 strata-io/qemu-io -c aio_read commands checking pieces of
# it in a scattered order (chunk i * 37 mod 128): whole chunks, 4k, 40k and unaligned 65024.
nbd_pat() { [ $(($1 % 5)) -eq 4 ] && echo 0 || echo $(($1 + 1)); }
nbd_chunks() {
	qemu-img create -q -f qcow2 q.qcow2 8M
	w=""
	i=0
	while [ $i -lt 128 ]; do
		[ $((i % 5)) -ne 4 ] && w="$w -c \"write -q -P $((i + 1)) $((i * 65536)) 64k\""
		i=$((i + 1))
	done
	eval qemu-io -f qcow2 $w q.qcow2 >/dev/null
	qemu-img convert -f qcow2 -O raw q.qcow2 ref.raw
	reads=""
	i=0
	while [ $i -lt 48 ]; do
		c=$(((i * 37) % 128))
		case $((i % 4)) in
		0) r="aio_read -P $(nbd_pat $c) $((c * 65536)) 64k" ;;
		1) r="aio_read -P $(nbd_pat $c) $((c * 65536 + 8192)) 4k" ;;
		2) r="aio_read -P $(nbd_pat $c) $((c * 65536 + 4096)) 40k" ;;
		3) r="aio_read -P $(nbd_pat $c) $((c * 65536 + 512)) 65024" ;;
		esac
		reads="$reads -c \"$r\""
		i=$((i + 1))
	done
}

# nbd_written_ok: q.qcow2 is check-clean and holds the three queued writes the tests send
# (0xa5 at 64k, 0xa6 at 4M, 0xa7 over 7M-8M), applied here to ref.raw by qemu-io
nbd_written_ok() {
	qemu-io -f raw -c "write -q -P 0xa5 64k 64k" -c "write -q -P 0xa6 4M 4k" -c "write -q -P 0xa7 7M 1M" \
		ref.raw >/dev/null
	qemu-img check -q q.qcow2 && qemu-img compare -q -f qcow2 -F raw q.qcow2 ref.raw
}
