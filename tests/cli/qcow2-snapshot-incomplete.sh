#!/bin/sh
# A version 3 snapshot table entry with less than 16 bytes of extra data ("incomplete"):
# check reports it as qemu-img 7.2 does, check -r all rewrites the table as qemu-img does, and
# the image opens for info, snapshot -l and convert. Compared with qemu-img on the same bytes.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 sn.qcow2 4M
qemu-io -c 'write -P 0x11 0 64k' sn.qcow2 >/dev/null
qemu-img snapshot -c s1 sn.qcow2
qemu-io -c 'write -P 0x22 0 64k' sn.qcow2 >/dev/null
for extra in 0 8; do
	python3 -c "
import struct
d = bytearray(open('sn.qcow2', 'rb').read())
off = struct.unpack('>Q', d[64:72])[0]
d[off + 36:off + 40] = struct.pack('>I', $extra)
open('d.qcow2', 'wb').write(d)"
	for t in "$IMG" qemu-img; do
		b=$(basename "$t")
		{
			"$t" check d.qcow2; echo "rc=$?"
			"$t" check -r leaks d.qcow2; echo "rc=$?"
			"$t" snapshot -l d.qcow2 | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}/DATE/'
			cp d.qcow2 r.qcow2
			"$t" check -r all r.qcow2; echo "rc=$?"
			qemu-img check r.qcow2; echo "rc=$?"
			qemu-img snapshot -l r.qcow2 | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}/DATE/'
			rm -f o.raw
			# (the short extra data shifts the entry's name: convert the active layer)
			"$t" convert -O raw d.qcow2 o.raw; echo "rc=$?"
			qemu-io -f raw -c 'read -P 0x22 0 64k' o.raw | sed 's/ops; .*/ops/'
		} >"out.$b" 2>&1
	done
	normalize out.qemu-img >out.q
	same_file "extra data of $extra bytes: check, -r leaks, -r all, snapshot -l, convert" \
		out.strata-img out.q
done
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
