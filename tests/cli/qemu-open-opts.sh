#!/bin/sh
# Images named by qemu's block options, side by side with qemu-img/qemu-io 7.2:
#  1. info of a protocol given as the driver (null-co, file, nbd): qemu names the format after
#     it, and shows no dirty flag where the protocol has no driver info (nbd, null-co);
#     strata-io's info command likewise;
#  2. strata-io's open failures worded as qemu-io's ("can't open:" for an option string,
#     "can't open device F:" for a file name) and short-form boolean items ("nofoo") in both
#     tools' option strings;
#  3. raw's offset= and size= options: reads, writes, bounds and qemu's errors, the file
#     written byte for byte as qemu-io writes it.
. "$SRC_DIR/tests/lib/tap.sh"
. "$SRC_DIR/tests/lib/nbd.sh"

# compare_io NAME ARGS...: strata-io and qemu-io with ARGS: stdout and stderr (program names
# and rates masked) and the exit status.
compare_io() {
	name=$1
	shift
	"$IO" "$@" >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-io "$@" >r.out 2>&1; echo "rc=$?" >>r.out
	normalize r.out | sed 's/ ops; .*/ ops; X/' >r.n
	sed -i 's/ ops; .*/ ops; X/' o.out
	same_file "$name" o.out r.n
}

# 1. info: the format of a protocol node, the dirty flag
qemu-img create -q -f raw r.raw 1M
for a in "driver=null-co" "driver=file,filename=r.raw"; do
	compare_img "info --image-opts $a" info --image-opts "$a"
	compare_img "info --output=json --image-opts $a" info --output=json --image-opts "$a"
done
for a in "driver=null-co" "driver=file,filename=r.raw" "driver=raw,file.filename=r.raw" \
	 "driver=raw,file.driver=null-co"; do
	compare_io "strata-io info --image-opts $a" -c info --image-opts "$a"
done
compare_img "info json:{driver: file}" info 'json:{"driver":"file","filename":"r.raw"}'
compare_img "info json:{driver: null-co} --output=json" info --output=json \
	'json:{"driver":"null-co"}'
sock=$TEST_TMPDIR/nbd.sock
if nbd_start "$sock" qemu-nbd -f raw -r -k "$sock" --persistent r.raw; then
	for a in "--image-opts driver=nbd,server.type=unix,server.path=$sock" \
		 "--image-opts driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$sock" \
		 "nbd+unix://?socket=$sock" "nbd+unix:///?socket=$sock"; do
		compare_img "info $a" info $a
		compare_img "info --output=json $a" info --output=json $a
		compare_io "strata-io -c info -r $a" -c info -r $a
	done
	nbd_stop
else
	tap_result 1 "qemu-nbd serving r.raw"
fi

# 2. strata-io: open failures and short-form booleans
for a in "--image-opts -r -C driver=raw,file.filename=r.raw" \
	 "--image-opts -U driver=raw,file.filename=r.raw" \
	 "--image-opts driver=qcow2,file.filename=nonexist" \
	 "--image-opts noexist" "--image-opts nonexist" \
	 "--image-opts foo,driver=raw,file.filename=r.raw" \
	 "--image-opts driver=raw,file.filename=r.raw,nofoo" \
	 "--image-opts driver=raw,file.filename=r,,x.raw,nofoo" \
	 "-r -C -f raw r.raw" "-U -f raw r.raw"; do
	compare_io "strata-io $a" -c quit $a
done
# strata-img: a bare first item names a node (qemu-img's implied "file"), later ones are
# short-form booleans with qemu's warning
for a in "nonexist" "driver=raw,file.filename=r.raw,nofoo" "driver=raw,file.filename=r.raw,foo" \
	 "nonexist,driver=raw,nocache.direct"; do
	compare_img "info --image-opts $a" info --image-opts "$a"
done
for c in "open -r -C -o driver=raw r.raw" "open -r -C -o driver=raw,file.filename=r.raw" \
	 "open -U -o driver=raw,file.filename=r.raw" "open -o nonexist" \
	 "open -o driver=raw,file.filename=r.raw,nofoo"; do
	compare_io "strata-io -c '$c'" -c "$c"
done

# 3. raw offset= and size=
qemu-img create -q -f raw big.raw 1M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x99 8k 512' big.raw >/dev/null
cp big.raw ours.raw
cp big.raw theirs.raw
script() { # FILE: one session of reads and writes through the window
	printf '%s\n' "-c" "read -v 0 16" "-c" "read -P 0x99 4k 512" "-c" "write -P 0x22 0 512" \
		"-c" "read -P 0x22 0 512" "-c" "write 4000 512" "-c" "read 8191 2" "-c" "length" \
		"-c" "aio_write -P 0x33 1k 512" "-c" "aio_flush" "-c" "read -P 0x33 1k 512" \
		"-c" "write -z 2k 1k" "-c" "read -P 0 2k 1k" "-c" "writev -P 0x44 3k 256 256" \
		"-c" "map" "-c" "read -v 8176 16"
}
run_script() { # TOOL FILE
	tool=$1
	file=$2
	script | tr '\n' '\0' | xargs -0 "$tool" --image-opts \
		"driver=raw,offset=4096,size=8192,file.filename=$file"
}
run_script "$IO" ours.raw >o.out 2>&1; echo "rc=$?" >>o.out
run_script qemu-io theirs.raw >r.out 2>&1; echo "rc=$?" >>r.out
normalize r.out | sed 's/ ops; .*/ ops; X/' >r.n
sed -i 's/ ops; .*/ ops; X/' o.out
same_file "raw offset=4096,size=8192: reads, writes and bounds as qemu-io's" o.out r.n
same_file "raw offset=4096,size=8192: the file as qemu-io leaves it" ours.raw theirs.raw
# json: and offset without size (to the end of the file)
j='json:{"driver":"raw","offset":512,"file":{"driver":"file","filename":"ours.raw"}}'
compare_io "raw json: offset=512 without size" -c length -c 'read -v 3584 16' -c 'read -P 0x22 3584 512' "$j"
compare_io "raw json: offset=512: writes" -c 'write -P 0x55 100k 4k' "$j"
j='json:{"driver":"raw","offset":512,"file":{"driver":"file","filename":"theirs.raw"}}'
qemu-io -c 'write -P 0x55 100k 4k' "$j" >/dev/null 2>&1
same_file "raw json: offset=512: the file as qemu-io leaves it" ours.raw theirs.raw
for o in "offset=4096,size=1048576" "offset=2000000" "offset=100,size=1000" "size=100" \
	 "offset=-1" "offset=abc" "size=2M" "offset=1048576" "offset=1048576,size=0" \
	 "offset=100"; do
	compare_io "raw $o" -c length -c 'read -P 0x11 0 512' --image-opts \
		"driver=raw,$o,file.filename=big.raw"
done
# a fixed window cannot grow
cp big.raw r1.raw
cp big.raw r2.raw
compare_img "resize of a raw window with size=" resize --image-opts \
	"driver=raw,offset=4096,size=8192,file.filename=r1.raw" 16k
cmp -s big.raw r1.raw
tap_result $? "resize with size=: the file unchanged"

tap_end
