#!/usr/bin/env python3
"""An NBD client (stdlib only) for tests/cli/nbd-inflight.sh: requests in flight at once.

Usage: nbd-mix.py SOCKET order REF
  Sends two 1 MiB reads and one out-of-range read in one write, prints the handles in the
  order their replies came (strata-nbd answers the bad one first: replies go out as requests
  complete) and checks the data read against the raw file REF.
Usage: nbd-mix.py SOCKET stall SLOW_OFFSET
  Against strata-nbd over tests/cli/nbd-slow-server.py: on one connection a 64 KiB read over
  SLOW_OFFSET (answered late by the slow server) and one elsewhere; then a read on a second
  connection. Prints the order the replies arrived in, e.g. "a2 b3 a1": the other read and
  the other session were answered while the slow one stalled. Checks the data (byte i is i % 251).
Usage: nbd-mix.py SOCKET mix SEED OPS OUT
  Keeps 16 requests in flight: a seeded random mix of reads, writes (some FUA), write-zeroes
  and flushes, never two overlapping ones in flight (as a real client). Every read is checked
  against the client's model of the export, which ends in the raw file OUT. Prints "ok N
  interleaved M": M chunks came while another request's reply was unfinished.
"""
import random
import select
import socket
import struct
import sys

OPT_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x3E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE = 0x67446698
CHUNK = 0x668E33EF
READ, WRITE, FLUSH, WZ = 0, 1, 3, 6


def recvall(s, n):
    b = bytearray()
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("server closed")
        b += d
    return bytes(b)


def opt(s, o, data=b""):
    s.sendall(struct.pack(">QII", OPT_MAGIC, o, len(data)) + data)


def rep(s):
    magic, o, t, n = struct.unpack(">QIII", recvall(s, 20))
    assert magic == REP_MAGIC
    return t, recvall(s, n)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    g = recvall(s, 18)
    assert g[:8] == b"NBDMAGIC"
    s.sendall(struct.pack(">I", 3))
    opt(s, 8)                                   # structured replies
    assert rep(s)[0] == 1
    opt(s, 7, struct.pack(">IH", 0, 0))         # GO
    size = None
    while True:
        t, d = rep(s)
        if t == 3 and struct.unpack(">H", d[:2])[0] == 0:
            size = struct.unpack(">Q", d[2:10])[0]
        if t == 1:
            return s, size
        assert not t & 0x80000000, "GO refused"


def request(typ, handle, off, length, flags=0, data=b""):
    return struct.pack(">IHHQQI", REQ_MAGIC, flags, typ, handle, off, length) + data


PARTIAL = {}    # handle -> [errno, {offset: bytes}]: servers may interleave requests' chunks
INTERLEAVED = [0]   # chunks that came while another request's reply was unfinished


def reply(s, want):
    """The next request whose reply is complete: (handle, errno, {offset: bytes})."""
    while True:
        magic = struct.unpack(">I", recvall(s, 4))[0]
        if magic == SIMPLE:
            e, h = struct.unpack(">IQ", recvall(s, 12))
            return h, e, {}
        assert magic == CHUNK, hex(magic)
        flags, typ, h, n = struct.unpack(">HHQI", recvall(s, 16))
        body = recvall(s, n)
        assert h in want, "reply for a handle not in flight"
        INTERLEAVED[0] += any(k != h for k in PARTIAL)
        st = PARTIAL.setdefault(h, [0, {}])
        if typ == 1:
            st[1][struct.unpack(">Q", body[:8])[0]] = body[8:]
        elif typ == 2:
            off, ln = struct.unpack(">QI", body)
            st[1][off] = bytes(ln)
        elif typ & 0x8000:
            st[0] = struct.unpack(">I", body[:4])[0]
        if flags & 1:
            del PARTIAL[h]
            return h, st[0], st[1]


def assemble(off, length, pieces):
    buf = bytearray(length)
    for o, b in pieces.items():
        assert off <= o and o + len(b) <= off + length, (off, length, o, len(b))
        buf[o - off:o - off + len(b)] = b
    return bytes(buf)


def order(path, ref):
    s, size = connect(path)
    mb = 1 << 20
    s.sendall(request(READ, 1, 0, mb) + request(READ, 2, mb, mb) + request(READ, 3, size, 4096))
    seen = []
    want = {1: 0, 2: mb, 3: size}
    with open(ref, "rb") as f:
        data = f.read()
    for _ in range(3):
        h, e, pieces = reply(s, want)
        seen.append(str(h))
        if h == 3:
            assert e != 0, "out-of-range read succeeded"
        else:
            assert e == 0 and assemble(want[h], mb, pieces) == data[want[h]:want[h] + mb], h
    s.sendall(request(2, 9, 0, 0))
    print("reply order " + " ".join(seen))


def stall(path, slow):
    a, size = connect(path)
    b, _ = connect(path)
    k = 65536
    want = {1: slow - slow % k, 2: 0, 3: k}
    a.sendall(request(READ, 1, want[1], k) + request(READ, 2, want[2], k))
    b.sendall(request(READ, 3, want[3], k))
    seen, left = [], {a: 2, b: 1}
    while any(left.values()):
        ready, _, _ = select.select([x for x in left if left[x]], [], [], 60)
        assert ready, "no reply within 60 s"
        for sock in ready:
            h, e, pieces = reply(sock, want)
            expect = bytes((want[h] + i) % 251 for i in range(k))
            assert e == 0 and assemble(want[h], k, pieces) == expect, h
            seen.append("%s%d" % ("a" if sock is a else "b", h))
            left[sock] -= 1
    for sock in (a, b):
        sock.sendall(request(2, 9, 0, 0))
    print("reply order " + " ".join(seen))


def pick(rng, size):
    length = rng.choice([512, 4096, 4096, 65536, 131072, rng.randrange(1, 70000)])
    off = rng.randrange(0, size - length)
    if rng.random() < 0.8:
        off -= off % 512
    r = rng.random()
    if r < 0.45:
        return READ, off, length, 0
    if r < 0.85:
        return WRITE, off, length, 1 if rng.random() < 0.1 else 0
    if r < 0.97:
        return WZ, off, length, 2 if rng.random() < 0.5 else 0    # NO_HOLE or not
    return FLUSH, 0, 0, 0


def mix(path, seed, nops, out):
    rng = random.Random(seed)
    s, size = connect(path)
    with open(out, "rb") as f:
        model = bytearray(f.read())
    assert len(model) == size
    inflight = {}
    handle, done, pending = 0, 0, None

    def overlaps(off, length):
        return any(o < off + length and off < o + n for (t, o, n, d) in inflight.values())

    while done < nops:
        while len(inflight) < 16 and done + len(inflight) < nops:
            if pending is None:
                pending = pick(rng, size)
            typ, off, length, flags = pending
            if overlaps(off, length):
                break
            pending = None
            handle += 1
            data = rng.randbytes(length) if typ == WRITE else b""
            inflight[handle] = (typ, off, length, data)
            s.sendall(request(typ, handle, off, length, flags, data))
        h, e, pieces = reply(s, inflight)
        typ, off, length, data = inflight.pop(h)
        assert e == 0, "request %d (type %d) failed: %d" % (h, typ, e)
        if typ == READ:
            got = assemble(off, length, pieces)
            assert got == bytes(model[off:off + length]), "read %d at %d differs" % (h, off)
        elif typ == WRITE:
            model[off:off + length] = data
        elif typ == WZ:
            model[off:off + length] = bytes(length)
        done += 1
    s.sendall(request(FLUSH, handle + 1, 0, 0))
    reply(s, {handle + 1: 0})
    s.sendall(request(2, handle + 2, 0, 0))
    with open(out, "wb") as f:
        f.write(model)
    print("ok %d interleaved %d" % (done, INTERLEAVED[0]))


if __name__ == "__main__":
    if sys.argv[2] == "order":
        order(sys.argv[1], sys.argv[3])
    elif sys.argv[2] == "stall":
        stall(sys.argv[1], int(sys.argv[3]))
    else:
        mix(sys.argv[1], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
