#!/bin/sh
# amend -o compat=0.10 of an encrypted qcow2 (LUKS and legacy AES): zero clusters that own a
# host cluster are expanded into data clusters, and their zeroes must be written encrypted.
# (qemu-img 7.2 writes them plain, so in its own downgraded copy they read back as noise; the
# layout of ours is compared with its copy, the data with what the image held before.)
command -v qemu-img >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-img not installed"; exit 77; }
command -v qemu-io >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-io not installed"; exit 77; }
: "${STRATA_IMG:?}" "${STRATA_IO:?}" "${TEST_TMPDIR:?}"
set -u
cd "$TEST_TMPDIR" || exit 1
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
same() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; printf '%s\n---\n%s\n' "$2" "$3" | sed 's/^/# /' | head -40; fi; }
SEC="--object secret,id=sec0,data=pass0"
io() { echo "driver=qcow2,file.filename=$1,encrypt.key-secret=sec0"; }
bad() { grep -q -e Pattern -e "can't" -e "error" -e "failed" -e "Could not"; }
# $1: the tool; the pattern of every 64k of the first 512k
reads() {
	"$1" $SEC -c 'read -P 0x11 0 64k' -c 'read -P 0 64k 64k' -c 'read -P 0x11 128k 128k' \
		-c 'read -P 0 256k 64k' -c 'read -P 0x22 320k 64k' -c 'read -P 0 384k 64k' \
		-c 'read -P 0x11 448k 64k' --image-opts "$(io "$2")" 2>&1
}

for kind in luks aes; do
	if [ $kind = luks ]; then
		o="encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
	else
		o="encrypt.format=aes,encrypt.key-secret=sec0"
	fi
	rm -f d.qcow2 s.qcow2 q.qcow2
	$STRATA_IMG create -q $SEC -f qcow2 -o "$o" d.qcow2 4M 2>/dev/null
	check $? "$kind: create"
	# allocated zero (64k), unallocated zero (256k), zero over data (384k)
	qemu-io $SEC -c 'write -P 0x11 0 512k' -c 'write -z 64k 64k' -c 'write -z -u 256k 64k' \
		-c 'write -P 0x22 320k 64k' -c 'write -z 384k 64k' --image-opts "$(io d.qcow2)" \
		>/dev/null 2>&1
	cp d.qcow2 s.qcow2
	cp d.qcow2 q.qcow2
	$STRATA_IMG amend $SEC -o compat=0.10 --image-opts "$(io s.qcow2)" 2>&1
	check $? "$kind: strata-img amend -o compat=0.10"
	qemu-img amend $SEC -o compat=0.10 --image-opts "$(io q.qcow2)" >/dev/null 2>&1
	[ "$(reads qemu-io q.qcow2 | grep -c Pattern)" = 0 ] ||
		echo "# $kind: qemu-img 7.2's own downgrade left plain zeroes (they read as noise)"
	same "$kind: compat as qemu-img's" "$(qemu-img info s.qcow2 | grep compat)" \
		"$(qemu-img info q.qcow2 | grep compat)"
	same "$kind: layout (map) as qemu-img's downgrade" \
		"$(qemu-img map --output=json $SEC --image-opts "$(io s.qcow2)" 2>&1)" \
		"$(qemu-img map --output=json $SEC --image-opts "$(io q.qcow2)" 2>&1)"
	reads qemu-io s.qcow2 | bad
	check $((1 - $?)) "$kind: qemu-io reads zeroes (and the data) in the downgraded image"
	reads "$STRATA_IO" s.qcow2 | bad
	check $((1 - $?)) "$kind: strata-io reads the same"
	qemu-img check $SEC --image-opts "$(io s.qcow2)" >/dev/null 2>&1
	check $? "$kind: qemu-img check clean"
	same "$kind: contents equal to the image before the downgrade" \
		"$(qemu-img compare $SEC --image-opts "$(io d.qcow2)" "$(io s.qcow2)" 2>&1)" \
		"Images are identical."
done
echo "1..$n"
