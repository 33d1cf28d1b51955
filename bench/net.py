#!/usr/bin/env python3
"""net.py - bench/net.sh's host side: an HTTP server streaming MB MiB (host->guest, timed from
the request to the guest's "rx done" line) and a TCP sink (guest->host, timed from accept to
EOF), both on 127.0.0.1. Prints "rx MBPS" and "tx MBPS" (MiB/s).
usage: net.py EMULATOR KERNEL INITRD ROOTDISK MB"""
import http.server
import socket
import subprocess
import sys
import threading
import time

emu, kernel, initrd, disk, mb = sys.argv[1:6]
mb = int(mb)
marks = {}


class Stream(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        marks["rx0"] = time.time()
        self.send_response(200)
        self.send_header("Content-Length", str(mb << 20))
        self.end_headers()
        chunk = bytes(1 << 16)
        for _ in range(mb * 16):
            self.wfile.write(chunk)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stream)
threading.Thread(target=srv.serve_forever, daemon=True).start()
sink = socket.socket()
sink.bind(("127.0.0.1", 0))
sink.listen(1)


def drain():
    c, _ = sink.accept()
    t0, n = time.time(), 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        n += len(d)
    marks["tx"] = (n, time.time() - t0)
    c.close()


threading.Thread(target=drain, daemon=True).start()
fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel, "-initrd", initrd,
       "-append", "root=/dev/vda console=ttyS0 quiet strata.test=netbench strata.http=%d strata.sink=%d strata.mb=%d"
       % (srv.server_address[1], sink.getsockname()[1], mb),
       "-drive", "file=%s,format=raw,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
       "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
killer = threading.Timer(600, p.kill)
killer.start()
for raw in p.stdout:
    if b"STRATA bench: rx done" in raw and "rx0" in marks:
        marks["rx"] = time.time() - marks["rx0"]
p.wait()
killer.cancel()
print("rx %.2f" % (mb / marks["rx"]) if "rx" in marks else "rx 0")
print("tx %.2f" % (marks["tx"][0] / 1048576 / marks["tx"][1]) if "tx" in marks and marks["tx"][0] == mb << 20 else "tx 0")
