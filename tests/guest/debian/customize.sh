#!/bin/sh
# mmdebstrap --customize-hook of tests/guest/debian-image.sh: runs on the host with the finished
# tree as $1 (riscv64 programs run through qemu-user-static). Makes the image boot unattended and
# quickly on the virt board: root password "strata" on the serial console, the test ssh key
# ($STRATA_DEBIAN_PUB) for root, DHCP on any ethernet NIC, no wait for the network, a fixed
# machine-id, no first-boot update jobs, and no apt sources (the build's mirror is not kept); and
# builds the initrd (essential.sh deferred it).
set -eu
t=$1
# the real update-initramfs back (essential.sh), and the one initrd built
rm -f "$t/usr/sbin/update-initramfs"
chroot "$t" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
chroot "$t" update-initramfs -c -k all
echo strata-debian >"$t/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tstrata-debian\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$t/etc/hosts"
# the root file system is the whole virtio disk; no fsck pass (e2fsprogs is not in the image)
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$t/etc/fstab"
# a fixed id: systemd treats the first boot as configured (no firstboot questions)
echo 5472617461000000000000000000beef >"$t/etc/machine-id"
echo 'root:strata' | chroot "$t" chpasswd
mkdir -p "$t/root/.ssh"
chmod 700 "$t/root/.ssh"
cp "$STRATA_DEBIAN_PUB" "$t/root/.ssh/authorized_keys"
chmod 600 "$t/root/.ssh/authorized_keys"
mkdir -p "$t/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$t/etc/systemd/network/20-wired.network"
chroot "$t" systemctl enable systemd-networkd.service >/dev/null 2>&1
# a boot without a NIC must not wait two minutes for one
chroot "$t" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
# no archive is named in the image (the build's mirror is not kept): the user adds one
rm -f "$t/etc/apt/sources.list"
rm -rf "$t/var/lib/apt/lists" "$t/var/cache/apt/archives"/*.deb "$t"/etc/apt/sources.list.d/0000*
# mmdebstrap copied the build host's resolver configuration; slirp's DNS is 10.0.2.3
echo 'nameserver 10.0.2.3' >"$t/etc/resolv.conf"
mkdir -p "$t/var/lib/apt/lists/partial"
# ConditionNeedsUpdate= jobs (ldconfig, sysusers, hwdb, catalog) see /usr as already handled
touch "$t/etc/.updated" "$t/var/.updated"
