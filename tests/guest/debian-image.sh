#!/bin/sh
# Builds the Debian 13 "trixie" riscv64 system image of `make debian-image`:
#   root.qcow2   ext4 root (whole disk, /dev/vda): systemd, udev, openssh-server, apt, iproute2,
#                linux-image-riscv64 and initramfs-tools installed by mmdebstrap, the initrd
#                carrying the virtio modules (debian/modules); converted by strata-img
#   vmlinux, initrd.img  the kernel and initrd the image installed (/boot), for -kernel/-initrd
#   id_ed25519   the ssh key root accepts (tests only: root's password is "strata")
#   packages.txt, build.log, build-seconds
# into $STRATA_CACHE/debian-<hash>/, <hash> = sha256 of this script and debian/*. An existing
# directory is reused; the build runs in a temporary directory renamed at the end.
# mmdebstrap runs the riscv64 maintainer scripts through qemu-user-static and binfmt_misc (root
# only; binfmt_misc is mounted and the handler registered if missing). Packages come through
# the mirror the host's apt uses (read at run time, masked in the log, not kept in the image),
# verified by apt against debian-archive-keyring; apt's state lives in the build tree, the host's
# apt is untouched. Prints the directory on the last line of stdout.
# Exit status 75 when the archive cannot be reached.
#   STRATA_CACHE (default ~/.cache/strata), STRATA_IMG (default build/rel/strata-img),
#   DEBIAN_SIZE (virtual disk size, default 4G)
set -eu
LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CACHE=${STRATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata}
IMG=${STRATA_IMG:-$top/build/rel/strata-img}
SIZE=${DEBIAN_SIZE:-4G}
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=systemd-sysv,udev,dbus,openssh-server,apt,iproute2,iputils-ping,procps,linux-image-riscv64,initramfs-tools,zstd,kmod
EX_UNREACHABLE=75

say() { echo "debian-image.sh: $*" >&2; }
die() { say "$*"; exit 1; }
for t in mmdebstrap mke2fs ssh-keygen sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps)"
done
[ -x /usr/libexec/qemu-binfmt/riscv64-binfmt-P ] || die "qemu-user-static not installed (make deps)"
[ -x "$IMG" ] || die "$IMG not built (make)"
[ -r "$KEYRING" ] || die "$KEYRING not found (make deps)"

hash=$(cd "$here" && { cat debian-image.sh debian/*; echo "$PACKAGES $SIZE"; } | sha256sum | cut -c 1-16)
out=$CACHE/debian-$hash
if [ -s "$out/root.qcow2" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initrd.img" ]; then
	say "reusing $out"
	echo "$out"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "mmdebstrap with qemu-user-static needs root here (binfmt_misc, chroot)"

# --- riscv64 programs through qemu-user-static ------------------------------------------------
bm=/proc/sys/fs/binfmt_misc
[ -e $bm/register ] || mount -t binfmt_misc binfmt_misc $bm || die "cannot mount binfmt_misc"
if [ ! -e $bm/qemu-riscv64 ]; then
	cat /usr/lib/binfmt.d/qemu-riscv64.conf >$bm/register || die "cannot register qemu-riscv64"
fi

. "$here/mirror.sh"
guest_mirror || die "no deb URI in /etc/apt/sources.list{,.d}"
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/debian-build.XXXXXX")
# a tree that still has /proc or /dev mounted in it (mmdebstrap killed) is left alone
cleanup() {
	if grep -qF " $work/" /proc/self/mounts; then say "mounts left under $work: not removed"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
log=$work/log
mkdir -p "$work/out"
say "building $out (log: $work/log)"
t0=$(date +%s)

ssh-keygen -q -t ed25519 -N '' -C strata-test -f "$work/out/id_ed25519"
STRATA_DEBIAN_PUB=$work/out/id_ed25519.pub
export STRATA_DEBIAN_PUB
# mmdebstrap names the mirror in its output: the log gets it masked
rc=0
{ mmdebstrap --mode=root --arch=riscv64 --variant=minbase --include="$PACKAGES" \
	--keyring="$KEYRING" --aptopt='Acquire::Languages "none"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--essential-hook="sh '$here/debian/essential.sh' \"\$1\"" --skip=cleanup/reproducible \
	--customize-hook="sh '$here/debian/customize.sh' \"\$1\"" \
	--customize-hook="chroot \"\$1\" dpkg-query -W >'$work/out/packages.txt'" \
	"$SUITE" "$work/tree" "deb [signed-by=$KEYRING] $uri $SUITE main" 2>&1 || echo "rc=$?"; } |
	sed "s|$host|<mirror>|g" >"$log"
if grep -q '^rc=' "$log"; then
	tail -n 15 "$log" >&2
	if grep -qi 'failed to fetch\|could not resolve\|unable to connect\|temporary failure' "$log"; then
		say "cannot reach the Debian archive ($SUITE riscv64) through the host's apt mirror"
		exit $EX_UNREACHABLE
	fi
	die "mmdebstrap failed"
fi
# the mirror's name must not stay in the image (the paths are printed with it masked)
# (a file customize.sh did not expect gets it replaced, with a warning naming the file)
for f in $(grep -rlsF "$host" "$work/tree/etc" "$work/tree/var/lib/apt" "$work/tree/var/log" || true); do
	echo "debian-image.sh: warning: the mirror's name was in ${f#"$work/tree"}; replaced" | sed "s|$host|<mirror>|g" >&2
	sed -i "s|$host|mirror.invalid|g" "$f"
done
! grep -rqsF "$host" "$work/tree/etc" "$work/tree/var/lib/apt" "$work/tree/var/log" || die "the mirror's name is left in the image"
t1=$(date +%s)

kver=$(ls "$work/tree/usr/lib/modules" | head -n 1)
[ -s "$work/tree/boot/vmlinux-$kver" ] && [ -s "$work/tree/boot/initrd.img-$kver" ] ||
	die "no kernel/initrd for $kver in /boot"
cp "$work/tree/boot/vmlinux-$kver" "$work/out/vmlinux"
cp "$work/tree/boot/initrd.img-$kver" "$work/out/initrd.img"
truncate -s "$SIZE" "$work/root.raw"
mke2fs -q -t ext4 -L debian-root -E root_owner=0:0 -d "$work/tree" "$work/root.raw" >>"$log" 2>&1 || die "mke2fs failed"
rm -rf "$work/tree"
"$IMG" convert -f raw -O qcow2 "$work/root.raw" "$work/out/root.qcow2" || die "strata-img convert failed"
rm -f "$work/root.raw"
t2=$(date +%s)
echo "mmdebstrap $((t1 - t0)) s, disk $((t2 - t1)) s, total $((t2 - t0)) s" >"$work/out/build-seconds"
echo "kernel $kver" >>"$work/out/build-seconds"
cp "$log" "$work/out/build.log"
say "built in $((t2 - t0)) s ($(cat "$work/out/build-seconds" | head -n 1))"
if mv -T "$work/out" "$out" 2>/dev/null; then :; else say "$out appeared meanwhile; using it"; fi
echo "$out"
