#!/bin/sh
# What a guest reads after resize and preallocation over a backing file, against qemu-img 7.2:
# a grow over a longer backing file reads zeros (compat, extended_l2, every preallocation
# mode; v2 refused as qemu refuses); preallocated images over a backing file still read the
# backing data and do not grow on write; a shrink inside a cluster followed by a grow reads
# zeros (better than qemu 7.2, which shows the old bytes again).
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 base.qcow2 2M
qemu-io -c 'write -P 0x11 0 2M' base.qcow2 >/dev/null

state() {
	echo "rc=$1"
	qemu-io -r -c 'read -P 0x11 0 1M' -c 'read -P 0 1M 1M' ov.qcow2 | grep -c verification
	qemu-img map --output=json ov.qcow2 | sed 's/"offset": [0-9]*//'
	qemu-img info ov.qcow2 | grep '^virtual size'
	qemu-img check ov.qcow2 | head -n 1
}
for opt in compat=1.1 extended_l2=on compat=0.10; do
	for pre in off metadata falloc full; do
		qemu-img create -q -f qcow2 -o $opt -b base.qcow2 -F qcow2 ov.qcow2 1M
		qemu-img resize --preallocation=$pre ov.qcow2 2M >r.out 2>&1
		state $? >>r.out
		normalize r.out >r.txt
		qemu-img create -q -f qcow2 -o $opt -b base.qcow2 -F qcow2 ov.qcow2 1M
		"$IMG" resize --preallocation=$pre ov.qcow2 2M >o.txt 2>&1
		state $? >>o.txt
		same_file "grow over a longer backing file ($opt, preallocation=$pre) as qemu-img" \
			o.txt r.txt
	done
done
# the same through strata-io's truncate
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 1M
"$IO" -c 'truncate 2M' ov.qcow2 >/dev/null 2>&1
check "strata-io truncate over a longer backing file reads zeros" \
	qemu-io -r -c 'read -P 0 1M 1M' ov.qcow2
qemu-io -r -c 'read -P 0 1M 1M' ov.qcow2 | grep -q verification && echo "# backing data shows"

# create with preallocation over a backing file
for pre in metadata falloc full; do
	compare_img "create -o preallocation=$pre with a backing file and no extended_l2 refused" \
		create -f qcow2 -b base.qcow2 -F qcow2 -o preallocation=$pre pb.qcow2
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 -o preallocation=$pre,extended_l2=on pq.qcow2
	"$IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 -o preallocation=$pre,extended_l2=on pb.qcow2
	check "create preallocation=$pre,extended_l2=on: reads the backing data" \
		sh -c "qemu-io -r -c 'read -P 0x11 0 2M' pb.qcow2 | grep -q '^read 2097152'"
	qemu-img map --output=json pb.qcow2 >o.map; qemu-img map --output=json pq.qcow2 >r.map
	same_file "create preallocation=$pre,extended_l2=on: map as qemu-img's" o.map r.map
	before=$(stat -c %s pb.qcow2)
	"$IO" -c 'write -P 0x22 64k 4k' -c 'write -P 0x22 1M 64k' pb.qcow2 >/dev/null
	after=$(stat -c %s pb.qcow2)
	[ "$before" = "$after" ]
	tap_result $? "create preallocation=$pre,extended_l2=on: writes use the reserved clusters ($before -> $after)"
	check "create preallocation=$pre,extended_l2=on: qemu-img check clean" qemu-img check pb.qcow2
done

# shrink inside a cluster, then grow: the regrown area reads zeros
for cs in 64k 512 2M; do
	qemu-img create -q -f qcow2 -o cluster_size=$cs s.qcow2 4M
	qemu-io -c 'write -P 0x33 0 4M' s.qcow2 >/dev/null
	"$IMG" resize --shrink s.qcow2 520k >/dev/null
	"$IMG" resize s.qcow2 567k >/dev/null
	qemu-io -r -c 'read -P 0x33 0 520k' -c 'read -P 0 520k 47k' s.qcow2 >r.out
	! grep -q verification r.out
	tap_result $? "cluster_size=$cs: shrink 520k, grow 567k: 520k-567k reads zeros" ||
		sed 's/^/# /' r.out
	check "cluster_size=$cs: shrink and grow: qemu-img check clean" qemu-img check s.qcow2
done

tap_end
