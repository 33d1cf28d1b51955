#!/bin/sh
# Ceph RBD through librbd (blockcore/file-rbd.c) against QEMU 7.2's rbd driver, on a cluster
# of the test's own (tests/lib/ceph.sh: one monitor, one memstore OSD, 127.0.0.1 only):
#  - create/info/snapshot/resize texts, JSON and exit codes side by side with qemu-img (each
#    tool on its own image, the names swapped in qemu's output), errors for a missing pool or
#    image, a bad option and a missing conf file;
#  - data checked with the rbd tool (rbd export md5, rbd info size, rbd snap ls): convert
#    qcow2 -> rbd -> qcow2 byte-exact, interop both ways with qemu-img/qemu-io, strata-io
#    write/read -P, discard and write -z, queued reads/writes (strata-io aio_*, bench, strata-nbd
#    serving rbd), qcow2 on rbd (qemu-img check clean), a local qcow2
#    overlay over an rbd backing image, map (object-map holes) the same as qemu's;
#  - json: and --image-opts driver=rbd (pool, image, conf, user, server.N.*);
#  - strata-vm with an rbd drive: the bare-metal guest tests/vm/guest/diskwrite.c writes and
#    reads its disk, and the image holds the bytes QEMU's run leaves.
# Skipped (with the reason) only when the Ceph daemons cannot start here.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/ceph.sh"

if ! ceph_start; then
	echo "ok 1 - rbd tests # SKIP Ceph cannot start here: $ceph_why"
	exit 0
fi
C=$CEPH_CONF
rn() { echo "rbd:$CEPH_POOL/$1:conf=$C"; }       # an rbd: name for image $1
md5_rbd() { ceph_rbd export "$1" - 2>/dev/null | md5sum | cut -d' ' -f1; }
md5_file() { md5sum <"$1" | cut -d' ' -f1; }

# side NAME ARGS...: strata-img with images S* and qemu-img with the same images named Q*
# (@X@ in ARGS stands for the rbd: name of image X, spelled SX or QX): stdout, stderr and the
# exit status must be equal once qemu's names are ours.
side() {
	name=$1
	shift
	sargs="" qargs=""
	for a in "$@"; do
		sargs="$sargs '$(echo "$a" | sed "s|@\([a-z0-9]*\)@|rbd:$CEPH_POOL/S\1:conf=$C|g")'"
		qargs="$qargs '$(echo "$a" | sed "s|@\([a-z0-9]*\)@|rbd:$CEPH_POOL/Q\1:conf=$C|g")'"
	done
	eval "\"$IMG\" $sargs" >o.out 2>o.err; echo "rc=$?" >>o.out
	eval "qemu-img $qargs" >r.out 2>r.err; echo "rc=$?" >>r.out
	sed -i "s|\bQ\([a-z0-9]\)|S\1|g" r.out r.err
	compare_runs "$name" || true
}

# 1. create, info (human, JSON, every spelling), create over an existing image
side "create -f raw" create -f raw @a@ 64M
check "rbd info: both 64 MiB" sh -c "ceph_rbd() { timeout 60 rbd -c '$C' \"\$@\"; };
	ceph_rbd info Sa | grep -q 'size 64 MiB' && ceph_rbd info Qa | grep -q 'size 64 MiB'"
side "create over an existing image" create -f raw @a@ 64M
side "info" info @a@
side "info -f raw --output=json" info -f raw --output=json @a@
side "info :id=admin" info "rbd:$CEPH_POOL/Sa:conf=$C:id=admin"
sed_q() { echo "$1" | sed 's/Sa/Qa/'; }
for spec in "json:{\"driver\": \"rbd\", \"pool\": \"$CEPH_POOL\", \"image\": \"Sa\", \"conf\": \"$C\"}" \
	"json:{\"driver\": \"raw\", \"file\": {\"driver\": \"rbd\", \"pool\": \"$CEPH_POOL\", \"image\": \"Sa\", \"conf\": \"$C\"}}"; do
	"$IMG" info --output=json "$spec" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info --output=json "$(sed_q "$spec")" >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i 's/Qa/Sa/' r.out
	same_file "info json: ($(echo "$spec" | cut -c1-32)...)" o.out r.out
done
port=$(grep '^mon host' "$C" | sed 's/.*://')
for opts in "driver=rbd,pool=$CEPH_POOL,image=Sa,conf=$C,user=admin" \
	"driver=raw,file.driver=rbd,file.pool=$CEPH_POOL,file.image=Sa,file.conf=$C" \
	"driver=rbd,pool=$CEPH_POOL,image=Sa,conf=$C,server.0.host=127.0.0.1,server.0.port=$port"; do
	"$IMG" info --image-opts "$opts" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info --image-opts "$(sed_q "$opts")" >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i 's/Qa/Sa/' r.out
	same_file "info --image-opts $(echo "$opts" | cut -d, -f1-2)...$(echo "$opts" | grep -o 'server\|user' | head -1)" o.out r.out
done

# 2. errors: missing image, missing pool, an option without value, an unknown option, no conf
side "missing image" info @nosuch@
side "missing image (create -b raw over it)" snapshot -l @nosuch@
"$IMG" info "rbd:nopool/Sa:conf=$C" >o.out 2>&1; echo "rc=$?" >>o.out
qemu-img info "rbd:nopool/Sa:conf=$C" >r.out 2>&1; echo "rc=$?" >>r.out
normalize r.out >r.e; same_file "missing pool" o.out r.e
for bad in ":bogus" ":bogus_option=1"; do
	"$IMG" info "rbd:$CEPH_POOL/Sa:conf=$C$bad" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info "rbd:$CEPH_POOL/Sa:conf=$C$bad" >r.out 2>&1; echo "rc=$?" >>r.out
	normalize r.out >r.e; same_file "bad option '$bad'" o.out r.e
done
for opts in "driver=rbd,image=Sa,conf=$C" "driver=rbd,pool=$CEPH_POOL,conf=$C"; do
	"$IMG" info --image-opts "$opts" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info --image-opts "$opts" >r.out 2>&1; echo "rc=$?" >>r.out
	normalize r.out >r.e; same_file "--image-opts without $(echo "$opts" | grep -q pool= && echo image || echo pool)" o.out r.e
done
"$IO" -c "read 0 512" "$(rn nosuch)" >o.out 2>&1; echo "rc=$?" >>o.out
qemu-io -c "read 0 512" "$(rn nosuch)" >r.out 2>&1; echo "rc=$?" >>r.out
normalize r.out >r.e; same_file "strata-io: missing image" o.out r.e
"$IMG" info "rbd:$CEPH_POOL/Sa:conf=$TEST_TMPDIR/none.conf" >o.out 2>&1; echo "rc=$?" >>o.out
qemu-img info "rbd:$CEPH_POOL/Sa:conf=$TEST_TMPDIR/none.conf" >r.out 2>&1; echo "rc=$?" >>r.out
normalize r.out >r.e; same_file "missing conf file" o.out r.e

# 3. convert qcow2 -> rbd -> qcow2 byte-exact; rbd export holds the bytes
qemu-img create -q -f qcow2 src.qcow2 24M
qemu-io -f qcow2 -c "write -P 0xab 0 1M" -c "write -P 0x5c 5M 3M" -c "write -P 0x11 23M 1M" \
	src.qcow2 >/dev/null
qemu-img convert -f qcow2 -O raw src.qcow2 src.raw
side "convert qcow2 -> rbd" convert -f qcow2 -O raw src.qcow2 @c@
check "rbd export of ours = source" test "$(md5_rbd Sc)" = "$(md5_file src.raw)"
check "rbd export of qemu's = source" test "$(md5_rbd Qc)" = "$(md5_file src.raw)"
check "convert rbd -> qcow2" "$IMG" convert -f raw -O qcow2 "$(rn Sc)" back.qcow2
check "back.qcow2 = source (qemu-img compare)" qemu-img compare -f qcow2 -F qcow2 src.qcow2 back.qcow2
check "back.qcow2 check clean" qemu-img check -q back.qcow2
side "convert onto an existing image" convert -f qcow2 -O raw src.qcow2 @c@

# 4. interop both ways and strata-io on rbd
check "strata-io write -P" "$IO" -f raw -c "write -P 0x77 1M 64k" -c "write -P 0x78 20M 1M" "$(rn Sc)"
check "qemu-io reads ours" qemu-io -f raw -c "read -P 0x77 1M 64k" -c "read -P 0x78 20M 1M" \
	-c "read -P 0xab 0 1M" "$(rn Sc)"
check "qemu-io write -P" qemu-io -f raw -c "write -P 0x3c 2M 128k" -c "write -P 0x3d 9M 512" "$(rn Qc)"
check "strata-io reads qemu's" "$IO" -f raw -c "read -P 0x3c 2M 128k" -c "read -P 0x3d 9M 512" \
	-c "read -P 0x5c 6M 1M" "$(rn Qc)"
qemu-io -f raw -c "write -P 0x77 1M 64k" -c "write -P 0x78 20M 1M" "$(rn Qc)" >/dev/null
"$IO" -f raw -c "write -P 0x3c 2M 128k" -c "write -P 0x3d 9M 512" "$(rn Sc)" >/dev/null
check "same writes, same rbd export" test "$(md5_rbd Sc)" = "$(md5_rbd Qc)"
check "strata-io discard/write -z read as zeros" "$IO" -f raw -c "discard 8M 4M" \
	-c "read -P 0 8M 4M" -c "write -z 16M 1M" -c "read -P 0 16M 1M" -c flush "$(rn Sc)"
check "qemu-io sees the zeros" qemu-io -f raw -c "read -P 0 8M 4M" -c "read -P 0 16M 1M" "$(rn Sc)"
ceph_rbd export Sc Sc.raw >/dev/null 2>&1
check "strata-img compare rbd vs its export" "$IMG" compare -f raw -F raw "$(rn Sc)" Sc.raw
check "qcow2 on rbd: create" "$IMG" create -q -f qcow2 "$(rn Sq)" 32M
check "qcow2 on rbd: write" "$IO" -c "write -P 0x42 1M 2M" "$(rn Sq)"
check "qcow2 on rbd: qemu-img check clean" qemu-img check -q "$(rn Sq)"
check "qcow2 on rbd: qemu-io reads" qemu-io -c "read -P 0x42 1M 2M" "$(rn Sq)"
side "qcow2 on rbd: info" info "rbd:$CEPH_POOL/Sq:conf=$C"
check "qcow2 overlay on a local disk over an rbd backing image" "$IMG" create -q -f qcow2 \
	-b "$(rn Sc)" -F raw ov.qcow2
"$IMG" info ov.qcow2 >o.out 2>&1; qemu-img info ov.qcow2 >r.out 2>&1
same_file "overlay info = qemu-img's" o.out r.out
"$IMG" convert -O raw ov.qcow2 ov.raw && ceph_rbd export Sc Sc.raw >/dev/null 2>&1
same_file "overlay reads the rbd backing image" ov.raw Sc.raw

# queued requests: librbd's asynchronous calls, their completions announced on its eventfd;
# model.raw gets the same writes through qemu-io
ceph_rbd export Sc model.raw >/dev/null 2>&1
"$IO" -f raw -c "aio_write -P 0x61 3M 64k" -c "aio_write -P 0x62 3211264 4k" \
	-c "aio_write -P 0x63 12M 1M" -c aio_flush -c "aio_read -P 0x61 3M 64k" \
	-c "aio_read -P 0x62 3211264 4k" -c "aio_read -P 0x63 12M 1M" -c "aio_read -P 0xab 0 1M" \
	-c aio_flush "$(rn Sc)" >o.io 2>&1 && [ "$(grep -c '^read ' o.io)" -eq 4 ] &&
	! grep -q -i "fail\|error" o.io
tap_result $? "strata-io queued writes and reads on rbd" || sed 's/^/# /' o.io
qemu-io -f raw -c "write -P 0x61 3M 64k" -c "write -P 0x62 3211264 4k" -c "write -P 0x63 12M 1M" \
	model.raw >/dev/null
"$IMG" bench -w --pattern=0x64 -c 256 -d 16 -s 4k -S 12288 -o 14M -f raw "$(rn Sc)" >o.io 2>&1
tap_result $? "strata-img bench -w depth 16 on rbd" || sed 's/^/# /' o.io
qemu-img bench -w --pattern=0x64 -c 256 -d 16 -s 4k -S 12288 -o 14M -f raw model.raw >/dev/null 2>&1
check "queued writes: the rbd export holds what qemu's tools write to a copy" \
	test "$(md5_rbd Sc)" = "$(md5_file model.raw)"
check "strata-img bench depth 16 reads on rbd" "$IMG" bench -c 384 -d 16 -s 64k -f raw "$(rn Sc)"
# strata-nbd serving rbd: its event loop waits on librbd's eventfd for the completions
rm -f nbd.sock
timeout 120 "${STRATA_NBD:-$SRC_DIR/build/rel/strata-nbd}" -f raw -t -k "$TEST_TMPDIR/nbd.sock" \
	"$(rn Sc)" >nbd.log 2>&1 &
nbd_pid=$!
n=0; while [ ! -S nbd.sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
U="nbd+unix:///?socket=$TEST_TMPDIR/nbd.sock"
{ qemu-img bench -c 384 -d 16 -s 64k -f raw "$U" && qemu-img compare -f raw -F raw "$U" model.raw &&
	qemu-io -f raw -c "aio_write -P 0x65 17M 64k" -c "aio_write -P 0x66 18M 4k" -c aio_flush "$U"
} >o.io 2>&1
tap_result $? "strata-nbd serving rbd: qemu-img bench and compare, qemu-io queued writes" ||
	sed 's/^/# /' o.io nbd.log
kill "$nbd_pid" 2>/dev/null; wait "$nbd_pid" 2>/dev/null
qemu-io -f raw -c "write -P 0x65 17M 64k" -c "write -P 0x66 18M 4k" model.raw >/dev/null
check "writes through strata-nbd reached the rbd image" \
	test "$(md5_rbd Sc)" = "$(md5_file model.raw)"

# map: whole objects from RBD's object map, as qemu reports them
for who in S Q; do
	ceph_rbd create --size 16M ${who}m >/dev/null 2>&1
	qemu-io -f raw -c "write -P 1 1M 64k" -c "write -P 2 9M 5M" -c "discard 8M 4M" \
		"$(rn ${who}m)" >/dev/null
done
side "map" map -f raw @m@
side "map --output=json" map -f raw --output=json @m@
side "convert a sparse rbd image to qcow2" convert -f raw -O qcow2 @m@ m.qcow2
check "qemu-img compare rbd image and its qcow2" qemu-img compare -f raw -F qcow2 "$(rn Qm)" m.qcow2

# 5. resize
side "resize grow" resize -f raw @a@ 96M
check "rbd info: 96 MiB" sh -c "rbd -c '$C' info Sa | grep -q 'size 96 MiB'"
side "resize shrink without --shrink" resize -f raw @a@ 32M
side "resize --shrink" resize -f raw --shrink @a@ 32M
side "resize +" resize -f raw @a@ +1M
check "rbd info: 33 MiB" sh -c "rbd -c '$C' info Sa | grep -q 'size 33 MiB'"

# 6. snapshots are RBD's own
side "snapshot -c" snapshot -c s1 @c@
check "rbd snap ls shows s1" sh -c "rbd -c '$C' snap ls Sc | grep -q ' s1 '"
side "snapshot -l" snapshot -l @c@
side "snapshot -c (exists)" snapshot -c s1 @c@
side "snapshot -c (empty name)" snapshot -c "" @c@
side "info with a snapshot" info -f raw @c@
side "info @SNAP" info "rbd:$CEPH_POOL/Sc@s1:conf=$C"
side "write to @SNAP refused" snapshot -c s9 "rbd:$CEPH_POOL/Sc@s1:conf=$C"
before=$(md5_rbd Sc)
"$IO" -f raw -c "write -P 0x99 0 4M" "$(rn Sc)" >/dev/null
check "written after the snapshot" test "$(md5_rbd Sc)" != "$before"
check "@SNAP still reads the old data" "$IO" -r -f raw -c "read -P 0xab 0 1M" \
	"rbd:$CEPH_POOL/Sc@s1:conf=$C"
side "snapshot -a" snapshot -a s1 @c@
check "snapshot -a rolled back (rbd export)" test "$(md5_rbd Sc)" = "$before"
side "snapshot -a (missing)" snapshot -a nosuch @c@
side "snapshot -d (missing)" snapshot -d nosuch @c@
side "snapshot -d" snapshot -d s1 @c@
check "rbd snap ls empty" sh -c "test -z \"\$(rbd -c '$C' snap ls Sc)\""

# 7. strata-vm with an rbd drive: the guest writes and reads back its disk; QEMU's run on
# another image leaves the same bytes
ELF=${BUILD_DIR:-$SRC_DIR/build/rel}/vm/guest/diskwrite.elf
VM=${STRATA_VM:-$SRC_DIR/build/rel/strata-vm}
if [ -x "$VM" ] && [ -f "$ELF" ] && command -v qemu-system-riscv64 >/dev/null; then
	ceph_rbd create --size 4M Svm && ceph_rbd create --size 4M Qvm
	timeout 300 python3 "$SRC_DIR/tests/lib/rbd_vm.py" "$VM" "$ELF" "$(rn Svm)" "$TEST_TMPDIR" >vm.out 2>&1
	tap_result $? "strata-vm: guest writes and reads its rbd disk" || sed 's/^/# /' vm.out
	timeout 300 python3 "$SRC_DIR/tests/lib/rbd_vm.py" qemu-system-riscv64 "$ELF" "$(rn Qvm)" \
		"$TEST_TMPDIR" >vm.out 2>&1
	tap_result $? "qemu-system-riscv64: the same guest on rbd" || sed 's/^/# /' vm.out
	check "strata-vm's rbd image = QEMU's (rbd export)" test "$(md5_rbd Svm)" = "$(md5_rbd Qvm)"
else
	echo "ok $((tap_n + 1)) - strata-vm with an rbd drive # SKIP needs $VM, $ELF, qemu-system-riscv64"
	tap_n=$((tap_n + 1))
fi
echo "# cluster start: ${ceph_start_secs}s"
tap_end
