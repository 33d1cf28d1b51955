#!/bin/sh
# vmdk bad input: malicious descriptors and headers give one clear error (exit status 1, no
# crash); qemu-img check's verdict on corrupted grain tables is ours too.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ echo "1..0 # SKIP qemu-img/qemu-io not installed"; exit 0; }

# poke FILE OFFSET BYTES...: overwrite bytes (given as hex pairs) at OFFSET
poke() {
	f=$1 off=$2
	shift 2
	fmt=""
	for b in "$@"; do fmt="$fmt\\$(printf '%03o' "0x$b")"; done
	# shellcheck disable=SC2059
	printf "$fmt" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
}

# refused NAME FILE PATTERN: strata-img info fails cleanly with a message matching PATTERN
refused() {
	"$IMG" info "$2" >o.out 2>o.err
	rc=$?
	if [ $rc -eq 1 ] && grep -q "$3" o.err; then
		tap_result 0 "$1"
	else
		tap_result 1 "$1"
		echo "# rc=$rc"
		sed 's/^/# /' o.err
	fi
	# reading must not crash either, when the image opens at all
	"$IO" -c 'read 0 64k' "$2" >/dev/null 2>&1
	[ $? -lt 128 ]
	tap_result $? "$1: strata-io survives"
}

"$IMG" create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
mk() { sed "s|\"flat-flat.vmdk\" 0|$1|" flat.vmdk >"$2"; }
mk '"/etc/passwd" 0' abs.vmdk
refused "absolute extent path" abs.vmdk "must be a relative path"
mk '"../x/flat-flat.vmdk" 0' dotdot.vmdk
refused "extent path with .." dotdot.vmdk "must be a relative path"
mk '"sub/../../flat-flat.vmdk" 0' dotdot2.vmdk
refused "extent path with inner .." dotdot2.vmdk "must be a relative path"
mk '"self.vmdk" 0' self.vmdk
refused "descriptor naming itself" self.vmdk "is the descriptor itself"
mk '"nothere.vmdk" 0' missing.vmdk
refused "missing extent file" missing.vmdk "Could not open 'nothere.vmdk'"
mk '"" 0' empty.vmdk
refused "empty extent name" empty.vmdk "Invalid extent line"
mk '"flat-flat.vmdk" 99999999999999999999999' bigoff.vmdk
refused "extent offset overflow" bigoff.vmdk "Invalid extent line"
sed 's/^RW 2048/RW 99999999999999999999/' flat.vmdk >bigsec.vmdk
refused "extent size overflow" bigsec.vmdk "Invalid extent line"
sed 's/^RW 2048/RW 1099511627777/' flat.vmdk >huge.vmdk
refused "extent size past the limit" huge.vmdk "Invalid extent line"
sed 's/^createType.*//' flat.vmdk >notype.vmdk
refused "no createType" notype.vmdk "invalid VMDK image descriptor"
sed 's/FLAT/BOGUS/' flat.vmdk >badtype.vmdk
refused "unknown extent type" badtype.vmdk "Invalid extent line"
sed '/^RW/d' flat.vmdk >noext.vmdk
refused "no extents" noext.vmdk "names no extents"

"$IMG" create -q -f vmdk -o subformat=twoGbMaxExtentSparse two.vmdk 3G
sed 's/two-s002.vmdk/two-s001.vmdk/' two.vmdk >twice.vmdk
refused "one sparse file as two extents" twice.vmdk "used by two extents"
sed 's/^RW/RDONLY/' flat.vmdk >ro.vmdk
chmod a-w flat-flat.vmdk
"$IO" -c 'read -P 0 0 1M' ro.vmdk >/dev/null 2>&1
tap_result $? "RDONLY extent of a read-only file opens and reads"
chmod u+w flat-flat.vmdk

# tolerated: comments, CR-LF, spaces around '=', unknown keys, quotes
{
	printf '# Disk DescriptorFile\r\n# a comment\r\nversion = 1\r\nCID = 12345678\r\n'
	printf 'parentCID=ffffffff\r\nisNativeSnapshot = "no"\r\ncreateType = "monolithicFlat"\r\n'
	printf '\r\n  RW 2048   FLAT "flat-flat.vmdk" 0  \r\n\r\nddb.uuid = "60 00 C2 9a"\r\n'
} >tolerant.vmdk
"$IO" -c 'read -P 0 0 1M' tolerant.vmdk >/dev/null 2>&1
tap_result $? "tolerant descriptor opens and reads"
"$IMG" info tolerant.vmdk | grep -q '^    cid: 305419896$'
tap_result $? "tolerant descriptor: CID read"

# sparse headers
"$IMG" create -q -f vmdk sp.vmdk 1M
cp sp.vmdk gd.vmdk && poke gd.vmdk 56 ff ff ff 00 00 00 00 00
refused "grain directory past the end" gd.vmdk "grain directory is past the end"
cp sp.vmdk cap.vmdk && poke cap.vmdk 12 ff ff ff ff ff ff ff ff
refused "capacity overflow" cap.vmdk "image size too large"
cp sp.vmdk grain.vmdk && poke grain.vmdk 20 03 00 00 00 00 00 00 00
refused "grain size not a power of two" grain.vmdk "Invalid granularity"
cp sp.vmdk grain0.vmdk && poke grain0.vmdk 20 00 00 00 00 00 00 00 00
refused "grain size zero" grain0.vmdk "Invalid granularity"
cp sp.vmdk gtes.vmdk && poke gtes.vmdk 44 00 00 00 80
refused "huge grain tables" gtes.vmdk "L2 table size too big"
cp sp.vmdk ver.vmdk && poke ver.vmdk 4 09 00 00 00
refused "unknown version" ver.vmdk "Unsupported VMDK version"
head -c 1024 sp.vmdk >trunc.vmdk
refused "truncated sparse file" trunc.vmdk "File truncated, expecting at least 65536 bytes"
cp sp.vmdk foot.vmdk && poke foot.vmdk 56 ff ff ff ff ff ff ff ff
refused "stream footer missing" foot.vmdk "Invalid footer"

# check: a grain table entry past the end of the file, as qemu-img check sees it
"$IMG" create -q -f vmdk c.vmdk 1M
"$IO" -c 'write -P 1 0 192k' c.vmdk >/dev/null
gt=$(od -An -tu4 -j 13312 -N 4 c.vmdk | tr -d " ")   # GD entry 0 (GD at sector 26)
poke c.vmdk $((gt * 512 + 4)) a0 86 01 00           # grain 1 -> sector 100000
cp c.vmdk cq.vmdk
"$IMG" check c.vmdk >o.out 2>o.err
echo "rc=$?" >>o.out
qemu-img check cq.vmdk >r.out 2>r.err
echo "rc=$?" >>r.out
same_file "check past-EOF grain: stdout and status" o.out r.out
grep -q "^ERROR: cluster offset for sector 128 points after EOF" r.err
tap_result $? "check past-EOF grain: qemu-img's message (sanity)"
grep -q "Check failed: Invalid argument" o.err
tap_result $? "check past-EOF grain: fails as qemu-img check does"
# two grain table entries sharing one grain: qemu-img check does not count it, nor do we
"$IMG" create -q -f vmdk ov.vmdk 1M
"$IO" -c 'write -P 1 0 192k' ov.vmdk >/dev/null
gt=$(od -An -tu4 -j 13312 -N 4 ov.vmdk | tr -d " ")
g1=$(od -An -tx1 -j $((gt * 512 + 4)) -N 4 ov.vmdk)
# shellcheck disable=SC2086
poke ov.vmdk $((gt * 512 + 8)) $g1
"$IMG" check ov.vmdk >o.out 2>&1
echo "rc=$?" >>o.out
qemu-img check ov.vmdk >r.out 2>&1
echo "rc=$?" >>r.out
same_file "check overlapping grains: same verdict as qemu-img" o.out r.out
"$IMG" check sp.vmdk >o.out 2>&1
echo "rc=$?" >>o.out
qemu-img check sp.vmdk >r.out 2>&1
echo "rc=$?" >>r.out
same_file "check clean image" o.out r.out

# a symlink beside the descriptor leading out of its directory is not followed (qemu would
# read the target); one that stays inside is
mkdir -p out sub
printf 'secret' >out/secret.raw
ln -sf "$PWD/out/secret.raw" sub/link.raw
cp flat-flat.vmdk sub/
sed 's|"flat-flat.vmdk" 0|"link.raw" 0|' flat.vmdk >sub/link.vmdk
refused "extent symlink leaving the directory" sub/link.vmdk "resolves to a path outside the descriptor's directory"
ln -sf flat-flat.vmdk sub/inside.raw
sed 's|"flat-flat.vmdk" 0|"inside.raw" 0|' flat.vmdk >sub/inside.vmdk
"$IO" -c 'read -P 0 0 64k' sub/inside.vmdk >/dev/null 2>&1
tap_result $? "extent symlink inside the directory is followed"
# extent lines qemu calls invalid: VMFS with an offset, SPARSE with one, FLAT without one
for l in 'RW 2048 VMFS "flat-flat.vmdk" 1' 'RW 2048 SPARSE "flat-flat.vmdk" 1' \
	'RW 2048 FLAT "flat-flat.vmdk"'; do
	sed "s|^RW.*|$l|" flat.vmdk >line.vmdk
	"$IMG" info line.vmdk >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info line.vmdk 2>&1 | normalize >r.out; echo "rc=1" >>r.out
	same_file "extent line '$l': qemu's Invalid extent line" o.out r.out
done
sed 's|^RW.*|RW 2048 VMFS "flat-flat.vmdk"|' flat.vmdk >vmfs.vmdk
"$IO" -c 'read -P 0 0 1M' vmfs.vmdk >/dev/null 2>&1
tap_result $? "VMFS extent without an offset opens"
# monolithicSparse truncated below its first grain: refused as qemu refuses it
qemu-img create -q -f vmdk tr.vmdk 10M
qemu-io -c 'write -P 1 0 1M' tr.vmdk >/dev/null
for n in 30000 1024; do
	cp tr.vmdk t$n.vmdk
	truncate -s $n t$n.vmdk
	"$IMG" info t$n.vmdk >o.out 2>&1; echo "rc=$?" >>o.out
	qemu-img info t$n.vmdk >r.out 2>&1; echo "rc=$?" >>r.out
	normalize r.out >r.n
	same_file "monolithicSparse truncated to $n bytes: qemu's File truncated message" o.out r.n
done
tap_end
