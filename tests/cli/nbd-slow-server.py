#!/usr/bin/env python3
"""A slow NBD server (stdlib only) for tests/cli/nbd-inflight.sh: a stand-in for a slow disk.

Usage: nbd-slow-server.py SOCKET SIZE SLOW_OFFSET DELAY
Serves SIZE bytes (byte i holds i % 251) on the unix SOCKET, fixed newstyle with simple
replies only; a read that covers SLOW_OFFSET is answered DELAY seconds late, every other
request at once, so replies leave out of order. Runs until killed.
"""
import socket
import struct
import sys
import threading

PATH, SIZE, SLOW, DELAY = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
OPT_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x3E889045565A9
DATA = bytearray((bytes(range(251)) * (SIZE // 251 + 1))[:SIZE])


def recvall(c, n):
    b = bytearray()
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return bytes(b)


def negotiate(c):
    c.sendall(b"NBDMAGIC" + struct.pack(">QH", OPT_MAGIC, 3))
    cflags = struct.unpack(">I", recvall(c, 4))[0]
    while True:
        magic, opt, n = struct.unpack(">QII", recvall(c, 16))
        recvall(c, n)
        if opt == 1:                                   # EXPORT_NAME
            c.sendall(struct.pack(">QH", SIZE, 1 | 4) + (b"" if cflags & 2 else bytes(124)))
            return
        if opt in (6, 7):                              # INFO, GO
            info = struct.pack(">HQH", 0, SIZE, 1 | 4)
            c.sendall(struct.pack(">QIII", REP_MAGIC, opt, 3, len(info)) + info)
            c.sendall(struct.pack(">QIII", REP_MAGIC, opt, 1, 0))
            if opt == 7:
                return
        else:                                          # structured replies, contexts: no
            c.sendall(struct.pack(">QIII", REP_MAGIC, opt, (1 << 31) | 1, 0))


def serve(c):
    lock = threading.Lock()

    def reply(handle, err, data=b""):
        with lock:
            c.sendall(struct.pack(">IIQ", 0x67446698, err, handle) + data)

    try:
        negotiate(c)
        while True:
            magic, flags, typ, handle, off, n = struct.unpack(">IHHQQI", recvall(c, 28))
            if typ == 0 and off + n <= SIZE:
                data = bytes(DATA[off:off + n])
                if off <= SLOW < off + n:
                    threading.Timer(DELAY, reply, (handle, 0, data)).start()
                else:
                    reply(handle, 0, data)
            elif typ == 1 and off + n <= SIZE:
                DATA[off:off + n] = recvall(c, n)
                reply(handle, 0)
            elif typ == 3:
                reply(handle, 0)
            elif typ == 2:
                return
            else:
                reply(handle, 22)
    except (EOFError, OSError):
        pass


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(PATH)
s.listen(8)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
