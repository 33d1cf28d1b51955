#!/usr/bin/env python3
"""net_savevm.py - the host side of tests/vm/net_savevm.sh: a hostfwd TCP connection across
savevm/loadvm.

Boots the guest (qcow2 root disk) with -netdev user,hostfwd to its echo server (port 7) and to
its command port (2324). Once the guest is ready: connects to the echo server and checks an echo,
then HMP savevm and loadvm (the connection stays open), checks an echo on the same connection,
sends the port of an HTTP server on 127.0.0.1 to the command port through a new hostfwd
connection (the guest fetches a file from 10.0.2.2, md5 printed by both sides), closes the echo
connection (the guest's server exits: the connection ended in order) and quits through HMP.
A guestfwd rule (cmd: echo) answers the guest's connection to 10.0.2.100:1234 first.

usage: net_savevm.py EMULATOR KERNEL INITRD ROOTDISK TIMEOUT"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vmtest import free_port, hmp, hmp_read, serve_dir  # noqa: E402


def echo(c, msg):
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = c.recv(4096)
        if not d:
            break
        got += d
    return got == msg


def main():
    emu, kernel, initrd, disk, limit = sys.argv[1:6]
    limit = int(limit)
    www = os.path.join(os.path.dirname(disk), "www")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(1 << 20)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    print("host: serves %d bytes md5 %s" % (len(blob), hashlib.md5(blob).hexdigest()))

    srv = serve_dir("127.0.0.1", www)
    p_echo, p_cmd = free_port(), free_port()
    print("host: guestfwd token %d" % p_echo)
    mon_path = os.path.join(os.path.dirname(disk), "mon.sock")
    fw = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
    cmd = [emu, "-M", "virt", "-m", "256M", "-nographic", "-no-reboot", "-bios", fw, "-kernel", kernel,
           "-initrd", initrd, "-append", "root=/dev/vda console=ttyS0 quiet strata.test=netsv",
           "-drive", "file=%s,format=qcow2,if=none,id=hd0" % disk, "-device", "virtio-blk-device,drive=hd0",
           "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:7,hostfwd=tcp:127.0.0.1:%d-:2324,"
           "guestfwd=tcp:10.0.2.100:1234-cmd:echo strata-guestfwd %d" % (p_echo, p_cmd, p_echo),
           "-device", "virtio-net-device,netdev=n0", "-monitor", "unix:%s,server=on,wait=off" % mon_path] + os.environ.get("NET_SV_EXTRA", "").split()
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(limit, p.kill)
    killer.start()
    results = []
    fetched = threading.Event()

    def host_side():
        try:
            m = socket.socket(socket.AF_UNIX)
            m.settimeout(300)
            m.connect(mon_path)
            hmp_read(m)
            c = socket.create_connection(("127.0.0.1", p_echo), timeout=60)
            results.append("host: echo before savevm %s" % ("ok" if echo(c, b"before savevm\n") else "wrong"))
            results.append("host: savevm says '%s'" % hmp(m, "savevm s1"))
            results.append("host: loadvm says '%s'" % hmp(m, "loadvm s1"))
            try:
                ok = echo(c, b"after loadvm\n")
                results.append("host: echo after loadvm %s" % ("ok" if ok else "wrong"))
            except OSError as e:
                results.append("host: echo after loadvm failed (%s)" % type(e).__name__)
            k = socket.create_connection(("127.0.0.1", p_cmd), timeout=60)
            k.sendall(b"%d\n" % srv.server_address[1])
            k.close()
            fetched.wait(int(os.environ.get("NET_SV_WAIT", "300")))
            results.append("host: usernet %s" % hmp(m, "info usernet"))
            c.close()
            time.sleep(5)  # the guest's echo server sees the end of its connection
            hmp(m, "quit")
        except OSError as e:
            results.append("host: error %s" % e)
            p.kill()

    for raw in p.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if not text.startswith("STRATA netsv:"):
            continue
        print(text, flush=True)
        if text == "STRATA netsv: ready":
            threading.Thread(target=host_side, daemon=True).start()
        if text.startswith("STRATA netsv: fetch"):
            fetched.set()
    p.wait()
    killer.cancel()
    srv.shutdown()
    for r in results:
        print(r)
    print("exit: %d after %.1f s" % (p.returncode, time.time() - t0))


if __name__ == "__main__":
    main()
