#!/usr/bin/env python3
"""A deliberately bad NBD client (stdlib only) for tests/cli/nbd-bad-client.sh.

Usage: nbd-client.py SOCKET SIZE
Runs each case on a fresh connection to the unix socket and prints one line per case with
what the server answered (error numbers, reply kinds, or "closed"), so the same script run
against qemu-nbd and strata-nbd gives comparable transcripts. Nothing here writes inside the
export: every write is out of range, malformed or cut off.
"""
import socket
import struct
import sys

OPT_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x3E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE = 0x67446698
CHUNK = 0x668E33EF
PATH = sys.argv[1]
SIZE = int(sys.argv[2])


def recvall(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(PATH)
    g = recvall(s, 18)
    assert g[:8] == b"NBDMAGIC" and struct.unpack(">Q", g[8:16])[0] == OPT_MAGIC
    s.sendall(struct.pack(">I", 3))
    return s


def opt(s, o, data=b""):
    s.sendall(struct.pack(">QII", OPT_MAGIC, o, len(data)) + data)


def rep(s):
    magic, o, t, n = struct.unpack(">QIII", recvall(s, 20))
    assert magic == REP_MAGIC
    return o, t, recvall(s, n)


def reps_until_final(s):
    kinds = []
    while True:
        o, t, d = rep(s)
        kinds.append(hex(t) if t & 0x80000000 else str(t))
        if t == 1 or t & 0x80000000:
            return " ".join(kinds)


def go(s, structured=True, meta=True):
    if structured:
        opt(s, 8)
        rep(s)
        if meta:
            q = b"base:allocation"
            opt(s, 10, struct.pack(">I", 0) + struct.pack(">I", 1) + struct.pack(">I", len(q)) + q)
            reps_until_final(s)
    opt(s, 7, struct.pack(">IH", 0, 0))
    size = None
    while True:
        o, t, d = rep(s)
        if t == 3 and struct.unpack(">H", d[:2])[0] == 0:
            size = struct.unpack(">Q", d[2:10])[0]
        if t == 1:
            return size
        if t & 0x80000000:
            raise RuntimeError("GO refused")


def req(s, typ, off, length, flags=0, payload=b"", magic=REQ_MAGIC, handle=7):
    s.sendall(struct.pack(">IHHQQI", magic, flags, typ, handle, off, length) + payload)


def reply(s):
    """The final outcome of one request: 'ok', 'error N', or the chunk types seen."""
    m = struct.unpack(">I", recvall(s, 4))[0]
    if m == SIMPLE:
        err, h = struct.unpack(">IQ", recvall(s, 12))
        return "ok" if err == 0 else "error %d" % err
    assert m == CHUNK, hex(m)
    out = []
    while True:
        flags, t, h, n = struct.unpack(">HHQI", recvall(s, 16))
        d = recvall(s, n)
        if t & 0x8000:
            out.append("error %d" % struct.unpack(">I", d[:4])[0])
        elif t != 0:
            out.append("chunk %d" % t)
        if flags & 1:
            return " ".join(out) if out else "ok"
        m = struct.unpack(">I", recvall(s, 4))[0]
        assert m == CHUNK


def closed(s):
    """Whether the server ends the connection (anything it sends first is dropped)."""
    try:
        s.settimeout(10)
        while s.recv(4096):
            pass
        return "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "open"


def case(name, fn):
    try:
        print("%s: %s" % (name, fn()))
    except EOFError:
        print("%s: closed" % name)
    except (ConnectionResetError, BrokenPipeError):
        print("%s: closed" % name)
    sys.stdout.flush()


# --- handshake phase ------------------------------------------------------------------------
def bad_client_flags():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(PATH)
    recvall(s, 18)
    s.sendall(struct.pack(">I", 0x80))
    return closed(s)


def bad_opt_magic():
    s = connect()
    s.sendall(struct.pack(">QII", 0x1122334455667788, 7, 0))
    return closed(s)


def unknown_option():
    s = connect()
    opt(s, 0x77)
    return reps_until_final(s)


def info_truncated():
    s = connect()
    opt(s, 6, struct.pack(">I", 100) + b"x")
    return reps_until_final(s)


def info_bad_count():
    s = connect()
    opt(s, 7, struct.pack(">IH", 0, 5) + b"\0\0")
    return reps_until_final(s)


def go_unknown_export():
    s = connect()
    opt(s, 7, struct.pack(">I", 4) + b"nope" + struct.pack(">H", 0))
    return reps_until_final(s)


def list_with_data():
    s = connect()
    opt(s, 3, b"junk")
    return reps_until_final(s)


def meta_without_structured():
    s = connect()
    q = b"base:allocation"
    opt(s, 10, struct.pack(">III", 0, 1, len(q)) + q)
    return reps_until_final(s)


def meta_overrun():
    s = connect()
    opt(s, 8)
    rep(s)
    opt(s, 10, struct.pack(">III", 0, 3, 1000) + b"base")
    return reps_until_final(s)


def structured_twice():
    s = connect()
    opt(s, 8)
    a = reps_until_final(s)
    opt(s, 8)
    return a + " / " + reps_until_final(s)


def abort():
    s = connect()
    opt(s, 2)
    return reps_until_final(s) + " " + closed(s)


def hangup_mid_option():
    s = connect()
    s.sendall(struct.pack(">QII", OPT_MAGIC, 7, 100) + b"abc")
    s.close()
    return "sent"


# --- transmission phase ---------------------------------------------------------------------
def tx(fn, structured=True, meta=True):
    def run():
        s = connect()
        go(s, structured, meta)
        return fn(s)
    return run


CASES = [
    ("bad client flags", bad_client_flags),
    ("bad option magic", bad_opt_magic),
    ("unknown option", unknown_option),
    ("info truncated", info_truncated),
    ("go bad info count", info_bad_count),
    ("go unknown export", go_unknown_export),
    ("list with data", list_with_data),
    ("meta context without structured replies", meta_without_structured),
    ("meta context query overrun", meta_overrun),
    ("structured reply twice", structured_twice),
    ("abort", abort),
    ("hang up inside an option", hangup_mid_option),
    ("read past the end", tx(lambda s: (req(s, 0, SIZE - 512, 1024), reply(s))[1])),
    ("read offset overflow", tx(lambda s: (req(s, 0, 2**64 - 512, 1024), reply(s))[1])),
    ("read 64 MiB", tx(lambda s: (req(s, 0, 0, 64 << 20), reply(s))[1])),
    ("read bad flags", tx(lambda s: (req(s, 0, 0, 512, flags=0x40), reply(s))[1])),
    ("write past the end", tx(lambda s: (req(s, 1, SIZE, 512, payload=b"\xee" * 512), reply(s))[1])),
    ("write zeroes past the end", tx(lambda s: (req(s, 6, SIZE - 4096, 8192), reply(s))[1])),
    ("trim past the end", tx(lambda s: (req(s, 4, SIZE, 4096), reply(s))[1])),
    ("unknown command", tx(lambda s: (req(s, 99, 0, 512), reply(s))[1])),
    ("block status without a context", tx(lambda s: (req(s, 7, 0, 4096), reply(s))[1], meta=False)),
    ("block status past the end", tx(lambda s: (req(s, 7, SIZE, 4096), reply(s))[1])),
    ("read then still serving", tx(lambda s: (req(s, 0, SIZE, 1), reply(s), req(s, 0, 0, 512),
                                               reply(s))[3])),
    ("simple replies read past the end", tx(lambda s: (req(s, 0, SIZE, 512), reply(s))[1],
                                            structured=False)),
    ("bad request magic", tx(lambda s: (req(s, 0, 0, 512, magic=0x12345678), closed(s))[1])),
    ("hang up inside a write payload", tx(lambda s: (req(s, 1, 0, 65536, payload=b"\xee" * 100),
                                                     s.close(), "sent")[2])),
    ("hang up with a request in flight", tx(lambda s: (req(s, 0, 0, 1 << 20), s.close(),
                                                       "sent")[2])),
]

for name, fn in CASES:
    case(name, fn)
