#!/usr/bin/env python3
"""Checks every zlib-compressed cluster of a qcow2 image with an inflater of its own.

Usage: qcow2-deflate-check.py IMAGE SOURCE.raw [STEP]
       qcow2-deflate-check.py --plain IMAGE   (the guest clusters stored uncompressed, one a line)

For each compressed cluster (every STEP-th guest cluster, default 1) it decodes the raw
deflate stream symbol by symbol, records the longest match distance, and compares the
output with the same cluster of SOURCE. qemu inflates with a 12-bit window, so no distance
may exceed 4096; zlib's own inflate does not tell (into a whole-cluster buffer it accepts
any distance up to the bytes already produced). Each stream is also classified: identical
to zlib's level-6 output (memLevel 9, 4 KiB window, qemu's parameters) or not (igzip's).
A few streams whose matches reach past 3834 bytes (zlib's own limit in a 4 KiB window) are
also inflated by zlib with a 12-bit window one output byte at a time, so that every match
is resolved from zlib's 4 KiB window as a streaming reader would.
Prints one summary line; exits 1 on a distance over 4096 or an output that differs.
"""
import struct
import sys
import zlib

LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
            67, 83, 99, 115, 131, 163, 195, 227, 258]
LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
             1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
              11, 11, 12, 12, 13, 13]
CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


class Bits:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.end = len(data) * 8

    def get(self, n):
        if self.pos + n > self.end:
            raise ValueError('stream runs past its bytes')
        r = 0
        for i in range(n):
            p = self.pos + i
            r |= ((self.data[p >> 3] >> (p & 7)) & 1) << i
        self.pos += n
        return r


def huffman(lengths):
    """A decoding table: (code reversed, length) -> symbol, as a dict by length."""
    maxlen = max(lengths) if lengths else 0
    count = [0] * (maxlen + 1)
    for n in lengths:
        if n:
            count[n] += 1
    code, nxt = 0, [0] * (maxlen + 2)
    for b in range(1, maxlen + 1):
        code = (code + count[b - 1]) << 1
        nxt[b] = code
    table = {}
    for sym, n in enumerate(lengths):
        if n:
            c = nxt[n]
            nxt[n] += 1
            rev = int(format(c, '0%db' % n)[::-1], 2)
            table[(rev, n)] = sym
    return table, maxlen


def decode_sym(bits, tab):
    table, maxlen = tab
    code = 0
    for n in range(1, maxlen + 1):
        code |= bits.get(1) << (n - 1)
        s = table.get((code, n))
        if s is not None:
            return s
    raise ValueError('bad Huffman code')


FIXED = (huffman([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8), huffman([5] * 30))


def dynamic(bits):
    hlit, hdist, hclen = bits.get(5) + 257, bits.get(5) + 1, bits.get(4) + 4
    cl = [0] * 19
    for i in range(hclen):
        cl[CL_ORDER[i]] = bits.get(3)
    cltab = huffman(cl)
    lens = []
    while len(lens) < hlit + hdist:
        s = decode_sym(bits, cltab)
        if s < 16:
            lens.append(s)
        elif s == 16:
            lens += [lens[-1]] * (3 + bits.get(2))
        elif s == 17:
            lens += [0] * (3 + bits.get(3))
        else:
            lens += [0] * (11 + bits.get(7))
    return huffman(lens[:hlit]), huffman(lens[hlit:])


def inflate(data):
    """Returns (output, longest distance, bytes of input used)."""
    bits, out, maxd = Bits(data), bytearray(), 0
    while True:
        final, kind = bits.get(1), bits.get(2)
        if kind == 0:
            bits.pos = (bits.pos + 7) & ~7
            n, nn = bits.get(16), bits.get(16)
            if n != nn ^ 0xffff:
                raise ValueError('bad stored block')
            out += bytes(bits.get(8) for _ in range(n))
        elif kind in (1, 2):
            lit, dist = FIXED if kind == 1 else dynamic(bits)
            while True:
                s = decode_sym(bits, lit)
                if s < 256:
                    out.append(s)
                    continue
                if s == 256:
                    break
                s -= 257
                length = LEN_BASE[s] + bits.get(LEN_EXTRA[s])
                d = decode_sym(bits, dist)
                d = DIST_BASE[d] + bits.get(DIST_EXTRA[d])
                if d > len(out):
                    raise ValueError('distance before the start')
                maxd = max(maxd, d)
                for _ in range(length):
                    out.append(out[-d])
        else:
            raise ValueError('reserved block type')
        if final:
            return bytes(out), maxd, (bits.pos + 7) // 8


def streamed(data, cs):
    """zlib inflate with a 4 KiB window, one output byte per call: distances from the window."""
    d, out = zlib.decompressobj(-12), bytearray()
    while len(out) < cs:
        out += d.decompress(data, 1)
        data = d.unconsumed_tail
    return bytes(out)


def clusters(img):
    """Yields (guest cluster index, L2 entry, cluster bits) of every allocated cluster."""
    h = img.read(112)
    cbits = struct.unpack('>I', h[20:24])[0]
    l1_size, l1_off = struct.unpack('>IQ', h[36:48])
    if struct.unpack('>I', h[4:8])[0] >= 3 and struct.unpack('>I', h[100:104])[0] > 104 \
            and h[104] != 0:
        sys.exit('not a zlib image')
    cs = 1 << cbits
    img.seek(l1_off)
    l1 = struct.unpack('>%dQ' % l1_size, img.read(8 * l1_size))
    for i, e in enumerate(l1):
        l2_off = e & 0x00fffffffffffe00
        if not l2_off:
            continue
        img.seek(l2_off)
        l2 = struct.unpack('>%dQ' % (cs // 8), img.read(cs))
        for j, d in enumerate(l2):
            if d:
                yield i * (cs // 8) + j, d, cbits


def selftest():
    """The checker itself: a 32 KiB-window stream of the window test's kind must fail both ways."""
    a = bytes(range(256)) * 4 + bytes((i * 7919) % 251 for i in range(4096))
    cluster = (a + a)[:8192]        # repeats at distance 5120 only
    z = zlib.compressobj(6, zlib.DEFLATED, -15, 9)
    data = z.compress(cluster) + z.flush()
    out, md, _ = inflate(data)
    try:
        streamed(data, 8192)
        refused = False
    except zlib.error:
        refused = True
    print('selftest: 32 KiB window stream maxdist %d, 4 KiB zlib refuses it: %s' % (md, refused))
    sys.exit(0 if out == cluster and md > 4096 and refused else 1)


def main():
    if sys.argv[1] == '--selftest':
        selftest()
    if sys.argv[1] == '--plain':
        for g, d, _ in clusters(open(sys.argv[2], 'rb')):
            if not d & (1 << 62) and d & 0x00fffffffffffe00:
                print(g)
        return
    img, src = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
    step = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    total = ncomp = nzlib = maxd = bad = nstream = 0
    for gidx, d, cbits in list(clusters(img)):
        cs, x = 1 << cbits, 62 - (cbits - 8)
        if gidx % step:
            continue
        total += 1
        if not d & (1 << 62):
            continue
        ncomp += 1
        host = d & ((1 << x) - 1)
        nsec = ((d >> x) & ((1 << (cbits - 8)) - 1)) + 1
        img.seek(host)
        data = img.read(nsec * 512 - (host & 511))
        src.seek(gidx * cs)
        want = src.read(cs).ljust(cs, b'\0')
        try:
            out, md, used = inflate(data)
        except ValueError as err:
            print('cluster %d: %s' % (gidx, err))
            bad += 1
            continue
        if out != want:
            print('cluster %d: output differs from the source' % gidx)
            bad += 1
        maxd = max(maxd, md)
        if md > 3834 and nstream < 8:
            nstream += 1
            try:
                ok = streamed(data, cs) == want
            except zlib.error as err:
                ok = False
                print('cluster %d: zlib, 4 KiB window: %s' % (gidx, err))
            if not ok:
                print('cluster %d: zlib with a 4 KiB window reads it otherwise' % gidx)
                bad += 1
        z = zlib.compressobj(6, zlib.DEFLATED, -12, 9)
        if z.compress(want) + z.flush() == data[:used]:
            nzlib += 1
    print('clusters %d compressed %d zlib %d other %d maxdist %d streamed %d bad %d'
          % (total, ncomp, nzlib, ncomp - nzlib, maxd, nstream, bad))
    sys.exit(1 if bad or maxd > 4096 else 0)


if __name__ == '__main__':
    main()
