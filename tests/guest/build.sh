#!/bin/sh
# Builds the Linux guest of tests/guest (per shared/notes/guest-recipe.md): a riscv64 kernel Image
# (Debian's linux-source-6.1, tinyconfig + kernel.config), a static busybox (Debian's source,
# defconfig + busybox.config) and an ext4 root disk (busybox, its applet links, init as
# /sbin/init) into $STRATA_CACHE/guest-<hash>/{Image,busybox,rootfs.raw}, where <hash> is a sha256
# of the recipe's inputs (kernel.config, busybox.config, init, this script, the kernel source and
# cross-compiler versions). An existing directory for the same hash is reused as it is.
# Prints that directory on the last line of stdout; build logs go to <dir>.log files beside it.
#   STRATA_CACHE       cache root (default ~/.cache/strata)
#   STRATA_KERNEL_TREE an unpacked linux-source-6.1 tree to build in (default: unpacked into
#                      $STRATA_CACHE/src); kbuild rebuilds only what the configuration changed
#   JOBS               parallel jobs (default: number of CPUs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${STRATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CROSS=riscv64-linux-gnu-
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz

for f in kernel.config busybox.config init build.sh; do
	[ -r "$here/$f" ] || { echo "build.sh: missing $here/$f" >&2; exit 1; }
done
for t in ${CROSS}gcc mke2fs make flex bison bc; do
	command -v "$t" >/dev/null 2>&1 || { echo "build.sh: $t not found (make deps)" >&2; exit 1; }
done
[ -r "$KSRC_TAR" ] || { echo "build.sh: $KSRC_TAR not found (make deps)" >&2; exit 1; }

hash=$({
	cat "$here/kernel.config" "$here/busybox.config" "$here/init" "$here/build.sh"
	dpkg-query -W -f='${Package} ${Version}\n' linux-source-6.1 2>/dev/null || true
	${CROSS}gcc --version | head -n 1
} | sha256sum | cut -c 1-16)
out=$CACHE/guest-$hash
if [ -s "$out/Image" ] && [ -s "$out/busybox" ] && [ -s "$out/rootfs.raw" ]; then
	echo "build.sh: reusing $out" >&2
	echo "$out"
	exit 0
fi
mkdir -p "$CACHE/src"
tmp=$CACHE/guest-$hash.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
log=$out.log
: >"$log"
echo "build.sh: building into $out (log $log)" >&2

# --- kernel ---------------------------------------------------------------------------------
ktree=${STRATA_KERNEL_TREE:-$CACHE/src/linux-source-6.1}
if [ ! -f "$ktree/Makefile" ]; then
	echo "build.sh: unpacking $KSRC_TAR" >&2
	tar -C "$(dirname "$ktree")" -xJf "$KSRC_TAR"
fi
kmake() { make -C "$ktree" ARCH=riscv CROSS_COMPILE=$CROSS "$@" >>"$log" 2>&1; }
echo "build.sh: kernel in $ktree" >&2
kmake tinyconfig
(cd "$ktree" && scripts/kconfig/merge_config.sh -m .config "$here/kernel.config") >>"$log" 2>&1
kmake olddefconfig
# every option of the fragment must have survived olddefconfig (a missing dependency drops it)
sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)/\1=\2/p' "$here/kernel.config" | while read -r opt; do
	grep -qx "$opt" "$ktree/.config" || echo "build.sh: warning: $opt not in the final .config" >&2
done
kmake -j"$JOBS" Image || { tail -n 30 "$log" >&2; exit 1; }
cp "$ktree/arch/riscv/boot/Image" "$tmp/Image"
cp "$ktree/.config" "$tmp/kernel.config.full"

# --- busybox --------------------------------------------------------------------------------
bbdl=$CACHE/src/busybox-dl
if ! ls "$bbdl"/busybox_*.orig.tar.* >/dev/null 2>&1; then
	# apt needs deb-src entries: derive them from the system's own deb entries (no mirror
	# address of ours), once.
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		src=/etc/apt/sources.list.d/debian.sources
		[ -r "$src" ] || { echo "build.sh: no deb-src entries and no $src to derive them from" >&2; exit 1; }
		sed 's/^Types:.*/Types: deb-src/' "$src" | $SUDO tee /etc/apt/sources.list.d/strata-deb-src.sources >/dev/null
		$SUDO apt-get update -qq >>"$log" 2>&1
	fi
	mkdir -p "$bbdl"
	(cd "$bbdl" && apt-get source --download-only busybox) >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; exit 1; }
fi
orig=$(ls "$bbdl"/busybox_*.orig.tar.* | head -n 1)
echo "build.sh: busybox from $(basename "$orig")" >&2
rm -rf "$tmp/bb-src"
mkdir -p "$tmp/bb-src"
tar -C "$tmp/bb-src" -xf "$orig"
bbtree=$(ls -d "$tmp"/bb-src/busybox-* | head -n 1)
bbmake() { make -C "$bbtree" CROSS_COMPILE=$CROSS "$@" >>"$log" 2>&1; }
bbmake defconfig
while read -r line; do
	case $line in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	sed -i "/^$opt=/d; /^# $opt is not set/d" "$bbtree/.config"
	echo "$line" >>"$bbtree/.config"
done <"$here/busybox.config"
yes "" | bbmake oldconfig >/dev/null
bbmake -j"$JOBS" || { tail -n 30 "$log" >&2; exit 1; }
cp "$bbtree/busybox" "$tmp/busybox"

# --- root file system -----------------------------------------------------------------------
root=$tmp/root
bbmake CONFIG_PREFIX="$root" install
rm -f "$root/linuxrc" "$root/sbin/init"
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc"
cp "$here/init" "$root/sbin/init"
chmod 755 "$root/sbin/init"
truncate -s 64M "$tmp/rootfs.raw"
mke2fs -q -t ext4 -d "$root" "$tmp/rootfs.raw" >>"$log" 2>&1
rm -rf "$tmp/bb-src" "$root"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build.sh: done" >&2
echo "$out"
