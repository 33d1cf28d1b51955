#!/bin/sh
# strata-img measure against qemu-img measure: sizes for qcow2 option variants and raw, from a
# size or from source images with data, zeros and holes; human and JSON; errors.
. "$SRC_DIR/tests/lib/tap.sh"

qemu-img create -q -f qcow2 src.qcow2 16M
qemu-io -c 'write -P 1 0 1M' -c 'write -P 0 2M 1M' -c 'write -P 3 5M 64k' -c 'write -z 8M 1M' \
	src.qcow2 >/dev/null
qemu-img create -q -f raw src.raw 3M
qemu-io -f raw -c 'write -P 1 100k 10k' src.raw >/dev/null

for o in "" "-o cluster_size=4k" "-o cluster_size=512,refcount_bits=64" "-o refcount_bits=1" \
	"-o extended_l2=on" "-o preallocation=metadata" "-o preallocation=falloc" \
	"-o preallocation=full" "-o compat=0.10" "-o cluster_size=2M"; do
	compare_img "qcow2 --size 1G $o" measure -O qcow2 $o --size 1G
done
compare_img "qcow2 --size 3T" measure -O qcow2 --size 3T
compare_img "qcow2 --size 0" measure -O qcow2 --size 0
compare_img "raw --size" measure -O raw --size 1G
compare_img "default output format" measure --size 1G
compare_img "json" measure --output=json -O qcow2 --size 1G
compare_img "qcow2 source" measure -O qcow2 src.qcow2
compare_img "qcow2 source json" measure -O qcow2 --output=json src.qcow2
compare_img "qcow2 source, 4k clusters" measure -O qcow2 -o cluster_size=4k src.qcow2
compare_img "raw source with holes" measure -O qcow2 -f raw src.raw
compare_img "raw target from qcow2" measure -O raw src.qcow2
compare_img "no size, no file" measure -O qcow2
compare_img "size and file" measure -O qcow2 --size 1G src.qcow2
compare_img "bad size" measure -O qcow2 --size 1X
compare_img "unknown option" measure -O qcow2 -o foo=1 --size 1G
compare_img "bad cluster size" measure -O qcow2 -o cluster_size=3k --size 1G
compare_img "unknown format" measure -O nosuch --size 1G
compare_img "format without measure" measure -O vmdk --size 1G
compare_img "missing source" measure -O qcow2 nofile.qcow2
# measure parses the options with create's parser, checking what qemu's measure checks
for o in compat=x compat=0.10,refcount_bits=8 preallocation=x refcount_bits=0 \
	extended_l2=on,cluster_size=4k compat=0.10,lazy_refcounts=on compression_type=x \
	encrypt.format=x encrypt.format=aes encrypt.format=luks \
	encrypt.format=luks,encrypt.key-secret=nosuch encrypt.format=luks,cluster_size=3k \
	backing_fmt=raw data_file_raw=on compat=0.10,extended_l2=on \
	backing_file=a,preallocation=full cluster_size=512,size=1P; do
	compare_img "qcow2 -o $o" measure -O qcow2 -o $o --size 1G
done
compare_img "qcow2 too large for the L1 table" measure -O qcow2 -o cluster_size=512 --size 100T
compare_img "qcow2 LUKS secret asked before the L1 size" measure -O qcow2 \
	-o encrypt.format=luks --size 1048576T
tap_end
