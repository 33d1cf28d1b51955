#!/bin/sh
# Builds the Linux test guest from Debian 13 "trixie" riscv64 packages, nothing compiled:
#   Image       Debian's kernel (linux-image-riscv64's linux-image-6.*-riscv64, /boot/vmlinux-*)
#   initrd.gz   newc cpio (gzip): busybox-static, initramfs/init, the modules listed in MODULES
#               with their modules.dep closure and soft dependencies, in load order
#   rootfs.raw  64 MiB ext4 (mke2fs -d, no loop mount): busybox, rootfs/init as /sbin/init,
#               rootfs/tests/* as /strata/tests/*, a seed file
#   rootfs.qcow2  the same converted by strata-img
# into $STRATA_CACHE/guest-<hash>/, <hash> = sha256 of this script, the init and test files and
# the package versions the archive resolves. An existing directory is reused; a build goes to a
# temporary directory renamed at the end, so concurrent builds are safe.
# Packages come through the mirror the host's apt already uses (URI read from its sources at run
# time, never written anywhere), with a private apt configuration and state (the host's apt is
# untouched) and apt's own signature checks against debian-archive-keyring.
# Prints the directory on the last line of stdout; the log is <dir>/build.log.
# Exit status 75 when the archive cannot be reached and nothing usable is cached.
#   STRATA_CACHE  cache root (default ~/.cache/strata)
#   STRATA_IMG    strata-img (default build/rel/strata-img next to this tree)
#   STRATA_APT_SOURCES  deb822 .sources file(s) to take the URI from instead of the host's
#                 (tests use an unreachable one)
set -eu
LC_ALL=C # the hash sorts file names and reads apt's output the same way everywhere
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CACHE=${STRATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata}
IMG=${STRATA_IMG:-$top/build/rel/strata-img}
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MODULES="virtio_mmio virtio_blk virtio_net virtio_input evdev ext4"
EX_UNREACHABLE=75

say() { echo "build.sh: $*" >&2; }
die() { say "$*"; exit 1; }
for t in apt-get apt-cache dpkg-deb depmod mke2fs cpio gzip xz sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps)"
done
[ -x "$IMG" ] || die "$IMG not built (make)"
[ -r "$KEYRING" ] || die "$KEYRING not found (make deps)"

# --- the archive: the host's first non-security deb URI ------------------------------------
. "$here/mirror.sh"
guest_mirror || die "no deb URI in /etc/apt/sources.list{,.d}"

mkdir -p "$CACHE/debs"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
log=$work/log
# apt's output names the mirror: it reaches the log only with the host name masked
quiet() {
	{ "$@" 2>&1 || echo "build.sh: failed: $*"; } | sed "s|$host|<mirror>|g" >>"$log"
	! grep -q '^build.sh: failed' "$log"
}
mkdir -p "$work/apt/etc" "$work/apt/state/lists/partial" "$work/apt/cache/archives/partial"
# the only file naming the mirror; it lives in $work and is deleted with it
echo "deb [arch=riscv64 signed-by=$KEYRING] $uri $SUITE main" >"$work/apt/etc/sources.list"
papt() {
	cmd=$1
	shift
	"$cmd" -q -o Dir::Etc::sourcelist="$work/apt/etc/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State="$work/apt/state" -o Dir::State::status=/dev/null -o Dir::Cache="$work/apt/cache" \
		-o APT::Architecture=riscv64 -o APT::Architectures=riscv64 \
		-o APT::Sandbox::User="$(id -un)" "$@"
}

recipe_hash=$(cd "$here" && cat build.sh mirror.sh initramfs/init rootfs/init rootfs/tests/* |
	{ cat; echo "$MODULES"; } | sha256sum | cut -c 1-16)
last=$CACHE/guest-last-$recipe_hash # the last build of this recipe, for offline runs

if ! quiet papt apt-get update || ! kpkg=$(papt apt-cache depends linux-image-riscv64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-riscv64\)$/\1/p' | head -n 1) || [ -z "$kpkg" ]; then
	if [ -L "$last" ] && [ -s "$last/Image" ]; then
		say "archive not reachable; reusing the last build of this recipe"
		readlink -f "$last"
		exit 0
	fi
	sed 's/^/  /' "$log" | tail -n 5 >&2
	say "cannot reach the Debian archive ($SUITE riscv64) through the host's apt mirror"
	exit $EX_UNREACHABLE
fi
versions=$(papt apt-cache show --no-all-versions "$kpkg" busybox-static | sed -n 's/^\(Package\|Version\): //p' |
	paste -d ' ' - -)
hash=$({ echo "$recipe_hash"; echo "$versions"; } | sha256sum | cut -c 1-16)
out=$CACHE/guest-$hash
if [ -s "$out/Image" ] && [ -s "$out/initrd.gz" ] && [ -s "$out/rootfs.qcow2" ]; then
	say "reusing $out"
	ln -sfn "$out" "$last"
	echo "$out"
	exit 0
fi
say "building $out ($(echo "$versions" | tr '\n' ';'))"
t0=$(date +%s)

# --- packages: verified by apt (Release signature, then hashes), kept in $CACHE/debs ------------
for p in $kpkg busybox-static; do
	v=$(echo "$versions" | sed -n "s/^$p //p")
	# .deb names encode an epoch's colon as %3a
	if ! ls "$CACHE/debs/${p}_$(echo "$v" | sed 's/:/%3a/')_riscv64.deb" >/dev/null 2>&1; then
		(cd "$work" && quiet papt apt-get download "$p=$v") || { tail -n 5 "$log" >&2; die "apt-get download $p failed"; }
		mv "$work"/"${p}"_*.deb "$CACHE/debs/" # a rename: concurrent builds see whole files
	fi
	dpkg-deb -x "$CACHE/debs/${p}_$(echo "$v" | sed 's/:/%3a/')_riscv64.deb" "$work/pkg"
done
kver=$(ls "$work/pkg/usr/lib/modules" | head -n 1)
[ -n "$kver" ] && [ -s "$work/pkg/boot/vmlinux-$kver" ] || die "no kernel in $kpkg"
bb=$work/pkg/usr/bin/busybox
[ -s "$bb" ] || bb=$work/pkg/bin/busybox
[ -s "$bb" ] || die "no busybox in busybox-static"
mkdir -p "$work/out"
cp "$work/pkg/boot/vmlinux-$kver" "$work/out/Image"
cp "$work/pkg/boot/config-$kver" "$work/out/kernel.config"

# --- modules: the package has no modules.dep (depmod runs at install), so run it here --------
mdir=$work/pkg/usr/lib/modules/$kver
depmod -b "$work/pkg/usr" "$kver" || die "depmod failed"
# prints module paths (relative to $mdir) in load order: soft "pre" dependencies and
# modules.dep dependencies before the module itself, each once
awk -v want="$MODULES" '
	function base(p) { sub(/.*\//, "", p); sub(/\.ko.*$/, "", p); gsub(/-/, "_", p); return p }
	FILENAME ~ /modules.dep$/ { path = $1; sub(/:$/, "", path); m = base(path); file[m] = path
		deps[m] = ""; for (i = 2; i <= NF; i++) deps[m] = deps[m] " " base($i); next }
	FILENAME ~ /modules.alias$/ { if (!($2 in alias)) alias[$2] = $3; next }
	FILENAME ~ /modules.softdep$/ { m = $2; gsub(/-/, "_", m); pre = 0
		for (i = 3; i <= NF; i++) { if ($i == "pre:") pre = 1; else if ($i == "post:") pre = 0
			else if (pre) soft[m] = soft[m] " " $i } next }
	FILENAME ~ /modules.builtin$/ { builtin[base($1)] = 1; next }
	function visit(m,   n, i, list, a) {
		if (m in alias) m = alias[m]
		gsub(/-/, "_", m)
		if (done[m] || builtin[m]) return
		if (!(m in file)) { print "build.sh: module " m " not found" > "/dev/stderr"; bad = 1; return }
		done[m] = 1
		n = split(soft[m] " " deps[m], list, " ")
		for (i = 1; i <= n; i++) visit(list[i])
		print file[m]
	}
	END { n = split(want, a, " "); for (i = 1; i <= n; i++) visit(a[i]); exit bad }
' "$mdir/modules.builtin" "$mdir/modules.alias" "$mdir/modules.softdep" "$mdir/modules.dep" >"$work/modules" ||
	die "module closure failed"

# --- initramfs --------------------------------------------------------------------------------
ir=$work/initramfs
mkdir -p "$ir/bin" "$ir/dev" "$ir/proc" "$ir/sys" "$ir/etc" "$ir/newroot" "$ir/lib/modules"
cp "$bb" "$ir/bin/busybox"
ln -s busybox "$ir/bin/sh"
cp "$here/initramfs/init" "$ir/init"
chmod 755 "$ir/init" "$ir/bin/busybox"
# modules go in uncompressed: busybox insmod then needs no xz support
while read -r m; do
	dst=$ir/lib/modules/$(basename "$m" | sed 's/\.xz$//')
	case $m in *.xz) xz -dc "$mdir/$m" >"$dst" ;; *) cp "$mdir/$m" "$dst" ;; esac
	basename "$dst"
done <"$work/modules" >"$ir/etc/modules"
(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$work/out/initrd.gz"

# --- root disk -------------------------------------------------------------------------------
rt=$work/root
mkdir -p "$rt/bin" "$rt/sbin" "$rt/dev" "$rt/proc" "$rt/sys" "$rt/run" "$rt/tmp" "$rt/etc" "$rt/strata/tests"
cp "$bb" "$rt/bin/busybox"
ln -s busybox "$rt/bin/sh"
cp "$here/rootfs/init" "$rt/sbin/init"
cp "$here"/rootfs/tests/* "$rt/strata/tests/"
chmod 755 "$rt/sbin/init" "$rt/bin/busybox"
# a file the rw test reads back (the guest prints its md5, the host knows it)
yes "strata seed line" | head -c 1048576 >"$rt/strata/seed"
truncate -s 64M "$work/out/rootfs.raw"
mke2fs -q -t ext4 -L strata-root -E root_owner=0:0 -d "$rt" "$work/out/rootfs.raw" >>"$log" 2>&1 || die "mke2fs failed"
"$IMG" convert -f raw -O qcow2 "$work/out/rootfs.raw" "$work/out/rootfs.qcow2" || die "strata-img convert failed"
{
	echo "$versions"
	echo "kernel $kver"
	echo "modules:"
	cat "$ir/etc/modules"
} >"$work/out/versions.txt"
cp "$log" "$work/out/build.log"
say "built in $(($(date +%s) - t0)) s"

# another build of the same hash may have finished first: keep whichever is in place
if mv -T "$work/out" "$out" 2>/dev/null; then :; else say "$out appeared meanwhile; using it"; fi
ln -sfn "$out" "$last"
echo "$out"
