#!/bin/sh
# strata-nbd -B: qcow2 persistent dirty bitmaps exported as qemu:dirty-bitmap:NAME block-status
# contexts, side by side with qemu-nbd 7.2 (unix sockets only): the context listing
# (qemu-nbd -L), qemu-img map through x-dirty-bitmap, writes through a writable export marking
# an enabled bitmap (and not a disabled one), the bitmap kept in the image afterwards, and the
# error texts and exit codes for a missing bitmap.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

sock=$TEST_TMPDIR/s
qemu-img create -q -f qcow2 bm.qcow2 16M
qemu-img bitmap --add bm.qcow2 b0
qemu-img bitmap --add -g 128k --disable bm.qcow2 b1
qemu-io -f qcow2 -c "write -P 0x11 1M 64k" -c "write -P 0x22 5M 8k" -c "write -P 0x33 15M 1M" \
	bm.qcow2 >/dev/null
qemu-img bitmap --add -g 512k bm.qcow2 b2
qemu-img bitmap --enable bm.qcow2 b1
qemu-io -f qcow2 -c "write -P 0x44 7M 4k" bm.qcow2 >/dev/null

map_of() { # BITMAP
	qemu-img map --output=json --image-opts \
		"driver=nbd,server.type=unix,server.path=$sock,x-dirty-bitmap=qemu:dirty-bitmap:$1"
}
serve() { # qemu|strata ARGS...
	side=$1
	shift
	if [ "$side" = qemu ]; then nbd_start "$sock" qemu-nbd -k "$sock" "$@"
	else nbd_start "$sock" "$NBD" -k "$sock" "$@"; fi
}

# 1. Read-only export of three bitmaps (two orders of -B): listing and maps.
for who in qemu strata; do
	for order in "-B b0 -B b1 -B b2" "-B b2 -B b0"; do
		serve $who -t -r -f qcow2 $order bm.qcow2 || echo "server did not start"
		qemu-nbd -L -k "$sock"
		for b in b0 b1 b2; do map_of $b; done
		nbd_stop
	done >ro.$who 2>&1
done
cmp -s ro.qemu ro.strata
tap_result $? "read-only export: contexts listed and bitmaps mapped as by qemu-nbd" ||
	diff ro.qemu ro.strata | sed 's/^/# /'
grep -q '"start": 1048576, "length": 65536, "depth": 0, "present": false' ro.strata
tap_result $? "a dirty range shows in the map" || sed 's/^/# /' ro.strata

# 2. Writable export: writes, zeroes and trim through it mark the enabled bitmaps.
for who in qemu strata; do
	cp bm.qcow2 w.$who.qcow2
	serve $who -t -f qcow2 --discard=unmap -B b0 -B b2 -B b1 w.$who.qcow2 ||
		echo "server did not start"
	qemu-io -f raw -c "write -P 0x55 8M 4k" -c "write -z 9M 192k" -c "discard 12M 64k" \
		"nbd+unix:///?socket=$sock" >/dev/null
	for b in b0 b1 b2; do map_of $b; done >rw.$who 2>&1
	nbd_stop
	# the bitmaps stay in the image: served again by qemu-nbd
	serve qemu -t -r -f qcow2 -B b0 -B b2 w.$who.qcow2
	for b in b0 b2; do map_of $b; done >kept.$who 2>&1
	nbd_stop
done
cmp -s rw.qemu rw.strata
tap_result $? "writable export: writes through it mark the enabled bitmaps as qemu-nbd's" ||
	diff rw.qemu rw.strata | sed 's/^/# /'
cmp -s kept.qemu kept.strata
tap_result $? "the bitmaps as stored in the image afterwards are the same" ||
	diff kept.qemu kept.strata | sed 's/^/# /'
qemu-img check -q w.strata.qcow2 && qemu-img compare -q w.qemu.qcow2 w.strata.qcow2
tap_result $? "same data, check clean"

# 3. libnbd's nbdinfo (deps/base.txt: libnbd-bin) as a third client: the export's description
# and the maps of all three contexts at once (an overlay: base:allocation, allocation depth, b0).
qemu-img create -q -f qcow2 -b bm.qcow2 -F qcow2 ov.qcow2
qemu-img bitmap --add ov.qcow2 b0
qemu-io -f qcow2 -c "write 2M 64k" -c "write -z 4M 1M" ov.qcow2 >/dev/null
if command -v nbdinfo >/dev/null 2>&1; then
	U="nbd+unix:///?socket=$sock"
	for who in qemu strata; do
		{
			serve $who -t -r -A -B b0 -f qcow2 ov.qcow2 || echo "server did not start"
			timeout 20 nbdinfo "$U"
			timeout 20 nbdinfo --list "$U"
			for ctx in base:allocation qemu:allocation-depth qemu:dirty-bitmap:b0; do
				timeout 20 nbdinfo --map="$ctx" "$U"
				timeout 20 nbdinfo --map="$ctx" --totals "$U"
			done
			nbd_stop
		} >ni.$who 2>&1
	done
	cmp -s ni.qemu ni.strata
	tap_result $? "nbdinfo: the same description and maps from both servers" ||
		diff ni.qemu ni.strata | sed 's/^/# /'
else
	tap_result 0 "nbdinfo # SKIP libnbd-bin not installed"
fi

# 4. -B names a bitmap of a backing file: found down the chain as qemu-nbd finds it; writes
# through a writable export go to the top image and leave that bitmap alone.
qemu-img create -q -f qcow2 bb.qcow2 16M
qemu-img bitmap --add bb.qcow2 bk
qemu-io -f qcow2 -c "write -P 0x11 1M 64k" bb.qcow2 >/dev/null
for who in qemu strata; do
	for ro in -r ""; do
		qemu-img create -q -f qcow2 -b bb.qcow2 -F qcow2 bo.$who.qcow2
		serve $who -t $ro -f qcow2 -B bk bo.$who.qcow2 || echo "server did not start"
		[ -z "$ro" ] && qemu-io -f raw -c "write -P 0x22 3M 64k" "nbd+unix:///?socket=$sock" |
			sed -n 1p
		map_of bk
		nbd_stop
	done >bk.$who 2>&1
	qemu-img info bb.qcow2 | grep -A6 bitmaps >>bk.$who
done
cmp -s bk.qemu bk.strata
tap_result $? "a backing file's bitmap: maps as qemu-nbd's, read-only and writable" ||
	diff bk.qemu bk.strata | sed 's/^/# /'
grep -q '"start": 1048576, "length": 65536, "depth": 0, "present": false' bk.strata &&
	grep -q "^wrote" bk.strata
tap_result $? "the backing bitmap's dirty range shows, the write went through" ||
	sed 's/^/# /' bk.strata

# 5. Errors: the same text and exit code as qemu-nbd.
cmp_nbd() {
	name=$1
	shift
	rm -f "$sock"
	timeout 20 "$NBD" "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	rm -f "$sock"
	timeout 20 qemu-nbd "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	sed -e "s/qemu-nbd/strata-nbd/g" r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then tap_result 0 "$name"; else
		tap_result 1 "$name"; diff o.out r.out | sed 's/^/# /'; diff o.err r.e | sed 's/^/# /'; fi
}
ln -sf "$NBD" strata-nbd
PATH=$TEST_TMPDIR:$PATH
NBD=strata-nbd
qemu-img create -q -f raw r.raw 1M
cmp_nbd "missing bitmap" -k "$sock" -B nope bm.qcow2
cmp_nbd "one of two bitmaps missing" -k "$sock" -B b0 -B nope bm.qcow2
cmp_nbd "bitmap of a raw image" -k "$sock" -f raw -B b0 r.raw
cmp_nbd "pid file in a missing directory" -k "$sock" -B b0 --pid-file="$TEST_TMPDIR/no/p" bm.qcow2
test "$(qemu-img info bm.qcow2 | grep -c in-use)" = 0
tap_result $? "no bitmap left in use after the errors"
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
