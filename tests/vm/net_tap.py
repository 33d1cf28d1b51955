#!/usr/bin/env python3
"""net_tap.py - the host side of the tap test (tests/vm/net_tap.sh), run inside the test's
network namespace where tap interface TAP has 192.168.76.1/24.

Boots the guest with -netdev tap,ifname=TAP,script=no,downscript=no; serves a random file on
192.168.76.1 for the guest to fetch; once the guest serves it back, fetches it from
192.168.76.2:8080 and uploads another random file to the guest's nc on 2323. Prints the guest's
STRATA lines and what the host saw (md5s, seconds).

NETDEV_OPTS and DEVICE_OPTS (optional) are appended to the -netdev and -device arguments
(",vnet_hdr=off"); PCAP (optional) adds -object filter-dump writing there.

usage: net_tap.py EMULATOR KERNEL INITRD ROOTDISK TAP BYTES TIMEOUT [NETDEV_OPTS DEVICE_OPTS [PCAP]]"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vmtest import serve_dir  # noqa: E402

HOST, GUEST = "192.168.76.1", "192.168.76.2"


def main():
    emu, kernel, initrd, disk, tap, nbytes, limit = sys.argv[1:8]
    nbytes, limit = int(nbytes), int(limit)
    nd_opts, dev_opts = (sys.argv[8], sys.argv[9]) if len(sys.argv) > 9 else ("", "")
    pcap = sys.argv[10] if len(sys.argv) > 10 else None
    www = os.path.join(os.path.dirname(disk), "www")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(nbytes)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    print("host: serves %d bytes md5 %s" % (nbytes, hashlib.md5(blob).hexdigest()))

    srv = serve_dir(HOST, www)
    fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
    cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel,
           "-initrd", initrd, "-append",
           "root=/dev/vda console=ttyS0 quiet strata.test=tap strata.port=%d" % srv.server_address[1],
           "-drive", "file=%s,format=raw,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
           "-netdev", "tap,id=t0,ifname=%s,script=no,downscript=no%s" % (tap, nd_opts),
           "-device", "virtio-net-device,netdev=t0%s" % dev_opts]
    if pcap:
        cmd += ["-object", "filter-dump,id=f0,netdev=t0,file=%s" % pcap]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    results = []

    def host_side():
        try:
            t = time.time()
            data = urllib.request.urlopen("http://%s:8080/blob" % GUEST, timeout=600).read()
            results.append("host: fetched %d bytes md5 %s" % (len(data), hashlib.md5(data).hexdigest()))
            results.append("time: guest->host tap %d bytes in %.2f s" % (len(data), time.time() - t))
            up = os.urandom(nbytes)
            results.append("host: uploads %d bytes md5 %s" % (nbytes, hashlib.md5(up).hexdigest()))
            t = time.time()
            c = socket.create_connection((GUEST, 2323), timeout=600)
            c.sendall(up)
            c.close()
            results.append("time: host->guest tap %d bytes sent in %.2f s" % (nbytes, time.time() - t))
        except OSError as e:
            results.append("host: error %s" % e)

    for raw in p.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if not text.startswith("STRATA tap:") and "-netdev" not in text:
            continue
        print(text, flush=True)
        if text.startswith("STRATA tap: serving"):
            threading.Thread(target=host_side, daemon=True).start()
    p.wait()
    killer.cancel()
    srv.shutdown()
    for r in results:
        print(r)
    print("exit: %d after %.1f s" % (p.returncode, time.time() - t0))


if __name__ == "__main__":
    main()
