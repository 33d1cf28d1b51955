# A throw-away single-node Ceph cluster for the rbd tests (source after tap.sh), the way Ceph's
# vstart.sh developer clusters start: one monitor and one OSD with the memory object store,
# pool size 1, no authentication, bound to 127.0.0.1, all state under $CEPH_DIR. Every step
# is bounded by timeout; the daemons are stopped by pid when the test exits.
#   ceph_start            starts it; 1 (and $ceph_why) when Ceph cannot start here
#   CEPH_CONF, CEPH_POOL  for rbd:$CEPH_POOL/IMAGE:conf=$CEPH_CONF names and the rbd tool
#   ceph_rbd ARGS...      the rbd command line tool against the cluster
#   ceph_stop             stops it (also on exit)
CEPH_POOL=rbd
ceph_pids=""
ceph_why=""

ceph_stop() {
	for p in $ceph_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $ceph_pids; do        # bounded: SIGKILL after 5 s
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	ceph_pids=""
	[ -n "${CEPH_DIR:-}" ] && rm -rf "$CEPH_DIR"
}
trap ceph_stop EXIT

ceph_rbd() { timeout 60 rbd -c "$CEPH_CONF" "$@"; }
ceph_cmd() { timeout 60 ceph -c "$CEPH_CONF" --connect-timeout 20 "$@"; }

# A free port on 127.0.0.1 for the monitor.
ceph_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ceph_write_conf() {
	cat >"$CEPH_CONF" <<CONF
[global]
fsid = $ceph_fsid
mon host = v2:127.0.0.1:$ceph_mon_port
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
pid file = $CEPH_DIR/run/\$name.pid
log file = $CEPH_DIR/log/\$name.log
mon data = $CEPH_DIR/mon.\$id
osd data = $CEPH_DIR/osd.\$id
keyring = $CEPH_DIR/keyring
ms bind port min = 40000
ms bind port max = 40999
client mount timeout = 20
rados mon op timeout = 30
rados osd op timeout = 60
[osd]
osd max object name len = 256
osd max object namespace len = 64
CONF
}

ceph_start() {
	for t in ceph-mon ceph-osd ceph rbd monmaptool ceph-authtool; do
		if ! command -v $t >/dev/null; then
			ceph_why="$t not installed (make deps)"
			return 1
		fi
	done
	# digits only: tests/cli/rbd.sh maps image names S*/Q* in outputs, which a random
	# letter suffix here once matched (CEPH_DIR is in every conf= path it compares)
	CEPH_DIR=/tmp/strata-ceph.$$.$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	mkdir -m 700 "$CEPH_DIR" || return 1
	CEPH_CONF=$CEPH_DIR/ceph.conf
	mkdir -p "$CEPH_DIR/run" "$CEPH_DIR/log" "$CEPH_DIR/mon.a" "$CEPH_DIR/osd.0"
	ceph_fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	ceph_mon_port=$(ceph_port)
	ceph_write_conf
	ceph_t0=$(date +%s.%N)
	timeout 30 ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. \
		--cap mon 'allow *' >"$CEPH_DIR/log/setup.log" 2>&1 &&
	timeout 30 monmaptool --create --fsid "$ceph_fsid" \
		--addv a "[v2:127.0.0.1:$ceph_mon_port]" "$CEPH_DIR/monmap" >>"$CEPH_DIR/log/setup.log" 2>&1 &&
	timeout 60 ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" \
		--keyring "$CEPH_DIR/keyring" >>"$CEPH_DIR/log/setup.log" 2>&1 ||
		{ ceph_why="monitor setup failed: $(tail -n 3 "$CEPH_DIR/log/setup.log" | tr '\n' ' ')"; return 1; }
	# -f: stays in the foreground, so $! is the daemon and timeout bounds its life
	timeout 1800 ceph-mon -c "$CEPH_CONF" -i a -f >>"$CEPH_DIR/log/mon.out" 2>&1 &
	ceph_pids="$ceph_pids $!"
	osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	osd_id=$(ceph_cmd osd new "$osd_uuid" 2>>"$CEPH_DIR/log/setup.log") ||
		{ ceph_why="monitor did not answer: $(tail -n 3 "$CEPH_DIR/log/setup.log" | tr '\n' ' ')"; return 1; }
	timeout 120 ceph-osd -c "$CEPH_CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" \
		>>"$CEPH_DIR/log/setup.log" 2>&1 ||
		{ ceph_why="osd mkfs failed: $(tail -n 3 "$CEPH_DIR/log/setup.log" | tr '\n' ' ')"; return 1; }
	timeout 1800 ceph-osd -c "$CEPH_CONF" -i "$osd_id" -f >>"$CEPH_DIR/log/osd.out" 2>&1 &
	ceph_pids="$ceph_pids $!"
	ceph_cmd osd pool create "$CEPH_POOL" 8 >>"$CEPH_DIR/log/setup.log" 2>&1 &&
	ceph_cmd osd pool application enable "$CEPH_POOL" rbd >>"$CEPH_DIR/log/setup.log" 2>&1 ||
		{ ceph_why="pool creation failed: $(tail -n 3 "$CEPH_DIR/log/setup.log" | tr '\n' ' ')"; return 1; }
	# ready when an image can be created (the OSD is up and the pool's PGs are active)
	n=0
	until ceph_rbd create --size 1M strata-ready >/dev/null 2>&1; do
		n=$((n + 1))
		if [ $n -ge 120 ]; then
			ceph_why="the OSD never came up: $(tail -n 3 "$CEPH_DIR/log/osd.out" | tr '\n' ' ')"
			return 1
		fi
		sleep 1
	done
	ceph_rbd rm strata-ready >/dev/null 2>&1
	ceph_start_secs=$(python3 -c "import time; print('%.1f' % (time.time() - $ceph_t0))")
	echo "# ceph cluster up in ${ceph_start_secs}s (mon 127.0.0.1:$ceph_mon_port, $CEPH_DIR)"
	return 0
}
