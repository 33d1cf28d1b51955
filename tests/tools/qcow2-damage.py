#!/usr/bin/env python3
"""Damages a qcow2 image (refcount_bits=16, first L2 table) the way the check tests need.

usage: qcow2-damage.py FILE ACTION [N]
  leak N            zero L2 entry N (its data cluster becomes a leak)
  refcount N VALUE  set the refcount of the cluster that L2 entry N points to
  uncopy N          clear the COPIED flag of L2 entry N
  past-eof N        point L2 entry N far past the end of the file
"""
import struct
import sys

COPIED = 1 << 63
OFFSET_MASK = 0x00fffffffffffe00


def be64(f, off):
    f.seek(off)
    return struct.unpack('>Q', f.read(8))[0]


def put64(f, off, v):
    f.seek(off)
    f.write(struct.pack('>Q', v))


def main():
    path, action, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, 'r+b') as f:
        f.seek(20)
        cluster_bits = struct.unpack('>I', f.read(4))[0]
        l1 = be64(f, 40)
        reftable = be64(f, 48)
        l2 = be64(f, l1) & OFFSET_MASK
        slot = l2 + 8 * n
        entry = be64(f, slot)
        if action == 'leak':
            put64(f, slot, 0)
        elif action == 'uncopy':
            put64(f, slot, entry & ~COPIED)
        elif action == 'past-eof':
            put64(f, slot, COPIED | (1 << 40))
        elif action == 'refcount':
            cluster = (entry & OFFSET_MASK) >> cluster_bits
            per_block = (1 << cluster_bits) // 2
            block = be64(f, reftable + 8 * (cluster // per_block))
            f.seek(block + 2 * (cluster % per_block))
            f.write(struct.pack('>H', int(sys.argv[4])))
        else:
            sys.exit('unknown action ' + action)


main()
