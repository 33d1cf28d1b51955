#!/bin/sh
# Our NBD client's extra connections (multi-conn): against a server that advertises
# NBD_FLAG_CAN_MULTI_CONN (qemu-nbd and strata-nbd with -e 0) queued reads spread over 2
# connections by default, over N with multi-conn=N in the name or the json:/--image-opts
# options; a server without the flag gets one connection whatever was asked. A relay in front
# of the server (nbd-count-proxy.py) counts the connections. Every case checks the data: 48
# scattered queued reads of 4k-64k each against its own pattern (holes included), a depth-16
# bench then the export compared with the image; queued writes read back through every
# connection, and the image afterwards compared and check-clean. A server at its client limit
# (-e 2) never greets a third connection: the client goes on with the two it has.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

IO=$SRC_DIR/build/rel/strata-io
IMG=$SRC_DIR/build/rel/strata-img
PROXY=$SRC_DIR/tests/cli/nbd-count-proxy.py
sock=$TEST_TMPDIR/s
psock=$TEST_TMPDIR/p
nbd_chunks

proxy_pid=""
# proxy_start LISTEN TARGET: the counting relay (unix:PATH or tcp:PORT each side).
proxy_start() {
	rm -f conns.log "$psock"
	: >conns.log
	timeout 300 python3 "$PROXY" "$1" "$2" conns.log >>proxy.log 2>&1 &
	proxy_pid=$!
	nbd_pids="$nbd_pids $proxy_pid"
	case $1 in
	unix:*) n=0; while [ ! -S "$psock" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done ;;
	tcp:*) nbd_wait_tcp "${1#tcp:}" ;;
	esac
	: >conns.log    # nbd_wait_tcp's probe is no client
}
proxy_stop() { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; }

# check_reads NAME NCONN CMD...: CMD (strata-io with the queued reads appended, or any command
# given) passes its pattern checks, and the relay saw NCONN connections.
check_reads() {
	name=$1 want=$2
	shift 2
	: >conns.log
	eval "$* $reads -c aio_flush" >o.io 2>&1 &&
		[ "$(grep -c '^read ' o.io)" -eq 48 ] && ! grep -q -i "fail\|error" o.io
	tap_result $? "$name: 48 queued reads of 4k-64k, each its own pattern" || sed 's/^/# /' o.io
	got=$(grep -c '^conn' conns.log)
	[ "$got" -eq "$want" ]
	tap_result $? "$name: $want connection(s)" || echo "# saw $got"
}

# check_bench NAME URL: a depth-16 bench over the export, then the same bytes as the image.
check_bench() {
	"$IMG" bench -c 512 -d 16 -s 64k -f raw "$2" >o.io 2>&1 &&
		grep -q '^Run completed' o.io && "$IMG" compare -q -f raw -F raw "$2" ref.raw
	tap_result $? "$1: bench 64k depth 16, then the same bytes as the image" ||
		sed 's/^/# /' o.io
}

U="nbd+unix:///?socket=$psock"
for server in qemu-nbd "$NBD"; do
	s=$(basename "$server")
	nbd_start "$sock" "$server" -f qcow2 -t -e 0 -k "$sock" q.qcow2 || echo "# $s did not start"
	proxy_start "unix:$psock" "unix:$sock"
	check_reads "$s -e 0, default" 2 "\"$IO\" -f raw \"$U\""
	check_reads "$s -e 0, multi-conn=4" 4 "\"$IO\" -f raw \"$U&multi-conn=4\""
	check_reads "$s -e 0, multi-conn=1" 1 "\"$IO\" -f raw \"$U&multi-conn=1\""
	check_bench "$s -e 0" "$U"
	proxy_stop
	nbd_stop
done

# no NBD_FLAG_CAN_MULTI_CONN (one client at a time): one connection, whatever was asked
nbd_start "$sock" qemu-nbd -f qcow2 -t -k "$sock" q.qcow2 || echo "# qemu-nbd did not start"
proxy_start "unix:$psock" "unix:$sock"
check_reads "qemu-nbd without the flag, default" 1 "\"$IO\" -f raw \"$U\""
check_reads "qemu-nbd without the flag, multi-conn=4" 1 "\"$IO\" -f raw \"$U&multi-conn=4\""
check_bench "qemu-nbd without the flag" "$U"
proxy_stop
nbd_stop

# json: and --image-opts spell it as an option of the nbd driver
nbd_start "$sock" qemu-nbd -f qcow2 -t -e 0 -k "$sock" q.qcow2 || echo "# qemu-nbd did not start"
proxy_start "unix:$psock" "unix:$sock"
J="json:{\\\"driver\\\":\\\"raw\\\",\\\"file\\\":{\\\"driver\\\":\\\"nbd\\\",\\\"server\\\":{\\\"type\\\":\\\"unix\\\",\\\"path\\\":\\\"$psock\\\"},\\\"multi-conn\\\":3}}"
check_reads "json: multi-conn 3" 3 "\"$IO\" \"$J\""
check_reads "--image-opts multi-conn=2" 2 \
	"\"$IO\" --image-opts \"driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$psock,file.multi-conn=2\""
# the name shown stays qemu's spelling
"$IMG" info "$U&multi-conn=2" >o.txt 2>&1 && grep -q "^image: nbd+unix://?socket=$psock\$" o.txt
tap_result $? "info shows the name without multi-conn" || sed 's/^/# /' o.txt
for bad in 0 9 x; do
	"$IMG" info "$U&multi-conn=$bad" >o.txt 2>&1
	[ $? -eq 1 ] && grep -q "No valid URL specified" o.txt
	tap_result $? "multi-conn=$bad is refused" || sed 's/^/# /' o.txt
done
"$IO" --image-opts -c "read 0 4k" \
	"driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$psock,file.multi-conn=9" \
	>o.txt 2>&1
[ $? -eq 1 ] && grep -q "multi-conn' expects a number from 1 to 8" o.txt
tap_result $? "--image-opts multi-conn=9 is refused" || sed 's/^/# /' o.txt
proxy_stop
nbd_stop

# TCP: 3 connections through a TCP relay
port=$(nbd_free_port)
qemu-nbd -f qcow2 -t -e 0 -b 127.0.0.1 -p "$port" q.qcow2 >>server.log 2>&1 &
nbd_pid=$!
nbd_pids="$nbd_pids $nbd_pid"
nbd_wait_tcp "$port" || echo "# qemu-nbd (tcp) did not start"
pport=$(nbd_free_port)
proxy_start "tcp:$pport" "tcp:$port"
check_reads "tcp multi-conn=3" 3 "\"$IO\" -f raw \"nbd://127.0.0.1:$pport?multi-conn=3\""
check_bench "tcp default" "nbd://127.0.0.1:$pport"
proxy_stop
nbd_stop

# a server at its client limit: the third connection is never greeted
for server in qemu-nbd "$NBD"; do
	s=$(basename "$server")
	nbd_start "$sock" "$server" -f qcow2 -t -e 2 -k "$sock" q.qcow2 || echo "# $s did not start"
	eval "\"$IO\" -f raw $reads -c aio_flush \"nbd+unix:///?socket=$sock&multi-conn=4\"" >o.io 2>&1 &&
		[ "$(grep -c '^read ' o.io)" -eq 48 ] && ! grep -q -i "fail\|error" o.io
	tap_result $? "$s -e 2: 48 queued reads over the connections it takes" || sed 's/^/# /' o.io
	check_bench "$s -e 2" "nbd+unix:///?socket=$sock&multi-conn=3"
	nbd_stop
done
# strata-nbd in front of qemu-nbd: its event loop waits on the client's epoll descriptor
# over both connections; qemu-img reads through it
nbd_start "$sock" qemu-nbd -f qcow2 -t -e 0 -k "$sock" q.qcow2 || echo "# qemu-nbd did not start"
proxy_start "unix:$psock" "unix:$sock"
fsock=$TEST_TMPDIR/f
rm -f "$fsock"
timeout 300 "$NBD" -f raw -r -t -e 0 -k "$fsock" "$U" >>server.log 2>&1 &
front=$!
nbd_pids="$nbd_pids $front"
n=0
while [ ! -S "$fsock" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
qemu-img bench -c 512 -d 16 -s 64k -f raw "nbd+unix:///?socket=$fsock" >o.io 2>&1 &&
	qemu-img compare -q -f raw -F raw "nbd+unix:///?socket=$fsock" ref.raw
tap_result $? "strata-nbd over a multi-conn export: qemu-img bench, then the same bytes" ||
	sed 's/^/# /' o.io
got=$(grep -c '^conn' conns.log)
[ "$got" -eq 2 ]
tap_result $? "strata-nbd over a multi-conn export: 2 connections upstream" || echo "# saw $got"
kill "$front" 2>/dev/null
wait "$front" 2>/dev/null
proxy_stop
nbd_stop

# queued writes last (the reads above expect the image as made)
nbd_start "$sock" qemu-nbd -f qcow2 -t -e 0 -k "$sock" q.qcow2 || echo "# qemu-nbd did not start"
proxy_start "unix:$psock" "unix:$sock"
# queued writes (on the first connection), a flush, then reads spread over all four
"$IO" -f raw -c "aio_write -P 0xa5 64k 64k" -c "aio_write -P 0xa6 4M 4k" -c "aio_write -P 0xa7 7M 1M" \
	-c aio_flush -c "aio_read -P 0xa5 64k 64k" -c "aio_read -P 0xa6 4M 4k" \
	-c "aio_read -P 0xa7 7M 64k" -c "aio_read -P 0xa7 7232k 64k" -c "aio_read -P 0xa7 8128k 64k" \
	-c aio_flush "$U&multi-conn=4" >o.io 2>&1 && [ "$(grep -c '^read ' o.io)" -eq 5 ] && ! grep -q -i "fail\|error" o.io
tap_result $? "queued writes read back over 4 connections" || sed 's/^/# /' o.io
proxy_stop
nbd_stop
nbd_written_ok
tap_result $? "the image is check-clean and holds the written data"

echo "1..$tap_n"
[ $tap_failed -eq 0 ]
