#!/usr/bin/env python3
"""net.py - runs tests/vm/guest/net.elf on an emulator with -netdev user and plays the host
side: a UDP echo server and a TCP server on 127.0.0.1 that the guest reaches as 10.0.2.2, and
the clients that reach the guest through hostfwd. Prints the transcript (guest output, then
what the host saw) so two emulators' runs can be compared byte for byte.

usage: net.py EMULATOR ELF MRG BUFSIZE BULK [extra emulator args...]
The hostfwd rules are added here (-netdev user,id=n0,...,hostfwd=...): extra args may hold
"@N0@" which is replaced by the n0 netdev's options (so tests choose -device/-nic spellings).
Everything only touches 127.0.0.1; every wait is bounded."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vmtest import free_port  # noqa: E402


def fnv(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def pattern(n):
    return bytes((i * 13 + (i >> 7)) & 255 for i in range(n))


class Host:
    """The servers the guest reaches through the gateway."""

    def __init__(self):
        self.log = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(1.0)
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(1)
        self.tcp.settimeout(1.0)
        self.stop = False
        self.threads = [threading.Thread(target=self.udp_loop, daemon=True),
                        threading.Thread(target=self.tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    def udp_loop(self):
        while not self.stop:
            try:
                data, addr = self.udp.recvfrom(2048)
            except socket.timeout:
                continue
            self.log.append("host udp server: %r" % data)
            self.udp.sendto(data, addr)

    def tcp_loop(self):
        while not self.stop:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            conn.settimeout(30)
            try:
                self.serve(conn)
            except (OSError, ValueError) as e:
                self.log.append("host tcp server: error %s" % type(e).__name__)
            conn.close()

    def serve(self, conn):
        buf = b""
        while b"\n" not in buf:
            d = conn.recv(4096)
            if not d:
                raise ValueError("eof")
            buf += d
        line, rest = buf.split(b"\n", 1)
        self.log.append("host tcp server: %r" % line)
        n = int(line.split()[-1])
        conn.sendall(b"hello from the host\n")
        while len(rest) < n:
            d = conn.recv(65536)
            if not d:
                break
            rest += d
        self.log.append("host tcp server: upload %d bytes fnv=0x%08x" % (len(rest), fnv(rest)))
        conn.sendall(b"got %d fnv=0x%08x\n" % (len(rest), fnv(rest)))
        conn.sendall(pattern(200000))
        self.log.append("host tcp server: download fnv=0x%08x" % fnv(pattern(200000)))
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(30)
        while conn.recv(4096):
            pass


def hostfwd_clients(hu, ht, log):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(10)
    u.sendto(b"ping over udp hostfwd", ("127.0.0.1", hu))
    try:
        log.append("host udp client: %r" % u.recvfrom(2048)[0])
    except socket.timeout:
        log.append("host udp client: timeout")
    u.close()
    for msg in (b"hello through tcp hostfwd\n", b"bye\n"):
        try:
            c = socket.create_connection(("127.0.0.1", ht), timeout=30)
            c.sendall(msg)
            got = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                got += d
            c.close()
            log.append("host tcp client: %r" % got)
        except OSError as e:
            log.append("host tcp client: %s" % type(e).__name__)


def main():
    emu, elf, mrg, bufsize, bulk = sys.argv[1:6]
    extra = sys.argv[6:]
    host = Host()
    hu, ht = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    n0 = "hostfwd=tcp:127.0.0.1:%d-:23,hostfwd=udp:127.0.0.1:%d-:7" % (ht, hu)
    extra = [a.replace("@N0@", n0) for a in extra]
    machine = "virt" if "qemu" in os.path.basename(emu) else "virt,powerbutton=off"
    cmd = [emu, "-M", machine, "-bios", "none", "-display", "none", "-serial", "stdio", "-monitor", "none",
           "-kernel", elf] + extra
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p.stdin.write(b"cfg %s %s %d %d %s\n" % (mrg.encode(), bufsize.encode(), host.udp.getsockname()[1],
                                              host.tcp.getsockname()[1], bulk.encode()))
    p.stdin.flush()
    out, client_log = [], []
    deadline = time.time() + 120
    killer = threading.Timer(120, p.kill)
    killer.start()
    for raw in p.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n")
        out.append(text)
        if text == "hostfwd: ready":
            threading.Thread(target=hostfwd_clients, args=(hu, ht, client_log), daemon=True).start()
        if time.time() > deadline:
            break
    p.wait()
    killer.cancel()
    host.stop = True
    for line in out:
        print(line)
    print("exit: %d" % p.returncode)
    for line in host.log + client_log:
        print(line)


if __name__ == "__main__":
    main()
