#!/bin/sh
# The Linux test guest (tests/guest/build.sh) booting from an NBD-exported qcow2 with a local
# overlay: strata-nbd exports the root disk read-only (-e 0, several clients), and both
# strata-vm and qemu-system-riscv64 7.2 boot from their own qcow2 overlay whose backing file is
# the NBD export (nbd+unix://). The guest's rw test runs; what it wrote is read back on the
# host through the overlay (and the NBD base); the overlays pass check; the exported image is
# unchanged. Then strata-vm boots with the NBD export itself as its drive (writable export).
# Skips only when the guest cannot be built (Debian archive not reachable).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null' EXIT

[ -x "$VM" ] && [ -x "$IMG" ] && [ -x "$NBD" ] || bail "strata-vm, strata-img or strata-nbd not built"
[ -r "$FW" ] || bail "$FW not found (make deps: opensbi)"
guest_find "NBD boot"

sock=$TMP/nbd.sock
U="nbd+unix:///?socket=$sock"
cp "$G/rootfs.qcow2" "$TMP/base.qcow2"
base_sum=$(sha256sum <"$TMP/base.qcow2")
timeout $((TIMEOUT + 120)) "$NBD" -f qcow2 -r -e 0 -t -k "$sock" "$TMP/base.qcow2" \
	>"$TMP/server.log" 2>&1 &
server=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { sed 's/^/# /' "$TMP/server.log"; bail "strata-nbd did not start"; }
for e in s q; do
	"$IMG" create -q -f qcow2 -b "$U" -F raw "$TMP/$e-top.qcow2" || bail "strata-img create over NBD"
done

boot() { # NAME EMULATOR IMAGE
	timeout -k 5 "$TIMEOUT" "$2" -M virt -m 256M -smp 1 -nographic -no-reboot -bios "$FW" \
		-kernel "$G/Image" -initrd "$G/initrd.gz" \
		-append "root=/dev/vda console=ttyS0 quiet strata.test=rw" \
		-drive file="$3",format=qcow2,if=none,id=hd0 -device virtio-blk-device,drive=hd0 \
		</dev/null >"$TMP/$1.raw" 2>&1
	echo $? >"$TMP/$1.rc"
	tr -d '\r' <"$TMP/$1.raw" >"$TMP/$1.log"
}
boot qemu "$QEMU" "$TMP/q-top.qcow2" &
qpid=$!
boot strata "$VM" "$TMP/s-top.qcow2"
wait $qpid

field() { sed -n "s/^STRATA $2 //p" "$TMP/$1.log" | head -n 1; }
seed_md5=$(yes "strata seed line" | head -c 1048576 | md5sum | cut -d ' ' -f 1)
host_files() { # IMAGE: "<md5 of /data> <entries in /files>" read through the overlay and NBD
	"$IMG" convert -f qcow2 -O raw "$1" "$TMP/host.raw" || return 1
	m=$(debugfs -R 'cat /data' "$TMP/host.raw" 2>/dev/null | md5sum | cut -d ' ' -f 1)
	c=$(debugfs -R 'ls -p /files' "$TMP/host.raw" 2>/dev/null | grep -c '/f[0-9]*/')
	rm -f "$TMP/host.raw"
	echo "$m $c"
}
for e in strata qemu; do
	im=$TMP/s-top.qcow2
	[ $e = qemu ] && im=$TMP/q-top.qcow2
	check "$e: boots from the NBD-backed overlay, runs the rw test, powers off (status $(cat "$TMP/$e.rc"))" \
		'[ "$(cat "$TMP/$e.rc")" = 0 ] && grep -qx "STRATA test rw: exit 0" "$TMP/$e.log"'
	check "$e: the guest reads the seed file from the NBD base" '[ "$(field $e "rw: seed")" = "$seed_md5" ]'
	h=$(host_files "$im")
	check "$e: the host reads back what the guest wrote ($h)" \
		'[ -n "$(field $e "rw: md5")" ] && [ "$(field $e "rw: md5" | sed "s/ files//")" = "$h" ]'
	check "$e: strata-img check passes on the overlay" '"$IMG" check -q "$im"'
	check "$e: qemu-img check passes on the overlay" 'qemu-img check -q "$im"'
	[ "$(cat "$TMP/$e.rc")" = 0 ] || tail -n 8 "$TMP/$e.log" | sed "s/^/# $e: /"
done
check "strata-vm and QEMU print the same results" \
	'[ "$(grep "^STRATA rw" "$TMP/qemu.log")" = "$(grep "^STRATA rw" "$TMP/strata.log")" ]'
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
server=""
check "the exported image is unchanged" '[ "$(sha256sum <"$TMP/base.qcow2")" = "$base_sum" ]'

# strata-vm with the NBD export itself as its drive (nbd+unix://, format raw): a writable
# export of a copy; strata-nbd leaves once the guest powered off and closed the connection.
cp "$G/rootfs.qcow2" "$TMP/direct.qcow2"
timeout $((TIMEOUT + 60)) "$NBD" -f qcow2 -k "$sock" "$TMP/direct.qcow2" >"$TMP/server2.log" 2>&1 &
server=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
timeout -k 5 "$TIMEOUT" "$VM" -M virt -m 256M -smp 1 -nographic -no-reboot -bios "$FW" \
	-kernel "$G/Image" -initrd "$G/initrd.gz" \
	-append "root=/dev/vda console=ttyS0 quiet strata.test=rw" \
	-drive file="$U",format=raw,if=none,id=hd0 -device virtio-blk-device,drive=hd0 \
	</dev/null 2>&1 | tr -d '\r' >"$TMP/direct.log"
wait "$server"
src=$?
server=""
check "strata-vm boots with nbd+unix:// as its drive and runs the rw test" \
	'grep -qx "STRATA test rw: exit 0" "$TMP/direct.log" && grep -qx "STRATA poweroff" "$TMP/direct.log"'
check "strata-nbd exits 0 after the guest's connection closes" '[ "$src" = 0 ]'
check "the exported image is check-clean after the guest's writes" 'qemu-img check -q "$TMP/direct.qcow2"'
echo "1..$n"
[ $fail -eq 0 ]
