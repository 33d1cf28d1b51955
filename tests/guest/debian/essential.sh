#!/bin/sh
# mmdebstrap --essential-hook of tests/guest/debian-image.sh ($1 = the tree, before the kernel
# and initramfs-tools are installed): the initrd must load the virt board's virtio modules, and
# it is built once at the end (customize.sh) instead of by the kernel's postinst and again by
# initramfs-tools' trigger (each takes minutes under qemu-user): update-initramfs is diverted
# to a no-op until then.
set -eu
t=$1
mkdir -p "$t/etc/initramfs-tools"
grep -v '^#' "$(dirname "$0")/modules" >"$t/etc/initramfs-tools/modules"
chroot "$t" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.strata \
	--add /usr/sbin/update-initramfs
mkdir -p "$t/usr/sbin"
printf '#!/bin/sh\nexit 0\n' >"$t/usr/sbin/update-initramfs"
chmod 755 "$t/usr/sbin/update-initramfs"
