#!/bin/sh
# convert --salvage (issue 15), side by side with qemu-img 7.2: read errors injected with the
# blkdebug filter (EIO on two adjacent sectors of one data cluster, ENOSPC on one of another)
# are retried a sector at a time, each sector that still fails becomes zeros with qemu-img's
# warning, and the convert succeeds; without --salvage it fails as qemu-img's. A truncated
# image converts as qemu-img's (the missing part reads as zeros). -m 1: qemu-img's warnings
# come in order (its parallel requests may reorder them).
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 t.qcow2 4M
qemu-io -c 'write -P 0x11 0 1M' -c 'write -P 0x22 2M 1M' t.qcow2 >/dev/null
cat >bd.conf <<'EOF'
[inject-error]
event = "read_aio"
errno = "5"
sector = "2048"

[inject-error]
event = "read_aio"
errno = "5"
sector = "2049"

[inject-error]
event = "read_aio"
errno = "28"
sector = "4100"
EOF

for o in "-O raw" "-O qcow2" "-O qcow2 -c"; do
	for t in "$IMG" qemu-img; do
		b=$(basename "$t")
		rm -f "o.$b"
		# shellcheck disable=SC2086
		"$t" convert -m 1 --salvage $o blkdebug:bd.conf:t.qcow2 "o.$b" >"out.$b" 2>&1
		echo "rc=$?" >>"out.$b"
		rm -f "n.$b"
		# shellcheck disable=SC2086
		"$t" convert -m 1 $o blkdebug:bd.conf:t.qcow2 "n.$b" >>"out.$b" 2>&1
		echo "rc=$?" >>"out.$b"
	done
	normalize out.qemu-img >out.q
	same_file "convert --salvage $o: warnings and status, and without --salvage" \
		out.strata-img out.q
	qemu-img compare -q o.strata-img o.qemu-img
	tap_result $? "convert --salvage $o: data as qemu-img's (unreadable sectors zeroed)"
done
# the zeroed sectors are exactly the failed ones
qemu-io -f raw -c 'read -P 0 720896 1k' -c 'read -P 0x11 0 720896' \
	-c 'read -P 0x11 721920 326656' o.strata-img >/dev/null 2>&1 ||
	qemu-io -c 'read -P 0 720896 1k' -c 'read -P 0x11 0 720896' \
		-c 'read -P 0x11 721920 326656' o.strata-img >/dev/null 2>&1
tap_result $? "only the two failed sectors read as zeros"

cp t.qcow2 tr.qcow2
truncate -s 1200000 tr.qcow2
for t in "$IMG" qemu-img; do
	b=$(basename "$t")
	rm -f "o.$b"
	{ "$t" convert --salvage -O raw tr.qcow2 "o.$b"; echo "rc=$?"; } >"out.$b" 2>&1
done
normalize out.qemu-img >out.q
same_file "truncated image: convert --salvage status and output" out.strata-img out.q
cmp -s o.strata-img o.qemu-img
tap_result $? "truncated image: the same bytes as qemu-img's"

tap_end
