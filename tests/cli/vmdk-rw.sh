#!/bin/sh
# vmdk data path, both ways, for every subformat that takes random writes:
#  - images made by strata-img and written by strata-io pass qemu-img check and compare equal
#    to a raw reference written with the same commands by qemu-io;
#  - images made by qemu-img and written by qemu-io read byte-identical through strata-io;
#  - each tool keeps writing what the other wrote.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ echo "1..0 # SKIP qemu-img/qemu-io not installed"; exit 0; }

SIZE=1M
W1="-c 'write -P 0x11 0 4k' -c 'write -P 0x22 60k 8k' -c 'write -P 0x33 600k 200k'"
W1="$W1 -c 'write -P 0x44 900k 1k' -c 'write -P 0x55 777 1000' -c 'write -z 700k 64k'"
W1="$W1 -c 'write -P 0x66 1048064 512'"
W2="-c 'write -P 0x77 2k 130k' -c 'write -P 0x88 600k 4k' -c 'write -z 0 1k' -c 'write -P 0x99 320k 64k'"

# dump TOOL FILE [OFF LEN]: the image's bytes as read -v hex lines (timing lines dropped)
dump() {
	eval "$1 -c 'read -v ${3:-0} ${4:-$SIZE}' $2" | grep -E '^[0-9a-f]{8}:' | md5sum
}

# same_dump NAME FILE [OFF LEN]: strata-io and qemu-io read the same bytes from FILE
same_dump() {
	a=$(dump "$IO" "$2" "$3" "$4")
	b=$(dump qemu-io "$2" "$3" "$4")
	[ "$a" = "$b" ]
	tap_result $? "$1"
}

qemu-img create -q -f raw ref1.raw $SIZE
eval qemu-io -f raw "$W1" ref1.raw >/dev/null
cp ref1.raw ref2.raw
eval qemu-io -f raw "$W2" ref2.raw >/dev/null

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	rm -f ours* theirs*
	"$IMG" create -q -f vmdk -o subformat=$sf ours.vmdk $SIZE
	eval "$IO" "$W1" ours.vmdk >io.out 2>&1
	tap_result $? "$sf: strata-io writes"
	check "$sf: ours passes qemu-img check" qemu-img check ours.vmdk
	check "$sf: ours equals the raw reference" qemu-img compare -q -F raw ours.vmdk ref1.raw
	"$IO" -c 'read -P 0x33 600k 100k' -c 'read -P 0x66 1048064 512' ours.vmdk >io.out 2>&1 &&
		! grep -q 'failed' io.out
	tap_result $? "$sf: ours reads back through strata-io"

	qemu-img create -q -f vmdk -o subformat=$sf theirs.vmdk $SIZE
	eval qemu-io "$W1" theirs.vmdk >/dev/null 2>&1
	same_dump "$sf: qemu's reads the same through strata-io" theirs.vmdk
	"$IMG" map --output=json theirs.vmdk >o.map 2>&1
	qemu-img map --output=json theirs.vmdk >r.map 2>&1
	same_file "$sf: map --output=json as qemu-img's" o.map r.map

	# cross writes: strata-io on qemu's image, qemu-io on ours
	eval "$IO" "$W2" theirs.vmdk >/dev/null 2>&1
	check "$sf: qemu's image written by strata-io passes check" qemu-img check theirs.vmdk
	check "$sf: qemu's image written by strata-io is right" \
		qemu-img compare -q -F raw theirs.vmdk ref2.raw
	eval qemu-io "$W2" ours.vmdk >/dev/null 2>&1
	check "$sf: ours written by qemu-io is right" qemu-img compare -q -F raw ours.vmdk ref2.raw
done

# zeroed grains: whole-grain zero writes become zeroed GT entries, as in qemu
rm -f ours* theirs*
"$IMG" create -q -f vmdk -o zeroed_grain=on ours.vmdk $SIZE
qemu-img create -q -f vmdk -o zeroed_grain=on theirs.vmdk $SIZE
ZW="-c 'write -P 0x12 0 256k' -c 'write -z 64k 128k' -c 'write -z 512k 64k' -c 'write -z 300k 10k'"
eval "$IO" "$ZW" ours.vmdk >/dev/null 2>&1
eval qemu-io "$ZW" theirs.vmdk >/dev/null 2>&1
check "zeroed_grain: ours passes check" qemu-img check ours.vmdk
check "zeroed_grain: same contents as qemu's" qemu-img compare -q ours.vmdk theirs.vmdk
qemu-img map --output=json ours.vmdk | sed 's/"offset": [0-9]*//' >o.map
qemu-img map --output=json theirs.vmdk | sed 's/"offset": [0-9]*//' >r.map
same_file "zeroed_grain: same allocation map as qemu's" o.map r.map
same_dump "zeroed_grain: qemu's reads the same through strata-io" theirs.vmdk
"$IO" -c map ours.vmdk | grep -v '^$' >o.map
qemu-io -c map ours.vmdk | grep -v '^$' >r.map
same_file "zeroed_grain: strata-io map equals qemu-io map" o.map r.map

# backing chain: partial-grain writes in the top merge the base's data
rm -f ours* theirs* base*
"$IMG" create -q -f vmdk base.vmdk $SIZE
eval "$IO" "$W1" base.vmdk >/dev/null 2>&1
"$IMG" create -q -f vmdk -b base.vmdk -F vmdk top.vmdk $SIZE
eval "$IO" "$W2" top.vmdk >/dev/null 2>&1
check "backing: top passes check" qemu-img check top.vmdk
check "backing: top equals the raw reference" qemu-img compare -q -F raw top.vmdk ref2.raw
qemu-img create -q -f vmdk -b base.vmdk -F vmdk qtop.vmdk 512k
eval qemu-io "$W2" qtop.vmdk >/dev/null 2>&1
same_dump "backing: qemu's shorter top reads the same through strata-io" qtop.vmdk 0 512k
qemu-img create -q -f vmdk -b base.vmdk -F vmdk qtop.vmdk 2M
eval qemu-io "$W2" qtop.vmdk >/dev/null 2>&1
same_dump "backing: qemu's longer top reads the same through strata-io" qtop.vmdk 512k 1536k

# split extents: I/O across the 2 GiB boundary between extent files
for sf in twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	rm -f ours* theirs*
	"$IMG" create -q -f vmdk -o subformat=$sf ours.vmdk 3G
	qemu-img create -q -f vmdk -o subformat=$sf theirs.vmdk 3G
	BW="-c 'write -P 0x21 2047M 2M' -c 'write -P 0x31 3071M 1M' -c 'write -P 0x41 2048M 3k'"
	eval "$IO" "$BW" ours.vmdk >/dev/null 2>&1
	eval qemu-io "$BW" theirs.vmdk >/dev/null 2>&1
	check "$sf 3G: ours passes check" qemu-img check ours.vmdk
	check "$sf 3G: same contents as qemu's" qemu-img compare -q ours.vmdk theirs.vmdk
	same_dump "$sf 3G: qemu's reads the same through strata-io" theirs.vmdk 2146959360 1M
done

# O_DIRECT (cache=none), when the temporary directory's file system allows it
qemu-img create -q -f raw direct.raw 64k
if qemu-io -f raw -t none -c 'read 0 4k' direct.raw >/dev/null 2>&1; then
	for sf in monolithicSparse twoGbMaxExtentSparse monolithicFlat streamOptimized; do
		rm -f ours*
		"$IMG" create -q -f vmdk -o subformat=$sf ours.vmdk $SIZE
		if [ $sf = streamOptimized ]; then
			DW="-c 'write -P 0x31 0 128k' -c 'write -P 0x32 512k 64k'"
		else
			DW="$W1"
		fi
		qemu-img create -q -f raw dref.raw $SIZE
		eval qemu-io -f raw "$DW" dref.raw >/dev/null 2>&1
		eval "$IO" -f vmdk -t none "$DW" ours.vmdk >/dev/null 2>&1
		tap_result $? "$sf: strata-io -t none writes"
		check "$sf -t none: passes check" qemu-img check ours.vmdk
		check "$sf -t none: equals the raw reference" qemu-img compare -q -F raw ours.vmdk dref.raw
	done
else
	for i in 1 2 3 4; do echo "ok - O_DIRECT # SKIP not supported in $TEST_TMPDIR"; done
fi
tap_end
