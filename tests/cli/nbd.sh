#!/bin/sh
# NBD interop both ways against QEMU 7.2 (unix sockets and 127.0.0.1 only):
#  - qemu-img/qemu-io against strata-nbd: data byte-exact, info/map (base:allocation) and
#    qemu-nbd -L (flags, block sizes, contexts) the same as against qemu-nbd, write/zero/trim
#    leave the same bytes and a check-clean image, TCP, -x/-D, -r, -s, -e 3 with two writers
#    and a reader (the io_uring and the poll loop), the exit after the last client,
#    --fork/--pid-file;
#  - strata-img/strata-io against qemu-nbd (and strata-nbd): info, map, compare, convert,
#    write/zero/discard, every NBD spelling (nbd://, nbd+unix://, nbd:unix:, json:, --image-opts);
#  - strata-nbd's and the client's error texts and exit codes against qemu-nbd's/qemu-img's.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

sock=$TEST_TMPDIR/s
U="nbd+unix:///?socket=$sock"
qemu-img create -q -f qcow2 base.qcow2 16M
qemu-io -f qcow2 -c "write -P 0x11 0 2M" -c "write -P 0x22 8M 64k" base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 disk.qcow2
qemu-io -f qcow2 -c "write -P 0x33 1M 512k" -c "write -z 8M 4k" -c "write -P 0x44 12M 1M" \
	disk.qcow2 >/dev/null
qemu-img convert -f qcow2 -O raw disk.qcow2 ref.raw

# serve WHO ARGS...: starts qemu-nbd or strata-nbd on $sock with ARGS.
serve() {
	who=$1
	shift
	if [ "$who" = qemu ]; then nbd_start "$sock" qemu-nbd -k "$sock" "$@"
	else nbd_start "$sock" "$NBD" -k "$sock" "$@"; fi
}

# 1. qemu's clients see the same export from both servers (-e 1 and -e 2: multi-conn).
for who in qemu ours; do
	serve $who -f qcow2 -t -e 2 -r disk.qcow2
	qemu-nbd -L -k "$sock" >$who.list2 2>&1
	nbd_stop
	serve $who -f qcow2 -t -r disk.qcow2 || echo "# $who server did not start"
	qemu-img info "$U" >$who.info 2>&1
	qemu-img map --output=json "$U" >$who.map 2>&1
	qemu-img map "$U" >$who.hmap 2>&1
	qemu-img map --output=json --image-opts \
		"driver=nbd,server.type=unix,server.path=$sock,x-dirty-bitmap=qemu:allocation-depth" \
		>/dev/null 2>&1
	qemu-nbd -L -k "$sock" >$who.list 2>&1
	qemu-img compare -f raw -F raw "$U" ref.raw >$who.cmp 2>&1; echo "rc=$?" >>$who.cmp
	qemu-io -r -f raw -c "read -P 0x33 1M 512k" -c "read -P 0 8M 4k" -c "read -P 0x22 8392704 60k" \
		"$U" | grep -v "ops/sec" >$who.io 2>&1
	nbd_stop
done
same_file "qemu-img info over strata-nbd" ours.info qemu.info
same_file "qemu-img map --output=json (base:allocation) over strata-nbd" ours.map qemu.map
same_file "qemu-img map (human) over strata-nbd" ours.hmap qemu.hmap
same_file "qemu-nbd -L: flags, block sizes, contexts of a read-only export" ours.list qemu.list
same_file "qemu-nbd -L: -e 2 advertises multi-conn" ours.list2 qemu.list2
same_file "qemu-img compare: the export is byte-exact" ours.cmp qemu.cmp
same_file "qemu-io read -P over strata-nbd" ours.io qemu.io

# 2. -A (qemu:allocation-depth), -x, -D in the listing.
for who in qemu ours; do
	serve $who -f qcow2 -t -A -x "my disk" -D "the test disk" disk.qcow2
	qemu-nbd -L -k "$sock" >$who.list 2>&1
	qemu-img map --output=json --image-opts "driver=nbd,server.type=unix,server.path=$sock,export=my disk,x-dirty-bitmap=qemu:allocation-depth" >$who.depth 2>&1
	nbd_stop
done
same_file "qemu-nbd -L with -A -x -D (writable export)" ours.list qemu.list
same_file "qemu:allocation-depth as qemu-img map reads it" ours.depth qemu.depth

# 3. Writes, write-zeroes (with and without holes), trim and FUA through qemu-io.
ops='-c "write -P 0x55 3M 128k" -c "write -z 12M 64k" -c "write -z -u 12713984 64k" -c "discard 1M 64k" -c "write -f -P 0x66 5M 4k" -c "aio_write -P 0x77 6M 8k" -c "aio_flush" -c "flush"'
for who in qemu ours; do
	cp disk.qcow2 $who.qcow2
	serve $who -f qcow2 --discard=unmap $who.qcow2
	eval qemu-io -f raw $ops '"$U"' | grep -v "ops/sec" >$who.wio 2>&1
	wait "$nbd_pid"    # not persistent: the server leaves with its last client
	echo "exit=$?" >>$who.wio
	# the zeroed and trimmed ranges (elsewhere qcow2 COW padding may differ between engines)
	qemu-img map --output=json -f qcow2 --start-offset=12M --max-length=1M $who.qcow2 >$who.wmap
	qemu-img map --output=json -f qcow2 --start-offset=1M --max-length=64k $who.qcow2 >>$who.wmap
done
same_file "qemu-io writes, zeroes, trim, FUA through strata-nbd; server exits after the client" ours.wio qemu.wio
qemu-img check -q ours.qcow2
tap_result $? "the written image is check-clean"
qemu-img compare -q -f qcow2 -F qcow2 ours.qcow2 qemu.qcow2
tap_result $? "the written image holds the same bytes as through qemu-nbd"
same_file "the written image maps the same (zeroes/trim deallocated alike)" ours.wmap qemu.wmap

# 4. TCP on 127.0.0.1.
port=$(nbd_free_port)
timeout 300 "$NBD" -f qcow2 -r -b 127.0.0.1 -p "$port" -t disk.qcow2 >>server.log 2>&1 &
nbd_pid=$!
nbd_pids="$nbd_pids $nbd_pid"
nbd_wait_tcp "$port"
qemu-img compare -q -f raw -F raw "nbd://127.0.0.1:$port" ref.raw
tap_result $? "TCP: qemu-img compare nbd://127.0.0.1:PORT"
"$IMG" compare -q -f raw -F raw "nbd://127.0.0.1:$port/" ref.raw
tap_result $? "TCP: strata-img compare against strata-nbd"
"$IMG" info "nbd:127.0.0.1:$port" >o.txt 2>&1
qemu-img info "nbd:127.0.0.1:$port" >r.txt 2>&1
sed -i "s/qemu-img/strata-img/g" r.txt
same_file "TCP: strata-img info nbd:HOST:PORT as qemu-img" o.txt r.txt
nbd_stop

# 5. -e 2: two writers and a reader at once on one export, with the server's io_uring loop and
# with its poll(2) fallback (STRATA_NBD_POLL=1); then -s keeps the file untouched.
for mode in uring poll; do
	cp disk.qcow2 two.qcow2
	if [ $mode = poll ]; then export STRATA_NBD_POLL=1; fi
	# -t: without it the server would end when the first writer left, if it left before the
	# second connected (seen under load)
	serve ours -f qcow2 -e 3 -t two.qcow2
	unset STRATA_NBD_POLL
	qemu-io -f raw -c "write -P 0xa1 0 4M" "$U" >/dev/null 2>&1 &
	w1=$!
	qemu-io -f raw -c "read -P 0 9M 3M" "$U" >/dev/null 2>&1 &
	w3=$!
	qemu-io -f raw -c "write -P 0xb2 4M 4M" "$U" >/dev/null 2>&1
	r2=$?
	wait $w1
	r1=$?
	"$IO" -f raw -c "aio_read -P 0xa1 0 64k" -c "aio_read -P 0xb2 4M 64k" -c aio_flush "$U" \
		>/dev/null 2>&1
	r4=$?
	wait $w3
	r3=$?
	nbd_stop
	[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && [ $r4 -eq 0 ]
	tap_result $? "-e 3 ($mode loop): two clients write and one reads at once"
	qemu-io -f qcow2 -c "read -P 0xa1 0 4M" -c "read -P 0xb2 4M 4M" two.qcow2 >/dev/null 2>&1 &&
		qemu-img check -q two.qcow2
	tap_result $? "-e 3 ($mode loop): both clients' data landed, check clean"
done

cp disk.qcow2 snap.qcow2
serve ours -f qcow2 -s snap.qcow2
qemu-io -f raw -c "write -P 0xcc 0 1M" -c "read -P 0xcc 0 1M" "$U" >/dev/null 2>&1
tap_result $? "-s: the export takes writes"
wait "$nbd_pid"
qemu-img compare -q -f qcow2 -F raw snap.qcow2 ref.raw
tap_result $? "-s: the file itself is untouched"

# 6. --fork and --pid-file: the parent returns once the server listens.
rm -f "$sock" pidf
timeout 60 "$NBD" --fork --pid-file="$TEST_TMPDIR/pidf" -f qcow2 -r -k "$sock" disk.qcow2
rc=$?
pid=$(cat pidf 2>/dev/null)
[ $rc -eq 0 ] && [ -S "$sock" ] && [ -n "$pid" ] && kill -0 "$pid"
tap_result $? "--fork returns 0 with the server listening and its pid in --pid-file"
[ -n "$pid" ] && nbd_pids="$nbd_pids $pid"
qemu-img compare -q -f raw -F raw "$U" ref.raw
tap_result $? "--fork: the forked server serves"
n=0; while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
! kill -0 "$pid" 2>/dev/null
tap_result $? "--fork: the server exits after its client"

# 7. Our client against qemu-nbd: the same answers as qemu-img's client.
qemu-nbd -k "$sock" -f qcow2 -t -x ex disk.qcow2 >/dev/null 2>&1 &
nbd_pid=$!
nbd_pids="$nbd_pids $nbd_pid"
n=0; while [ ! -S "$sock" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
E="nbd+unix:///ex?socket=$sock"
for nm in "$E" "nbd:unix:$sock:exportname=ex" \
	"json:{\"driver\":\"raw\",\"file\":{\"driver\":\"nbd\",\"export\":\"ex\",\"server\":{\"type\":\"unix\",\"path\":\"$sock\"}}}"; do
	compare_img "strata-img info $nm" info "$nm"
	compare_img "strata-img map --output=json $nm" map --output=json "$nm"
	compare_img "strata-img map $nm" map "$nm"
done
compare_img "strata-img info --image-opts driver=raw,file.driver=nbd,..." info --image-opts \
	"driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$sock,file.export=ex"
compare_img "strata-img compare against qemu-nbd" compare -f raw -F raw "$E" ref.raw
compare_img "strata-img unknown export" info "nbd+unix:///nope?socket=$sock"
compare_img "strata-img bad URL" info "nbd://127.0.0.1:x/y"
compare_img "strata-img nbd:HOST without port" info "nbd:127.0.0.1"
compare_img "strata-img nothing listening" info "nbd+unix:///?socket=$TEST_TMPDIR/none"
"$IMG" convert -f raw -O qcow2 "$E" conv.qcow2 && qemu-img compare -q -F raw conv.qcow2 ref.raw
tap_result $? "strata-img convert from qemu-nbd"
"$IO" -f raw -c "write -P 0x99 2M 64k" -c "write -z 2M 4k" -c "write -z -u 2105344 4k" \
	-c "discard 3M 4k" -c "read -P 0 2M 4k" -c "read -P 0x99 2101248 4k" -c "flush" "$E" >o.io 2>&1
tap_result $? "strata-io write/zero/discard against qemu-nbd" || sed 's/^/# /' o.io
# queued requests stay in flight together (replies matched by handle, hole chunks of
# sparse reads included); reads and writes in turn
"$IO" -f raw -c "aio_read -P 0x11 0 64k" -c "aio_read -P 0x33 1M 64k" -c "aio_read -P 0 4M 64k" \
	-c "aio_read -P 0x44 12M 1M" -c "aio_write -P 0x66 5M 64k" -c "aio_write -P 0x67 6M 4k" \
	-c "aio_read -P 0x22 8392704 4k" -c "aio_flush" -c "read -P 0x66 5M 64k" \
	-c "read -P 0x67 6M 4k" "$E" >o.io 2>&1 && ! grep -q -i "fail\|error" o.io
tap_result $? "strata-io queued reads and writes against qemu-nbd" || sed 's/^/# /' o.io
"$IMG" bench -c 3000 -d 16 -s 4k -S 12288 -f raw "$E" >o.io 2>&1 &&
	"$IMG" bench -w --pattern=0x77 -c 200 -d 16 -s 4k -S 12288 -o 13M -f raw "$E" >>o.io 2>&1 &&
	"$IO" -f raw -c "read -P 0x77 13M 4k" -c "read -P 0 13635584 8k" -c "read -P 0x77 13643776 4k" \
	"$E" >>o.io 2>&1 && ! grep -q -i "fail\|error" o.io
tap_result $? "strata-img bench depth 16 against qemu-nbd" || sed 's/^/# /' o.io
kill "$nbd_pid"; wait "$nbd_pid" 2>/dev/null
qemu-img check -q disk.qcow2 && qemu-io -f qcow2 -c "read -P 0 2M 4k" -c "read -P 0x99 2101248 4k" \
	-c "read -P 0 2105344 4k" -c "read -P 0 3M 4k" disk.qcow2 >/dev/null
tap_result $? "the writes reached qemu-nbd's image, check clean"

# 8. The image lock: the same OFD lock bytes as qemu-nbd takes (read-write, -r; qcow2, raw).
locks_of() {
	ino=$(stat -c %i "$1")
	awk -v ino=":$ino\$" '$2 == "OFDLCK" && $6 ~ ino { print $7, $8 }' /proc/locks | sort
}
qemu-img create -q -f raw lk.raw 1M
for args in "-f qcow2 disk.qcow2" "-r -f qcow2 disk.qcow2" "-f raw lk.raw" "-r -f raw lk.raw"; do
	f=${args##* }
	for who in qemu ours; do
		serve $who $args
		locks_of "$f" >$who.locks
		nbd_stop
	done
	[ -s qemu.locks ] || echo "# no locks seen for qemu-nbd $args"
	same_file "image lock bytes as qemu-nbd's: $args" ours.locks qemu.locks
done

# 9. strata-nbd's option errors: same text and exit code as qemu-nbd's.
cmp_nbd() {
	name=$1
	shift
	timeout 20 "$NBD" "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	timeout 20 qemu-nbd "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	sed -e "s/qemu-nbd/strata-nbd/g" r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then tap_result 0 "$name"; else
		tap_result 1 "$name"; diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'; fi
}
ln -sf "$NBD" strata-nbd
PATH=$TEST_TMPDIR:$PATH
NBD=strata-nbd
cmp_nbd "no file" -k "$sock"
cmp_nbd "two files" -k "$sock" a b
cmp_nbd "missing file" -k "$sock" nonexist.img
cmp_nbd "unknown format" -k "$sock" -f foo disk.qcow2
cmp_nbd "bad shared" -k "$sock" -e -1 disk.qcow2
cmp_nbd "bad cache" -k "$sock" --cache=foo disk.qcow2
cmp_nbd "bad aio" -k "$sock" --aio=foo disk.qcow2
cmp_nbd "bad discard" -k "$sock" --discard=foo disk.qcow2
cmp_nbd "bad detect-zeroes" -k "$sock" --detect-zeroes=foo disk.qcow2
cmp_nbd "detect-zeroes=unmap without discard" -k "$sock" --detect-zeroes=unmap disk.qcow2
cmp_nbd "socket in a missing directory" -k "$TEST_TMPDIR/no/s" disk.qcow2
cmp_nbd "unknown option" --bogus disk.qcow2
cmp_nbd "bad port" -p abc disk.qcow2
cmp_nbd "aio=native without cache=none" -k "$sock" --aio=native disk.qcow2
cmp_nbd "-B: no such bitmap" -k "$sock" -B bm disk.qcow2
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
