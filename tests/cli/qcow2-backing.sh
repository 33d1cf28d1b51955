#!/bin/sh
# qcow2 backing chains of depth 3 in both directions (strata-made read by qemu-io, qemu-made
# read by strata-io), relative backing paths, copy-on-write of partial clusters, zero clusters
# hiding backing data, extended L2 subclusters over a backing file, external data files,
# lazy refcounts, and info on the chain.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

# The content every chain ends up with, as "read -P" commands.
verify_cmds() {
	cat <<'V'
read -P 0xa1 0 65536
read -P 0xb2 65536 1000
read -P 0xa1 66536 64536
read -P 0xc3 131072 512
read -P 0xa1 131584 3584
read -P 0 135168 126976
read -P 0xb2 262144 131072
read -P 0 393216 65536
read -P 0xa1 458752 65536
read -P 0xc3 1048076 1000
read -P 0 1049076 1048076
V
}

run_cmds() {
	tool=$1 file=$2
	set --
	while IFS= read -r line; do
		set -- "$@" -c "$line"
	done
	"$tool" "$@" "$file"
}

# build TOOL_IMG TOOL_IO EXTRA_OPTS: base <- mid <- top in dir chain/ (relative names).
build() {
	img=$1 io=$2 opts=$3
	rm -rf chain && mkdir chain
	(cd chain &&
	 "$img" create -q -f qcow2 -o "$opts" base.qcow2 2M &&
	 "$io" -c "write -P 0xa1 0 1M" base.qcow2 &&
	 "$img" create -q -f qcow2 -o "$opts" -b base.qcow2 -F qcow2 mid.qcow2 &&
	 "$io" -c "write -P 0xb2 65536 1000" -c "write -P 0xb2 262144 131072" \
	       -c "write -z 393216 65536" -c "discard 524288 524288" mid.qcow2 &&
	 "$img" create -q -f qcow2 -o "$opts" -b mid.qcow2 -F qcow2 top.qcow2 &&
	 "$io" -c "write -P 0xc3 131072 512" -c "write -P 0xc3 1048076 1000" \
	       -c "write -z 135168 126976" top.qcow2) >build.log 2>&1
}

for opts in "cluster_size=65536" "cluster_size=4096,compat=0.10" "cluster_size=65536,extended_l2=on" \
	    "cluster_size=16384,refcount_bits=1,lazy_refcounts=on"; do
	build "$IMG" "$IO" "$opts"
	tap_result $? "strata builds chain ($opts)"
	verify_cmds | (cd chain && run_cmds qemu-io top.qcow2) >v.out 2>&1
	! grep -qiE 'fail|error' v.out
	tap_result $? "qemu-io reads strata chain ($opts)"
	grep -iE 'fail|error' v.out | head -3 | sed 's/^/# /'
	for f in base mid top; do
		qemu-img check -q chain/$f.qcow2 >/dev/null 2>&1
		tap_result $? "qemu-img check strata $f ($opts)"
	done
	(cd chain && "$IMG" info --backing-chain top.qcow2) >o.info 2>&1
	(cd chain && qemu-img info --backing-chain top.qcow2) >r.info 2>&1
	same_file "info --backing-chain ($opts)" o.info r.info
	(cd chain && "$IMG" info --output=json top.qcow2) >o.info 2>&1
	(cd chain && qemu-img info --output=json top.qcow2) >r.info 2>&1
	same_file "info json ($opts)" o.info r.info

	build qemu-img qemu-io "$opts"
	tap_result $? "qemu builds chain ($opts)"
	verify_cmds | (cd chain && run_cmds "$IO" top.qcow2) >v.out 2>&1
	! grep -qiE 'fail|error' v.out
	tap_result $? "strata-io reads qemu chain ($opts)"
	grep -iE 'fail|error' v.out | head -3 | sed 's/^/# /'
	# from another directory: the relative backing names resolve against the image
	verify_cmds | run_cmds "$IO" chain/top.qcow2 >v.out 2>&1
	! grep -qiE 'fail|error' v.out
	tap_result $? "relative backing names from elsewhere ($opts)"
done

# External data file (and raw external data), written by us, checked by qemu.
for raw in off on; do
	rm -f d.qcow2 d.raw ref.raw
	"$IMG" create -q -f qcow2 -o data_file=d.raw,data_file_raw=$raw d.qcow2 1M
	"$IO" -c "write -P 0x5a 1000 70000" -c "write -z 196608 65536" d.qcow2 >/dev/null 2>&1
	qemu-img check -q d.qcow2 >/dev/null 2>&1
	tap_result $? "data_file_raw=$raw check"
	qemu-io -c "read -P 0x5a 1000 70000" -c "read -P 0 71000 977576" d.qcow2 >v.out 2>&1
	! grep -qiE 'fail|error' v.out
	tap_result $? "data_file_raw=$raw qemu reads"
	"$IMG" info d.qcow2 >o.info 2>&1
	qemu-img info d.qcow2 >r.info 2>&1
	same_file "data_file_raw=$raw info" o.info r.info
	if [ $raw = on ]; then
		qemu-io -f raw -c "read -P 0x5a 1000 70000" d.raw >v.out 2>&1
		! grep -qiE 'fail|error' v.out
		tap_result $? "raw data file is valid raw"
	fi
done

# Missing backing file: one clear error, as qemu.
rm -rf miss && mkdir miss
qemu-img create -q -f qcow2 miss/b.qcow2 1M
qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 miss/t.qcow2
rm miss/b.qcow2
"$IO" -c "read 0 512" miss/t.qcow2 >o.err 2>&1
test $? -ne 0 && grep -q "b.qcow2" o.err
tap_result $? "missing backing file is an error"

# A backing chain that loops.
qemu-img create -q -f qcow2 loop1.qcow2 1M
qemu-img create -q -f qcow2 -u -b loop1.qcow2 -F qcow2 loop2.qcow2 1M
qemu-img rebase -q -u -b loop2.qcow2 -F qcow2 loop1.qcow2
timeout 10 "$IO" -c "read 0 512" loop1.qcow2 >o.err 2>&1
rc=$?
test $rc -ne 0 && test $rc -lt 124
tap_result $? "looping backing chain is an error"
tap_end
