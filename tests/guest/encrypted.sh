#!/bin/sh
# The Linux test guest booted from an encrypted root: tests/guest/build.sh's root disk converted
# by strata-img into a LUKS (aes-256-xts) qcow2, booted on strata-vm with `-object secret` +
# `-drive ...,encrypt.key-secret=ID` and the same image (a copy) on qemu-system-riscv64 7.2.
# The guest reads its seed file, writes files, syncs, powers off; the host reads what it wrote
# with qemu-img (the secret) + debugfs; qemu-img check is clean; a boot without the secret
# fails with qemu's message. TAP; skips as linux.sh when the Debian archive is unreachable.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -x "$VM" ] && [ -x "$IMG" ] || bail "$VM or $IMG not built"
[ -r "$FW" ] || bail "$FW not found (make deps: opensbi)"
command -v "$QEMU" >/dev/null 2>&1 || { echo "1..0 # SKIP $QEMU not installed"; exit 0; }
guest_find "encrypted root boots"

# the secret comes from a file (kept out of process listings)
printf 'strata-root-pass' >"$TMP/pass"
SEC="secret,id=root0,file=$TMP/pass"
opts="driver=qcow2,file.filename"
"$IMG" convert --object "$SEC" -f qcow2 -O qcow2 \
	-o encrypt.format=luks,encrypt.key-secret=root0,encrypt.cipher-alg=aes-256,encrypt.cipher-mode=xts,encrypt.iter-time=10 \
	"$G/rootfs.qcow2" "$TMP/s.qcow2" || bail "strata-img convert to an encrypted qcow2"
cp "$TMP/s.qcow2" "$TMP/q.qcow2"
check "the new image is encrypted (qemu-img info: encrypted: yes)" \
	'"$QEMU_IMG" info "$TMP/s.qcow2" | grep -qx "encrypted: yes"'

# boot NAME EMULATOR IMAGE [drive options]: $TMP/NAME.log, $TMP/NAME.rc
boot() {
	name=$1 emu=$2 file=$3 extra=$4
	timeout -k 5 "$TIMEOUT" "$emu" -M virt -m 256M -smp 1 -nographic -no-reboot -bios "$FW" \
		-kernel "$G/Image" -initrd "$G/initrd.gz" \
		-append "root=/dev/vda console=ttyS0 quiet strata.test=rw" -object "$SEC" \
		-drive "file=$file,format=qcow2,if=none,id=hd0$extra" -device virtio-blk-device,drive=hd0 \
		</dev/null >"$TMP/$name.raw" 2>&1
	echo $? >"$TMP/$name.rc"
	tr -d '\r' <"$TMP/$name.raw" >"$TMP/$name.log"
}
field() { sed -n "s/^STRATA $2 //p" "$TMP/$1.log" | head -n 1; }
seed_md5=$(yes "strata seed line" | head -c 1048576 | md5sum | cut -d ' ' -f 1)
host_files() { # IMAGE: "<md5 of /data> <entries in /files>" read through qemu-img with the secret
	"$QEMU_IMG" convert --object "$SEC" --image-opts "$opts=$1,encrypt.key-secret=root0" \
		-O raw "$1.raw" || return 1
	m=$(debugfs -R 'cat /data' "$1.raw" 2>/dev/null | md5sum | cut -d ' ' -f 1)
	c=$(debugfs -R 'ls -p /files' "$1.raw" 2>/dev/null | grep -c '/f[0-9]*/')
	rm -f "$1.raw"
	echo "$m $c"
}

# without the secret: refused before the guest starts, as QEMU
"$VM" -M virt -m 256M -nographic -bios "$FW" -kernel "$G/Image" \
	-drive "file=$TMP/s.qcow2,format=qcow2,if=none,id=hd0" -device virtio-blk-device,drive=hd0 \
	</dev/null >"$TMP/nosecret.log" 2>&1
r=$?
check "strata-vm without encrypt.key-secret fails (status $r) naming the option" \
	'[ $r != 0 ] && grep -q "encrypt.key-secret" "$TMP/nosecret.log"'

boot qemu "$QEMU" "$TMP/q.qcow2" ",encrypt.key-secret=root0" &
qpid=$!
boot strata "$VM" "$TMP/s.qcow2" ",encrypt.key-secret=root0"
wait $qpid
for e in strata qemu; do
	f=$TMP/$([ $e = strata ] && echo s || echo q).qcow2
	check "$e: boots from the encrypted root, runs the rw test, powers off (status $(cat "$TMP/$e.rc"))" \
		'[ "$(cat "$TMP/$e.rc")" = 0 ] && grep -qx "STRATA test rw: exit 0" "$TMP/$e.log"'
	check "$e: the guest reads the seed file" '[ "$(field $e "rw: seed")" = "$seed_md5" ]'
	h=$(host_files "$f")
	check "$e: qemu-img (with the secret) reads back what the guest wrote ($h)" \
		'[ -n "$(field $e "rw: md5")" ] && [ "$(field $e "rw: md5" | sed "s/ files//")" = "$h" ]'
	check "$e: qemu-img check clean" \
		'"$QEMU_IMG" check -q --object "$SEC" --image-opts "$opts=$f,encrypt.key-secret=root0"'
	[ "$(cat "$TMP/$e.rc")" = 0 ] || tail -n 8 "$TMP/$e.log" | sed "s/^/# $e: /"
done
check "the guest prints the same results on both" \
	'[ "$(grep "^STRATA rw" "$TMP/qemu.log")" = "$(grep "^STRATA rw" "$TMP/strata.log")" ]'
check "the data on disk is encrypted (the seed text is not in the file)" \
	'! grep -q "strata seed line" "$TMP/s.qcow2"'
echo "1..$n"
[ "$fail" -eq 0 ]
