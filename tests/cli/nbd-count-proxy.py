#!/usr/bin/env python3
"""A byte-for-byte relay that counts connections, for tests/cli/nbd-multi-conn.sh.

Usage: nbd-count-proxy.py LISTEN TARGET LOG
LISTEN and TARGET are unix:PATH or tcp:PORT (127.0.0.1). Each accepted connection is relayed
to a new connection to TARGET, both ways, until either side closes; LOG gets one line
"conn N" per accepted connection. Runs until killed.
"""
import os
import socket
import sys
import threading

LISTEN, TARGET, LOG = sys.argv[1], sys.argv[2], sys.argv[3]


def endpoint(spec):
    kind, _, where = spec.partition(":")
    if kind == "unix":
        return socket.AF_UNIX, where
    return socket.AF_INET, ("127.0.0.1", int(where))


def pump(src, dst):
    try:
        while True:
            data = src.recv(262144)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    fam, addr = endpoint(LISTEN)
    if fam == socket.AF_UNIX and os.path.exists(addr):
        os.unlink(addr)
    lsock = socket.socket(fam, socket.SOCK_STREAM)
    if fam == socket.AF_INET:
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(addr)
    lsock.listen(16)
    n = 0
    while True:
        c, _ = lsock.accept()
        tfam, taddr = endpoint(TARGET)
        t = socket.socket(tfam, socket.SOCK_STREAM)
        t.connect(taddr)
        n += 1
        with open(LOG, "a") as f:
            f.write("conn %d\n" % n)
        for a, b in ((c, t), (t, c)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


main()
