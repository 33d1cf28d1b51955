#!/bin/sh
# QEMU's null-co protocol: null-co:// (1 GiB, probed raw) and json:/--image-opts
# driver=null-co with size and read-zeroes; writes go nowhere, reads leave the buffer as it is
# (qemu-io's 0xab fill) or give zeros. Compared with qemu-io / qemu-img 7.2.
. "$SRC_DIR/tests/lib/tap.sh"

nc_case() {
	name=$1
	shift
	"$IO" "$@" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-io "$@" 2>&1 >r.out 2>&1; echo "rc=$?" >>r.out
	sed -i 's/ops; .*/ops/' o.out r.out
	normalize r.out >r.n
	same_file "strata-io $name" o.out r.n
}
nc_case "null-co:// reads leave the buffer, writes succeed" -c 'read -v 0 16' -c 'write 0 4k' \
	-c 'read -P 0xab 1G-4k 4k' null-co://
nc_case "past the 1 GiB end" -c 'read 1G 512' null-co://
nc_case "read-zeroes=on (image-opts)" -c 'read -P 0 0 4k' --image-opts driver=null-co,read-zeroes=on
nc_case "json: size and read-zeroes" -c 'read -P 0 0 4k' -c 'write -P 1 0 4k' -c 'read -P 0 0 4k' \
	-c 'read 4M 512' 'json:{"driver":"null-co","read-zeroes":true,"size":"4M"}'
nc_case "json: without read-zeroes" -c 'read -P 0 0 4k' 'json:{"driver":"null-co","size":"4M"}'
"$IMG" info null-co:// >o.out 2>&1
qemu-img info null-co:// 2>&1 | normalize >r.out
same_file "strata-img info null-co://" o.out r.out
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
