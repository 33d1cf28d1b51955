#!/bin/sh
# Regenerates the qcow2_open_read seeds (each <= 64 KiB) with qemu-img / qemu-io 7.2:
#   sh fuzz/corpus/qcow2_open_read/gen.sh   (from the top of the tree)
# The seeds are committed so the corpus replays without qemu; this script documents them.
set -e
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mk() { qemu-img create -q -f qcow2 "$@"; }
io() { f=$1; shift; qemu-io "$@" "$f" >/dev/null; }

mk -o cluster_size=512 v3-512.qcow2 64k
io v3-512.qcow2 -c "write -P 0x11 1000 5000" -c "write -z 8192 4096" -c "discard 0 512"
mk -o cluster_size=512,compat=0.10 v2-512.qcow2 32k
io v2-512.qcow2 -c "write -P 0x22 0 3000"
mk -o cluster_size=512,refcount_bits=1 rb1.qcow2 48k
io rb1.qcow2 -c "write -P 0x33 512 20000"
mk -o cluster_size=512,refcount_bits=64 rb64.qcow2 48k
io rb64.qcow2 -c "write -P 0x44 4096 20000"
mk -o cluster_size=512,lazy_refcounts=on lazy.qcow2 32k
io lazy.qcow2 -c "write -P 0x55 0 4000"
# lazy refcounts and a crash: the dirty bit stays set, refcounts are stale
mk -o cluster_size=512,lazy_refcounts=on dirty.qcow2 32k
qemu-io -c "write -P 0x56 0 4000" -c abort dirty.qcow2 >/dev/null 2>&1 || true
mk -o cluster_size=1024 base.qcow2 32k
mk -o cluster_size=1024 -b base.qcow2 -F qcow2 backed.qcow2 32k
io backed.qcow2 -c "write -P 0x66 100 100"
mk -o cluster_size=512,preallocation=metadata prealloc.qcow2 16k
qemu-img create -q -f raw src.raw 16k
qemu-io -f raw -c "write -P 0x77 0 8k" src.raw >/dev/null
qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 src.raw compressed.qcow2
# (extended L2 needs 16 KiB clusters: such images exceed 64 KiB; the CLI tests cover them)
# persistent bitmaps and an internal snapshot
mk -o cluster_size=512 bitmaps.qcow2 32k
io bitmaps.qcow2 -c "write -P 0x99 0 2k"
qemu-img bitmap --add bitmaps.qcow2 b0
io bitmaps.qcow2 -c "write -P 0x9a 4k 2k"
mk -o cluster_size=512 snap.qcow2 16k
io snap.qcow2 -c "write -P 0xaa 0 2k"
qemu-img snapshot -c s1 snap.qcow2
io snap.qcow2 -c "write -P 0xab 1k 2k"
# an image marked corrupt and one with an unknown incompatible feature
cp v3-512.qcow2 corrupt.qcow2
printf '\000\000\000\000\000\000\000\002' | dd of=corrupt.qcow2 bs=1 seek=72 conv=notrunc 2>/dev/null
cp v3-512.qcow2 unknown-feature.qcow2
printf '\000\000\000\000\000\000\001\000' | dd of=unknown-feature.qcow2 bs=1 seek=72 conv=notrunc 2>/dev/null
# L1 entry pointing into the header
cp v2-512.qcow2 l1-into-header.qcow2
l1=$(od -An -t u1 -j 40 -N 8 v2-512.qcow2 | awk '{o=0; for(i=1;i<=NF;i++) o=o*256+$i; print o}')
printf '\200\000\000\000\000\000\000\000' | dd of=l1-into-header.qcow2 bs=1 seek="$l1" conv=notrunc 2>/dev/null

for f in *.qcow2; do
	[ "$(wc -c <"$f")" -le 65536 ] || { echo "$f is over 64 KiB" >&2; exit 1; }
	cp "$f" "$out/$f"
done
