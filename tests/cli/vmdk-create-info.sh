#!/bin/sh
# vmdk: strata-img create against qemu-img create (the "Formatting" line, errors, the files made,
# descriptor text apart from the CID) and info (human and JSON) against qemu-img info on the
# same images, for every subformat and the create options.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP qemu-img not installed"; exit 0; }

# create_both NAME FILE SIZE ARGS...: create FILE in ours/ and ref/, compare output and files.
create_both() {
	name=$1 file=$2 size=$3
	shift 3
	rm -rf ours ref
	mkdir -p ours ref
	(cd ours && "$IMG" create -f vmdk "$@" "$file" "$size" >../o.out 2>../o.err; echo "rc=$?" >>../o.out)
	(cd ref && qemu-img create -f vmdk "$@" "$file" "$size" >../r.out 2>../r.err; echo "rc=$?" >>../r.out)
	normalize r.err >r.err2
	if cmp -s o.out r.out && cmp -s o.err r.err2; then
		tap_result 0 "create $name: output"
	else
		tap_result 1 "create $name: output"
		diff o.out r.out | sed 's/^/# /'
		diff o.err r.err2 | sed 's/^/# /'
	fi
	# the same files, of the same sizes, with the same bytes apart from the CID line
	(cd ref && ls) >r.ls
	(cd ours && ls) >o.ls
	same=0
	cmp -s o.ls r.ls || same=1
	for f in $(cat r.ls); do
		# (text descriptors vary in length with the random CID, printed as %x)
		rs=$(stat -c %s "ref/$f")
		[ "$rs" -lt 4096 ] || [ "$rs" = "$(stat -c %s "ours/$f" 2>/dev/null)" ] || same=1
		# flat extents are big sparse files: their first MiB is enough
		head -c 1M "ref/$f" | tr -d '\000' | sed 's/^CID=.*//' >r.txt
		head -c 1M "ours/$f" 2>/dev/null | tr -d '\000' | sed 's/^CID=.*//' >o.txt
		cmp -s r.txt o.txt || { same=1; diff o.txt r.txt | head -n 10 | sed 's/^/# /'; }
	done
	tap_result $same "create $name: same files"
}

# info_both NAME DIR FILE: strata-img info and qemu-img info on one image, human and JSON.
info_both() {
	(cd "$2" && "$IMG" info "$3" >../o.out 2>&1; echo "rc=$?" >>../o.out)
	(cd "$2" && qemu-img info "$3" >../r.out 2>&1; echo "rc=$?" >>../r.out)
	same_file "info $1" o.out r.out
	(cd "$2" && "$IMG" info --output=json "$3" >../o.out 2>&1; echo "rc=$?" >>../o.out)
	(cd "$2" && qemu-img info --output=json "$3" >../r.out 2>&1; echo "rc=$?" >>../r.out)
	same_file "info json $1" o.out r.out
}

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
	create_both "$sf" img.vmdk 5G -o subformat=$sf
	info_both "$sf (ours)" ours img.vmdk
	info_both "$sf (qemu's)" ref img.vmdk
done
create_both "small" small.vmdk 100k
create_both "odd size" odd.vmdk 1000
create_both "exactly 4G split" four.vmdk 4G -o subformat=twoGbMaxExtentSparse
info_both "exactly 4G split" ours four.vmdk
create_both "options" opt.vmdk 1G -o adapter_type=lsilogic,hwversion=7,toolsversion=1234,zeroed_grain=on
info_both "options" ours opt.vmdk
create_both "compat6 legacyESX stream" le.vmdk 20M -o compat6=on,adapter_type=legacyESX,subformat=streamOptimized
create_both "zeroed_grain split" zg.vmdk 3G -o zeroed_grain=on,subformat=twoGbMaxExtentSparse
create_both "no extension flat" noext 3G -o subformat=twoGbMaxExtentFlat
create_both "host options, buslogic" ho.vmdk 1M -o nocow=on,preallocation=off,extent_size_hint=1M,adapter_type=buslogic

# backing files (with an explicit size: the "Formatting" line of a size taken from the backing
# file is the front end's business)
rm -rf ours ref base
mkdir -p ours ref
(cd ours && "$IMG" create -q -f vmdk base.vmdk 10M)
cp ours/base.vmdk ref/base.vmdk
for sf in monolithicSparse streamOptimized twoGbMaxExtentSparse; do
	(cd ours && "$IMG" create -f vmdk -b base.vmdk -F vmdk -o subformat=$sf top.vmdk 10M >../o.out 2>&1)
	(cd ref && qemu-img create -f vmdk -b base.vmdk -F vmdk -o subformat=$sf top.vmdk 10M >../r.out 2>&1)
	same_file "create backing $sf: output" o.out r.out
	info_both "backing $sf" ours top.vmdk
	cid=$(tr -d '\000' <ours/base.vmdk | sed -n 's/^CID=//p')
	tr -d '\000' <ours/top.vmdk | grep -q "^parentCID=$cid\$"
	tap_result $? "backing $sf: parentCID is the base's CID"
	(cd ours && rm -f top*.vmdk)
	(cd ref && rm -f top*.vmdk)
done

# errors
for args in "-o subformat=bogus e.vmdk 1M" "-o adapter_type=scsi e.vmdk 1M" \
	"-o compat6=on,hwversion=6 e.vmdk 1M" "-o subformat=monolithicFlat,zeroed_grain=on e.vmdk 1M" \
	"-o bogus=1 e.vmdk 1M" "-o zeroed_grain=maybe e.vmdk 1M" "e.vmdk" \
	"-b base.vmdk -F vmdk -o subformat=monolithicFlat e.vmdk 1M"; do
	rm -rf ours/e* ref/e*
	# shellcheck disable=SC2086
	(cd ours && "$IMG" create -f vmdk $args >../o.out 2>&1; echo "rc=$?" >>../o.out)
	# shellcheck disable=SC2086
	(cd ref && qemu-img create -f vmdk $args 2>&1 | normalize >../r.out; echo "rc=$?" >>../r.out)
	# qemu-img's exit status is lost in the pipe: compare the text only
	sed -i '$d' o.out r.out
	same_file "create error: $args" o.out r.out
done
tap_end
