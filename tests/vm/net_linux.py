#!/usr/bin/env python3
"""net_linux.py - the host side of the Linux network test (tests/vm/net_linux.sh): an HTTP
server on 127.0.0.1 (python's http.server) the guest fetches a file from as 10.0.2.2, then,
through hostfwd, a fetch from the guest's busybox httpd and an upload to its nc. Prints the
guest's STRATA lines and what the host measured (md5s, sizes, seconds).

usage: net_linux.py EMULATOR KERNEL INITRD ROOTDISK FETCH_BYTES UPLOAD_BYTES TIMEOUT"""
import functools
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    emu, kernel, initrd, disk, fetch_n, up_n, limit = sys.argv[1:8]
    fetch_n, up_n, limit = int(fetch_n), int(up_n), int(limit)
    www = os.path.join(os.path.dirname(disk), "www")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(fetch_n)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    print("host: serves %d bytes md5 %s" % (fetch_n, hashlib.md5(blob).hexdigest()))
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=www)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hf_http, hf_nc = free_port(), free_port()
    fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
    cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel,
           "-initrd", initrd, "-append",
           "root=/dev/vda console=ttyS0 quiet strata.test=net strata.port=%d" % srv.server_address[1],
           "-drive", "file=%s,format=raw,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
           "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:8080,hostfwd=tcp:127.0.0.1:%d-:2323" % (hf_http, hf_nc),
           "-device", "virtio-net-device,netdev=n0"]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    results = []

    def host_side():
        try:
            t = time.time()
            data = urllib.request.urlopen("http://127.0.0.1:%d/blob" % hf_http, timeout=60).read()
            results.append("host: fetched %d bytes md5 %s" % (len(data), hashlib.md5(data).hexdigest()))
            results.append("time: guest->host %d bytes in %.2f s" % (len(data), time.time() - t))
            up = os.urandom(up_n)
            results.append("host: uploads %d bytes md5 %s" % (up_n, hashlib.md5(up).hexdigest()))
            t = time.time()
            c = socket.create_connection(("127.0.0.1", hf_nc), timeout=60)
            c.sendall(up)
            c.close()
            results.append("time: host->guest %d bytes sent in %.2f s" % (up_n, time.time() - t))
        except OSError as e:
            results.append("host: error %s" % e)

    fetch_t = None
    for raw in p.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if not text.startswith("STRATA net:"):
            continue
        print(text)
        if text.startswith("STRATA net: lease"):
            fetch_t = time.time()
        if text.startswith("STRATA net: fetched") and fetch_t:
            results.append("time: host->guest fetch %d bytes in %.2f s" % (fetch_n, time.time() - fetch_t))
        if text.startswith("STRATA net: serving"):
            threading.Thread(target=host_side, daemon=True).start()
    p.wait()
    killer.cancel()
    srv.shutdown()
    for r in results:
        print(r)
    print("exit: %d after %.1f s" % (p.returncode, time.time() - t0))


if __name__ == "__main__":
    main()
