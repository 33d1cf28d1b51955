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
