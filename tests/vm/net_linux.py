#!/usr/bin/env python3
"""net_linux.py - the host side of the Linux network test (tests/vm/net_linux.sh).

Runs the guest with two NICs: n0 (default user network, hostfwd tcp 8080/2323 and udp 5353)
and n1 (net=10.0.3.0/24, restrict=on, hostfwd tcp 8081). Serves a random file from an HTTP
server on 127.0.0.1 (the guest reaches it as 10.0.2.2, by a name when --dns); with --dns also
answers DNS on 127.0.0.1:53 (the caller runs us in a network namespace whose resolv.conf names
127.0.0.1, so slirp's DNS proxy at 10.0.2.3 asks us). Once the guest serves: fetches its file
back through hostfwd, fetches the small file of the restricted network, sends UDP datagrams
to its echo server and uploads a random file to its nc. Prints the guest's STRATA lines and what
the host saw (md5s, sizes, seconds).

usage: net_linux.py [--dns] EMULATOR KERNEL INITRD ROOTDISK FETCH_BYTES UPLOAD_BYTES TIMEOUT"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vmtest import free_port, hmp, hmp_read, serve_dir  # noqa: E402

NAME = "files.strata.test"


def hmp_open(path):
    m = socket.socket(socket.AF_UNIX)
    m.settimeout(30)
    m.connect(path)
    hmp_read(m)  # the banner and the first prompt
    return m


def dns_answer(q):
    """A reply to query q: NAME's A record is 10.0.2.2; other A queries NXDOMAIN; other types empty."""
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    off, labels = 12, []
    while q[off]:
        labels.append(q[off + 1:off + 1 + q[off]].decode(errors="replace"))
        off += 1 + q[off]
    qtype = struct.unpack(">H", q[off + 1:off + 3])[0]
    question = q[12:off + 5]
    name = ".".join(labels).lower()
    rcode = 0 if name == NAME else 3
    an = b""
    if name == NAME and qtype == 1:
        an = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("10.0.2.2")
    return struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if an else 0, 0, 0) + question + an


def dns_server(queries):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    while True:
        q, peer = s.recvfrom(512)
        try:
            s.sendto(dns_answer(q), peer)
            queries.append(q)
        except (IndexError, struct.error):
            pass


def main():
    args = sys.argv[1:]
    dns = args[0] == "--dns"
    if dns:
        args = args[1:]
    emu, kernel, initrd, disk, fetch_n, up_n, limit = args[:7]
    fetch_n, up_n, limit = int(fetch_n), int(up_n), int(limit)
    queries = []
    if dns:
        threading.Thread(target=dns_server, args=(queries,), daemon=True).start()
    www = os.path.join(os.path.dirname(disk), "www")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(fetch_n)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    blob_md5 = hashlib.md5(blob).hexdigest()
    print("host: serves %d bytes md5 %s" % (fetch_n, blob_md5))

    srv = serve_dir("127.0.0.1", www)
    hf_http, hf_nc, hf_http1 = free_port(), free_port(), free_port()
    hf_udp = free_port(socket.SOCK_DGRAM)
    hf_added = free_port()
    mon_path = os.path.join(os.path.dirname(disk), "mon.sock")
    fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
    cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel,
           "-initrd", initrd, "-append",
           "root=/dev/vda console=ttyS0 quiet strata.test=net strata.port=%d strata.name=%s"
           % (srv.server_address[1], NAME if dns else "none"),
           "-drive", "file=%s,format=raw,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
           "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:8080,hostfwd=tcp:127.0.0.1:%d-:2323,"
           "hostfwd=udp:127.0.0.1:%d-:5353" % (hf_http, hf_nc, hf_udp),
           "-device", "virtio-net-device,netdev=n0",
           "-netdev", "user,id=n1,net=10.0.3.0/24,restrict=on,hostfwd=tcp:127.0.0.1:%d-:8081" % hf_http1,
           "-device", "virtio-net-device,netdev=n1",
           "-monitor", "unix:%s,server=on,wait=off" % mon_path]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    results = []

    def host_side():
        try:
            t = time.time()
            data = urllib.request.urlopen("http://127.0.0.1:%d/blob" % hf_http, timeout=900).read()
            results.append("host: fetched %d bytes md5 %s" % (len(data), hashlib.md5(data).hexdigest()))
            results.append("time: guest->host hostfwd %d bytes in %.2f s" % (len(data), time.time() - t))
            data = urllib.request.urlopen("http://127.0.0.1:%d/small" % hf_http1, timeout=60).read()
            results.append("host: restricted net fetched %d bytes md5 %s" % (len(data), hashlib.md5(data).hexdigest()))
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5)
            good = 0
            for i in range(3):
                msg = b"strata udp %d " % i + os.urandom(100)
                for _ in range(3):  # the first datagram may race the echo server's start
                    u.sendto(msg, ("127.0.0.1", hf_udp))
                    try:
                        if u.recv(2048) == msg:
                            good += 1
                        break
                    except socket.timeout:
                        continue
            results.append("host: udp echoes %d/3" % good)
            # a rule added at run time works; removed, the port is closed again
            mon = hmp_open(mon_path)
            hmp(mon, "hostfwd_add n1 tcp:127.0.0.1:%d-:8081" % hf_added)
            data = urllib.request.urlopen("http://127.0.0.1:%d/small" % hf_added, timeout=60).read()
            results.append("host: hostfwd_add fetched %d bytes md5 %s" % (len(data), hashlib.md5(data).hexdigest()))
            results.append("host: hostfwd_remove says: %s" % hmp(mon, "hostfwd_remove n1 tcp:127.0.0.1:%d" % hf_added))
            try:
                socket.create_connection(("127.0.0.1", hf_added), timeout=10).close()
                results.append("host: removed rule still connects")
            except OSError:
                results.append("host: removed rule refuses")
            mon.close()
            up = os.urandom(up_n)
            results.append("host: uploads %d bytes md5 %s" % (up_n, hashlib.md5(up).hexdigest()))
            t = time.time()
            c = socket.create_connection(("127.0.0.1", hf_nc), timeout=900)
            c.sendall(up)
            c.close()
            results.append("time: host->guest hostfwd %d bytes sent in %.2f s" % (up_n, time.time() - t))
        except OSError as e:
            results.append("host: error %s" % e)

    fetch_t = None
    for raw in p.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if not text.startswith("STRATA net:"):
            continue
        print(text, flush=True)
        if text.startswith("STRATA net: resolved"):
            fetch_t = time.time()
        if text.startswith("STRATA net: fetched") and fetch_t:
            results.append("time: host->guest NAT fetch %d bytes in %.2f s" % (fetch_n, time.time() - fetch_t))
        if text.startswith("STRATA net: serving"):
            threading.Thread(target=host_side, daemon=True).start()
    p.wait()
    killer.cancel()
    srv.shutdown()
    for r in results:
        print(r)
    print("host: dns queries %d" % len(queries))
    print("exit: %d after %.1f s" % (p.returncode, time.time() - t0))


if __name__ == "__main__":
    main()
