#!/bin/sh
# Bad NBD clients (tests/cli/nbd-client.py: malformed options and requests, out-of-range
# offsets, oversized lengths, abrupt disconnects) get the same answers from strata-nbd as from
# qemu-nbd 7.2; the server keeps serving, and the image is unchanged and check-clean.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

size=4194304
qemu-img create -q -f qcow2 disk.qcow2 4M
qemu-io -f qcow2 -c "write -P 0x5a 0 1M" -c "write -P 0xa5 3M 64k" disk.qcow2 >/dev/null
qemu-img convert -f qcow2 -O raw disk.qcow2 ref.raw
sock=$TEST_TMPDIR/s

nbd_start "$sock" qemu-nbd -f qcow2 -t -k "$sock" disk.qcow2 || echo "# qemu-nbd did not start"
timeout 300 python3 "$SRC_DIR/tests/cli/nbd-client.py" "$sock" $size >qemu.txt 2>qemu.err
nbd_stop

for shared in 1 0; do
	nbd_start "$sock" "$NBD" -f qcow2 -t -e $shared -k "$sock" disk.qcow2
	tap_result $? "strata-nbd -e $shared starts" || cat server.log | sed 's/^/# /'
	timeout 300 python3 "$SRC_DIR/tests/cli/nbd-client.py" "$sock" $size >ours.txt 2>ours.err
	cat ours.err | sed 's/^/# /'
	same_file "-e $shared: every bad-client case answered as qemu-nbd answers it" ours.txt qemu.txt
	kill -0 "$nbd_pid" 2>/dev/null
	tap_result $? "-e $shared: the server survived every case"
	qemu-img compare -f raw -F raw "nbd+unix:///?socket=$sock" ref.raw >/dev/null 2>&1
	tap_result $? "-e $shared: a good client afterwards reads the unchanged image"
	nbd_stop
	qemu-img check -q disk.qcow2
	tap_result $? "-e $shared: qemu-img check clean"
	qemu-img compare -q -f qcow2 -F raw disk.qcow2 ref.raw
	tap_result $? "-e $shared: image bytes unchanged"
done
[ "$(wc -l <qemu.txt)" -ge 27 ]
tap_result $? "the transcript covers every case"
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
