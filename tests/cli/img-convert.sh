#!/bin/sh
# strata-img convert: every format to every format, checked by qemu-img (compare, check) and
# against qemu-img convert's own result (same allocation: map output); sparse handling, -n,
# -B, concatenation, and qemu-img's errors and exit codes.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 src.qcow2 16M
qemu-io -c 'write -P 1 0 1M' -c 'write -P 0 2M 1M' -c 'write -P 3 5M 64k' -c 'write -P 4 5312512 1k' \
	-c 'write -z 8M 1M' -c 'write -P 5 16776704 512' src.qcow2 >/dev/null

for in_fmt in qcow2 raw vmdk vdi; do
	[ "$in_fmt" = qcow2 ] || qemu-img convert -O "$in_fmt" src.qcow2 "src.$in_fmt"
	for out_fmt in raw qcow2 vmdk vdi; do
		"$IMG" convert -f "$in_fmt" -O "$out_fmt" "src.$in_fmt" "o.$out_fmt" 2>err
		tap_result $? "convert $in_fmt -> $out_fmt" || sed "s/^/# /" err
		check "$in_fmt -> $out_fmt: qemu-img compare" qemu-img compare "src.qcow2" "o.$out_fmt"
		if [ "$out_fmt" != raw ]; then
			check "$in_fmt -> $out_fmt: qemu-img check" qemu-img check "o.$out_fmt"
		fi
		qemu-img convert -f "$in_fmt" -O "$out_fmt" "src.$in_fmt" "r.$out_fmt"
		qemu-img map --output=json -f "$out_fmt" "o.$out_fmt" | sed 's/"offset": [0-9]*//' >o.map
		qemu-img map --output=json -f "$out_fmt" "r.$out_fmt" | sed 's/"offset": [0-9]*//' >r.map
		same_file "$in_fmt -> $out_fmt: same allocation as qemu-img convert" o.map r.map
	done
done

"$IMG" convert -S 0 -O raw src.qcow2 full.raw
check "-S 0 output compares equal" qemu-img compare src.qcow2 full.raw
qemu-img map --output=json -f raw full.raw >full.map
check "-S 0 allocates everything" grep -q '"data": true' full.map
"$IMG" convert -O qcow2 -o cluster_size=4k,compat=0.10 src.qcow2 opts.qcow2
check "-o cluster_size,compat" qemu-img compare src.qcow2 opts.qcow2
check "-o options reach the target" sh -c 'qemu-img info opts.qcow2 | grep -q "cluster_size: 4096"'

# a compressed stream target takes whole grains in order, whatever the source's extents
qemu-img create -q -f raw so.raw 4M
qemu-io -f raw -c 'write -P 1 100k 10k' -c 'write -P 2 1M 4k' -c 'write -P 3 2047k 2k' so.raw >/dev/null
"$IMG" convert -f raw -O vmdk -o subformat=streamOptimized so.raw so.vmdk
check "raw -> streamOptimized: qemu-img compare" qemu-img compare so.raw so.vmdk
check "raw -> streamOptimized: qemu-img check" qemu-img check so.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized so.raw sor.vmdk
qemu-img map --output=json so.vmdk | sed 's/"offset": [0-9]*//' >o.map
qemu-img map --output=json sor.vmdk | sed 's/"offset": [0-9]*//' >r.map
same_file "raw -> streamOptimized: same allocation as qemu-img convert" o.map r.map

qemu-img create -q -f raw a.raw 1M; qemu-io -f raw -c 'write -P 7 0 1M' a.raw >/dev/null
qemu-img create -q -f raw b.raw 2M; qemu-io -f raw -c 'write -P 8 1M 1M' b.raw >/dev/null
"$IMG" convert -O raw a.raw b.raw ab.raw
check "concatenation: first part" qemu-io -f raw -c 'read -P 7 0 1M' -c 'read -P 0 1M 1M' ab.raw
check "concatenation: second part" qemu-io -f raw -c 'read -P 8 2M 1M' ab.raw

qemu-img create -q -f raw pre.raw 16M; qemu-io -f raw -c 'write -P 9 0 16M' pre.raw >/dev/null
"$IMG" convert -n -O raw src.qcow2 pre.raw
check "-n overwrites, zeroing what the source has as zeros" qemu-img compare src.qcow2 pre.raw

qemu-img create -q -f raw base.raw 16M; qemu-io -f raw -c 'write -P 6 0 16M' base.raw >/dev/null
"$IMG" convert -O qcow2 -B base.raw -F raw src.qcow2 ovl.qcow2
check "-B: result reads like the source" qemu-img compare src.qcow2 ovl.qcow2
check "-B: backing file recorded" sh -c 'qemu-img info ovl.qcow2 | grep -q "backing file: base.raw"'

compare_img "missing source" convert -O qcow2 nofile out.qcow2
compare_img "unknown target format" convert -O nosuch a.raw out.x
compare_img "unknown -o key" convert -O raw -o foo=1 a.raw out.raw
compare_img "one file name" convert a.raw
compare_img "target directory missing" convert -O raw a.raw /nonexistent/out.raw
compare_img "-n with missing target" convert -n -O raw a.raw nofile2
compare_img "--target-is-zero without -n" convert --target-is-zero -O raw a.raw out.raw
compare_img "bad -S" convert -S 1000 -O raw a.raw out.raw
compare_img "bad cache mode" convert -t bogus -O raw a.raw out.raw
"$IMG" convert -t none -O qcow2 src.qcow2 direct.qcow2
check "-t none (O_DIRECT target): qemu-img compare" qemu-img compare src.qcow2 direct.qcow2
"$IMG" convert -t writeback -O vdi src.qcow2 wb.vdi
check "-t writeback: qemu-img compare" qemu-img compare src.qcow2 wb.vdi
tap_end
