#!/usr/bin/env python3
"""Writes raw values into a qcow2 file, addressed by its own header fields.

usage: qcow2-poke.py FILE WHERE VALUE [WIDTH]
  WHERE is a byte offset (decimal or 0x..) or l1+N (entry N of the active L1 table),
  reftable+N, snap+N (byte N of the snapshot table); VALUE an integer; WIDTH 8 (default),
  4, 2 or 1 bytes, big-endian.
"""
import struct
import sys


def field(f, off, fmt):
    f.seek(off)
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def main():
    path, where, value = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    width = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    with open(path, 'r+b') as f:
        bases = {'l1': (field(f, 40, '>Q'), 8), 'reftable': (field(f, 48, '>Q'), 8),
                 'snap': (field(f, 64, '>Q'), 1)}
        if '+' in where:
            name, n = where.split('+')
            base, scale = bases[name]
            off = base + scale * int(n, 0)
        else:
            off = int(where, 0)
        f.seek(off)
        f.write(value.to_bytes(width, 'big'))


main()
