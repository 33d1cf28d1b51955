#!/bin/sh
# Regenerates the qcow2_bitmap_dir seeds (each <= 64 KiB) with qemu-img / qemu-io 7.2:
#   sh fuzz/corpus/qcow2_bitmap_dir/gen.sh   (from the top of the tree)
# The seeds are committed so the corpus replays without qemu; this script documents them.
set -e
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
qemu-img create -q -f qcow2 -o cluster_size=512 bm.qcow2 256k
qemu-img bitmap --add bm.qcow2 a
qemu-img bitmap --add -g 4k bm.qcow2 second
qemu-img bitmap --add --disable bm.qcow2 off
qemu-io -c "write -P 0x11 0 3000" -c "write 100k 512" bm.qcow2 >/dev/null
cp bm.qcow2 "$out/bitmaps.qcow2"
# a crash while open read-write: the bitmaps stay marked in use
cp bm.qcow2 inuse.qcow2
qemu-io -c "write 8k 512" -c "sigraise 9" inuse.qcow2 >/dev/null 2>&1 || true
cp inuse.qcow2 "$out/inuse.qcow2"
# the directory alone: two bytes of entry count, then the entries
python3 -c '
import struct,sys
d=open("bm.qcow2","rb").read()
hl=struct.unpack(">I",d[100:104])[0]; p=hl
while p+8<=len(d):
    t,l=struct.unpack(">II",d[p:p+8])
    if t==0x23852875:
        n,_,sz,o=struct.unpack(">IIQQ",d[p+8:p+32]); sys.stdout.buffer.write(struct.pack(">H",n)+d[o:o+sz]); break
    if t==0: break
    p+=8+(l+7)//8*8' >"$out/dir.bin"
