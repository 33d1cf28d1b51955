#!/bin/sh
# Our NBD client's reads with NBD_CMD_FLAG_DF (blockcore/nbd-client.c nbd_client_read_flags):
# against qemu-nbd, whose trace shows each request's flags, reads over data that has no holes
# go out with DF after the first few (a probe without it every 64), reads that keep finding
# holes never do, and every byte read either way (holes read with DF come as zeros in a data
# chunk) is what qemu-io reads from the image. The same data through strata-nbd, which honours
# DF too.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

IO=$SRC_DIR/build/rel/strata-io
IMG=$SRC_DIR/build/rel/strata-img
sock=$TEST_TMPDIR/s
U="nbd+unix:///?socket=$sock"

# dense.qcow2: 8M, 64k chunk i holds pattern i+1; sparse.qcow2: the same in its even chunks,
# the odd ones holes (qcow2 allocates whole 64k clusters: a hole must be one)
qemu-img create -q -f qcow2 dense.qcow2 8M
qemu-img create -q -f qcow2 sparse.qcow2 8M
wd="" ws=""
i=0
while [ $i -lt 128 ]; do
	wd="$wd -c \"write -q -P $((i + 1)) $((i * 65536)) 64k\""
	[ $((i % 2)) -eq 0 ] && ws="$ws -c \"write -q -P $((i + 1)) $((i * 65536)) 64k\""
	i=$((i + 1))
done
eval qemu-io -f qcow2 $wd dense.qcow2 >/dev/null
eval qemu-io -f qcow2 $ws sparse.qcow2 >/dev/null

# reads F: the trace's read requests, one line each: FLAGS OFFSET
reads() { sed -n 's/.*flags = \(0x[0-9a-f]*\), .type = 0x0, from = \([0-9]*\).*/\1 \2/p' "$1"; }
# dump CLIENT IMAGE-OR-URL FORMAT: hex dumps of four 64k reads of sparse.qcow2, three holes
holes='-c "read -v 1088k 64k" -c "read -v 3136k 64k" -c "read -v 7M 64k" -c "read -v 7232k 64k"'
dump() {
	eval "$1 -f \"\$3\" $holes \"\$2\"" 2>&1 |
		grep -v '^read \|^[0-9.]* bytes\|ops/sec'
}

# 1. dense data, 128 queued 64k reads at depth 16 on one connection
: >trace.log
nbd_start "$sock" qemu-nbd --trace "enable=nbd_receive_request,file=$PWD/trace.log" -f qcow2 -t \
	-k "$sock" dense.qcow2 || echo "# qemu-nbd did not start"
"$IMG" bench -c 128 -d 16 -s 64k -f raw "$U" >o.txt 2>&1 && grep -q '^Run completed' o.txt &&
	"$IMG" compare -q -U -f raw -F qcow2 "$U" dense.qcow2
tap_result $? "dense: bench over the export, then the same bytes as the image" || sed 's/^/# /' o.txt
nbd_stop
reads trace.log >r.txt
n=$(wc -l <r.txt) df=$(grep -c '^0x4 ' r.txt) first=$(head -n 4 r.txt | grep -c '^0x0 ')
late=$(sed -n '40,128p' r.txt | grep -c '^0x0 ')
# the bench's 128 reads come first; compare's reads follow on a new connection
[ "$n" -ge 128 ] && [ "$first" -eq 4 ] && [ "$(head -n 128 r.txt | grep -c '^0x4 ')" -ge 96 ] &&
	[ "$late" -ge 1 ]
tap_result $? "dense: the first reads without DF, then DF ($df of $n), probes without it in between" ||
	sed -n '1,20p' r.txt | sed 's/^/# /'

# 2. every read half data, half hole (64k reads from 32k on): the queued reads never use DF
: >trace.log
nbd_start "$sock" qemu-nbd --trace "enable=nbd_receive_request,file=$PWD/trace.log" -f qcow2 -t \
	-k "$sock" sparse.qcow2 || echo "# qemu-nbd did not start"
"$IMG" bench -c 127 -d 16 -s 64k -o 32k -f raw "$U" >o.txt 2>&1 && grep -q '^Run completed' o.txt
tap_result $? "sparse: bench over the export" || sed 's/^/# /' o.txt
dump "$IO" "$U" raw >got.txt
dump "qemu-io -r -U" sparse.qcow2 qcow2 >want.txt
[ -s want.txt ] && cmp -s got.txt want.txt
tap_result $? "sparse: 64k reads of data and holes, as qemu-io reads them"
nbd_stop
reads trace.log >r.txt
[ "$(wc -l <r.txt)" -ge 131 ] && ! grep -q '^0x4 ' r.txt
tap_result $? "sparse: no read with DF ($(grep -c '^0x4 ' r.txt) of $(wc -l <r.txt))"

# 3. one connection: dense reads switch DF on, then reads over holes with DF get zeros as data
: >trace.log
nbd_start "$sock" qemu-nbd --trace "enable=nbd_receive_request,file=$PWD/trace.log" -f qcow2 -t \
	-k "$sock" sparse.qcow2 || echo "# qemu-nbd did not start"
warm=""
i=0
while [ $i -lt 16 ]; do
	warm="$warm -c \"read -q -P $((i + 1)) $((i * 65536)) 4k\""
	i=$((i + 2))
done
eval "\"$IO\" -f raw $warm $holes \"$U\"" 2>&1 | grep -v '^read \|^[0-9.]* bytes\|ops/sec' >got.txt
nbd_stop
cmp -s got.txt want.txt
tap_result $? "after dense reads: 64k reads over holes with DF, as qemu-io reads them"
reads trace.log | tail -n 4 >r.txt
[ "$(grep -c '^0x4 ' r.txt)" -eq 4 ]
tap_result $? "after dense reads: those four went with DF" || sed 's/^/# /' r.txt

# 4. strata-nbd honours DF: the dense export read through it
nbd_start "$sock" "$NBD" -f qcow2 -t -k "$sock" dense.qcow2 || echo "# strata-nbd did not start"
"$IMG" bench -c 128 -d 16 -s 64k -f raw "$U" >o.txt 2>&1 && grep -q '^Run completed' o.txt &&
	"$IMG" compare -q -U -f raw -F qcow2 "$U" dense.qcow2 &&
	eval "\"$IO\" -f raw $warm $warm -c \"read -P 9 512k 64k\" -c \"read -P 128 8128k 64k\" \"$U\"" >o.txt 2>&1 &&
	! grep -q -i "fail\|error" o.txt
tap_result $? "strata-nbd: reads with DF return the image's bytes" || sed 's/^/# /' o.txt
nbd_stop
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
