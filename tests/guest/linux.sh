#!/bin/sh
# Linux boots of `make check`: Debian's riscv64 kernel with the initramfs and root disk of
# tests/guest/build.sh (built on first use, cached), -kernel/-initrd/-append, root on virtio-blk.
#   - qcow2 overlay on a qcow2 backing file: the guest reads a seed file, writes and reads back
#     files, syncs, powers off; the host reads the same data back with qemu-img + debugfs; both
#     images pass strata-img check and qemu-img check; the backing file is unchanged
#   - the same boot from raw, vmdk and vdi root disks (strata-img convert), the vdi one with a
#     gzip-compressed kernel (Debian's vmlinuz form)
#   - -snapshot leaves the image byte for byte unchanged
#   - kill -9 during guest writes leaves both images consistent for qemu-img check (0 or 3)
#   - the same qcow2 images boot on qemu-system-riscv64 7.2 with the same results
# TAP output. Skips only when the Debian archive cannot be reached and nothing is cached.
#   STRATA_VM, STRATA_IMG (default build/rel/...), QEMU, QEMU_IMG, BOOT_TIMEOUT (s, default 600;
#   1200 with SANITIZE=1: bounds, not expectations; a loaded 2-core machine needs minutes)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ -x "$VM" ] && [ -x "$IMG" ] || bail "$VM or $IMG not built"
[ -r "$FW" ] || bail "$FW not found (make deps: opensbi)"
guest_find "Linux guest boots"
echo "# guest $G ($(head -n 1 "$G/versions.txt"))"

now() { date +%s%N; }
# boot NAME EMULATOR TEST FILE FORMAT [options...]: output $TMP/NAME.log, status $TMP/NAME.rc,
# wall milliseconds $TMP/NAME.ms; KERNEL overrides the kernel
boot() {
	name=$1 emu=$2 test=$3 file=$4 fmt=$5
	shift 5
	t0=$(now)
	timeout -k 5 "$TIMEOUT" "$emu" -M virt -m 256M -smp 1 -nographic -no-reboot -bios "$FW" \
		-kernel "${KERNEL:-$G/Image}" -initrd "$G/initrd.gz" \
		-append "root=/dev/vda console=ttyS0 quiet strata.test=$test" \
		-drive file="$file",format="$fmt",if=none,id=hd0 -device virtio-blk-device,drive=hd0 \
		"$@" </dev/null >"$TMP/$name.raw" 2>&1
	echo $? >"$TMP/$name.rc"
	echo $((($(now) - t0) / 1000000)) >"$TMP/$name.ms"
	tr -d '\r' <"$TMP/$name.raw" >"$TMP/$name.log"
}
field() { sed -n "s/^STRATA $2 //p" "$TMP/$1.log" | head -n 1; }
seed_md5=$(yes "strata seed line" | head -c 1048576 | md5sum | cut -d ' ' -f 1)
# host_files NAME IMAGE FORMAT: "<md5 of /data> <entries in /files>" as qemu-img and debugfs read them
host_files() {
	"$QEMU_IMG" convert -f "$3" -O raw "$2" "$TMP/$1.img.raw" || return 1
	m=$(debugfs -R 'cat /data' "$TMP/$1.img.raw" 2>/dev/null | md5sum | cut -d ' ' -f 1)
	c=$(debugfs -R 'ls -p /files' "$TMP/$1.img.raw" 2>/dev/null | grep -c '/f[0-9]*/')
	rm -f "$TMP/$1.img.raw"
	echo "$m $c"
}
# rw_checks NAME IMAGE FORMAT: the rw test ran in the guest, and the host reads what it wrote
# (check evaluates its condition with its own arguments: pass ours through globals)
rw_checks() {
	nm=$1
	check "$nm: boots, runs the rw test and powers off (status $(cat "$TMP/$nm.rc"), 124 = timeout)" \
		'[ "$(cat "$TMP/$nm.rc")" = 0 ] && grep -qx "STRATA test rw: exit 0" "$TMP/$nm.log" && grep -qx "STRATA poweroff" "$TMP/$nm.log"'
	check "$nm: the guest reads the seed file baked into the image" '[ "$(field "$nm" "rw: seed")" = "$seed_md5" ]'
	h=$(host_files "$nm" "$2" "$3")
	check "$nm: the host reads back what the guest wrote ($h)" \
		'[ -n "$(field "$nm" "rw: md5")" ] && [ "$(field "$nm" "rw: md5" | sed "s/ files//")" = "$h" ]'
}
checks_pass() { # NAME IMAGE FORMAT
	im=$2 fm=$3
	check "$1: strata-img check passes on $(basename "$im")" '"$IMG" check -q -f "$fm" "$im"'
	check "$1: qemu-img check passes on $(basename "$im")" '"$QEMU_IMG" check -q -f "$fm" "$im"'
}
failed_log() { [ "$(cat "$TMP/$1.rc")" = 0 ] || tail -n 8 "$TMP/$1.log" | sed "s/^/# $1: /"; }

# --- qcow2 overlay on a qcow2 backing file, and the same images on QEMU (in parallel) --------
for e in s q; do
	cp "$G/rootfs.qcow2" "$TMP/$e-base.qcow2"
	"$IMG" create -q -f qcow2 -b "$TMP/$e-base.qcow2" -F qcow2 "$TMP/$e-top.qcow2" || bail "strata-img create"
done
base_sum=$(sha256sum <"$TMP/s-base.qcow2")
boot qemu "$QEMU" rw "$TMP/q-top.qcow2" qcow2 &
qpid=$!
boot qcow2 "$VM" rw "$TMP/s-top.qcow2" qcow2
wait $qpid
rw_checks qcow2 "$TMP/s-top.qcow2" qcow2
checks_pass qcow2 "$TMP/s-top.qcow2" qcow2
checks_pass qcow2 "$TMP/s-base.qcow2" qcow2
check "qcow2: the backing file is unchanged" '[ "$(sha256sum <"$TMP/s-base.qcow2")" = "$base_sum" ]'
failed_log qcow2
rw_checks qemu "$TMP/q-top.qcow2" qcow2
checks_pass qemu "$TMP/q-top.qcow2" qcow2
check "qemu and strata-vm: the guest prints the same results" \
	'[ "$(grep "^STRATA rw" "$TMP/qemu.log")" = "$(grep "^STRATA rw" "$TMP/qcow2.log")" ]'
failed_log qemu

# --- raw, vmdk and vdi root disks (vdi with the gzip-compressed kernel) -----------------------
gzip -1c "$G/Image" >"$TMP/vmlinuz"
for f in raw vmdk vdi; do
	"$IMG" convert -f raw -O $f "$G/rootfs.raw" "$TMP/root.$f" || bail "strata-img convert to $f"
done
boot vmdk "$VM" rw "$TMP/root.vmdk" vmdk &
vpid=$!
KERNEL=$TMP/vmlinuz boot vdi "$VM" rw "$TMP/root.vdi" vdi
wait $vpid
# -snapshot: the guest writes, the image stays as it was (beside the raw boot)
cp "$G/rootfs.qcow2" "$TMP/snap.qcow2"
snap_sum=$(sha256sum <"$TMP/snap.qcow2")
boot snapshot "$VM" rw "$TMP/snap.qcow2" qcow2 -snapshot &
spid=$!
boot raw "$VM" rw "$TMP/root.raw" raw
wait $spid
for f in raw vmdk vdi; do
	rw_checks $f "$TMP/root.$f" $f
	[ $f = raw ] || checks_pass $f "$TMP/root.$f" $f
	failed_log $f
done
check "vdi: the gzip-compressed kernel boots the same kernel as the plain Image" \
	'[ -n "$(field vdi root:)" ] && [ "$(field vdi root:)" = "$(field raw root:)" ]'

# --- -snapshot ------------------------------------------------------------------------------
check "-snapshot: the guest's writes and reads succeed" \
	'[ "$(cat "$TMP/snapshot.rc")" = 0 ] && grep -qx "STRATA test rw: exit 0" "$TMP/snapshot.log"'
check "-snapshot: the image is byte for byte unchanged" '[ "$(sha256sum <"$TMP/snap.qcow2")" = "$snap_sum" ]'
failed_log snapshot

# --- kill -9 while the guest writes ----------------------------------------------------------
cp "$G/rootfs.qcow2" "$TMP/k-base.qcow2"
"$IMG" create -q -f qcow2 -b "$TMP/k-base.qcow2" -F qcow2 "$TMP/k-top.qcow2" || bail "strata-img create"
"$VM" -M virt -m 256M -smp 1 -nographic -no-reboot -bios "$FW" -kernel "$G/Image" -initrd "$G/initrd.gz" \
	-append "root=/dev/vda console=ttyS0 quiet strata.test=writeloop" \
	-drive file="$TMP/k-top.qcow2",format=qcow2,if=none,id=hd0 -device virtio-blk-device,drive=hd0 \
	</dev/null >"$TMP/kill.log" 2>&1 &
kpid=$!
i=0
while ! grep -q "STRATA writeloop: writing" "$TMP/kill.log" && [ $i -lt $((TIMEOUT * 10)) ] && kill -0 $kpid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
writing=no
grep -q "STRATA writeloop: writing" "$TMP/kill.log" && writing=yes && sleep 1.5
kill -9 $kpid 2>/dev/null
wait $kpid 2>/dev/null
check "kill -9: the guest was writing when strata-vm was killed" '[ $writing = yes ]'
for f in k-top k-base; do
	"$QEMU_IMG" check -q "$TMP/$f.qcow2" >"$TMP/$f.check" 2>&1
	r=$?
	check "kill -9: qemu-img check on $f.qcow2 finds no corruption (status $r; 3 = leaks only)" '[ $r = 0 ] || [ $r = 3 ]'
done
check "kill -9: the backing file is unchanged" '[ "$(sha256sum <"$TMP/k-base.qcow2")" = "$base_sum" ]'

for t in qemu qcow2 raw vmdk vdi snapshot; do
	echo "# $t: wall $(cat "$TMP/$t.ms") ms, kernel start to poweroff $(field $t uptime) s (guest uptime)"
done
echo "1..$n"
[ "$fail" -eq 0 ]
