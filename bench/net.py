#!/usr/bin/env python3
"""net.py - bench/net.sh's host side: an HTTP server streaming MB MiB (host->guest, timed from
the request to the guest's "rx done" line) and a TCP sink (guest->host, timed from accept to
EOF), both on 127.0.0.1; then N small request/replies (64 bytes each way, one at a time) with the
guest's echo server through hostfwd tcp. Prints "rx MBPS", "tx MBPS" (dd | relay), "tx2 MBPS"
(the echo program's own 64 KiB writes) (MiB/s) and "rtt USEC"
(mean microseconds per round trip); then the same per emulator CPU time ("cpurx", "cputx",
"cputx2": MiB per CPU second of the emulator process, all threads; "cpurtt": CPU microseconds
per round trip), which a loaded machine does not distort as it does wall time.
usage: net.py EMULATOR KERNEL INITRD ROOTDISK MB [ROUNDTRIPS]
NET_DEVICE_OPTS=",csum=off" adds properties to the -device (comparisons by hand).
NET_TAP=IFNAME: the guest is on that tap interface instead (run inside bench/net.sh's network
namespace, where it has 192.168.76.1/24; the guest is 192.168.76.2, reached directly).
NET_PHASES=rx,tx,tx2,rtt (the default): the phases to run, for A/B runs of one of them.
Also "irqrx", "irqtx", "irqtx2" (guest virtio interrupts per MiB) and "irqrtt" (per round trip)."""
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

emu, kernel, initrd, disk, mb = sys.argv[1:6]
mb = int(mb)
trips = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
tap = os.environ.get("NET_TAP", "")
host = "192.168.76.1" if tap else "127.0.0.1"
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


srv = http.server.ThreadingHTTPServer((host, 0), Stream)
threading.Thread(target=srv.serve_forever, daemon=True).start()
phases = os.environ.get("NET_PHASES", "rx,tx,tx2,rtt")
sinks = {}


def drain(key):
    """one stream per sink: "tx" (dd | relay), "tx2" (the echo program's own writes)"""
    c, _ = sinks[key].accept()
    t0, n = time.time(), 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        n += len(d)
    marks[key] = (n, time.time() - t0)
    c.close()


for key in ("tx", "tx2"):
    sinks[key] = socket.socket()
    sinks[key].bind((host, 0))
    sinks[key].listen(1)
    threading.Thread(target=drain, args=(key,), daemon=True).start()
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
echo_port = probe.getsockname()[1]
probe.close()


def round_trips():
    try:
        # the echo server may not listen yet (slirp accepts, then resets; a tap guest resets at
        # once, so the bound is time: under load the guest takes many seconds to start it)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                c = socket.create_connection(("192.168.76.2", 7777) if tap else ("127.0.0.1", echo_port), timeout=30)
            except ConnectionRefusedError:  # tap: the guest's own reset
                time.sleep(0.2)
                continue
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.sendall(b"x" * 64)
            got = b""
            try:
                while len(got) < 64:
                    d = c.recv(64 - len(got))
                    if not d:
                        break
                    got += d
            except OSError:
                got = b""
            if len(got) == 64:
                break
            c.close()
            time.sleep(0.2)
        else:
            return
        msg = b"r" * 64
        c0 = cpu()
        t0 = time.time()
        for _ in range(trips):
            c.sendall(msg)
            got = b""
            while len(got) < 64:
                d = c.recv(64 - len(got))
                if not d:
                    return
                got += d
        marks["rtt"] = (time.time() - t0) / trips
        marks["cpurtt"] = (cpu() - c0) / trips
        c.close()
    except OSError:
        pass

fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel, "-initrd", initrd,
       "-append", "root=/dev/vda console=ttyS0 quiet strata.test=netbench strata.http=%d strata.sink=%d strata.sink2=%d "
       "strata.mb=%d strata.phases=%s%s" % (srv.server_address[1], sinks["tx"].getsockname()[1],
                                            sinks["tx2"].getsockname()[1], mb, phases, " strata.tap=1" if tap else ""),
       "-drive", "file=%s,format=raw,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
       "-netdev", ("tap,id=n0,ifname=%s,script=no,downscript=no" % tap) if tap else
       "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:7777" % echo_port, "-device", "virtio-net-device,netdev=n0" + os.environ.get("NET_DEVICE_OPTS", "")]
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
# a bound, not a figure: under a loaded machine 256 MiB three times can take many minutes
killer = threading.Timer(int(os.environ.get("NET_BENCH_TIMEOUT", "3600")), p.kill)
killer.start()
def cpu():
    """the emulator's user+system CPU seconds so far (every thread; load does not inflate it)"""
    try:
        with open("/proc/%d/stat" % p.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


for raw in p.stdout:
    m = re.search(rb"STRATA bench: (rx|tx|tx2) (start|done)", raw)
    if m:
        marks["cpu " + m.group(1).decode() + " " + m.group(2).decode()] = cpu()
    if b"STRATA bench: rx done" in raw and "rx0" in marks:
        marks["rx"] = time.time() - marks["rx0"]
    m = re.search(rb"STRATA bench: irq(\d) (\d+)", raw)
    if m:
        marks["irq" + m.group(1).decode()] = int(m.group(2))
    if b"STRATA bench: echo ready" in raw:
        threading.Thread(target=round_trips, daemon=True).start()
p.wait()
killer.cancel()
print("rx %.2f" % (mb / marks["rx"]) if "rx" in marks else "rx 0")
for key in ("tx", "tx2"):
    ok = key in marks and marks[key][0] == mb << 20
    print("%s %.2f" % (key, marks[key][0] / 1048576 / marks[key][1]) if ok else key + " 0")
print("rtt %.1f" % (marks["rtt"] * 1e6) if "rtt" in marks else "rtt 0")
# the emulator's CPU time per phase: MiB per CPU second, CPU microseconds per round trip
for key in ("rx", "tx", "tx2"):
    a, b = marks.get("cpu %s start" % key), marks.get("cpu %s done" % key)
    print("cpu%s %.2f" % (key, mb / (b - a)) if a is not None and b is not None and b > a else "cpu%s 0" % key)
print("cpurtt %.1f" % (marks["cpurtt"] * 1e6) if "cpurtt" in marks else "cpurtt 0")
for key, a, b, per in (("irqrx", "irq0", "irq1", mb), ("irqtx", "irq1", "irq2", mb), ("irqtx2", "irq2", "irq3", mb),
                       ("irqrtt", "irq3", "irq4", trips)):
    print("%s %.1f" % (key, (marks[b] - marks[a]) / per) if a in marks and b in marks else key + " 0")
