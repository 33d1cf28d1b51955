#!/usr/bin/env python3
"""net_monitor.py - the monitor's network commands (info network, info usernet, hostfwd_add,
hostfwd_remove, set_link) on strata-vm and qemu-system-riscv64, same command line, same
commands typed into -monitor stdio of a stopped (-S) machine: the output must be equal, but
for the banner's version and the host socket numbers in info usernet's FD column. TAP.

usage: net_monitor.py STRATA_VM QEMU"""
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vmtest import free_port  # noqa: E402


P0, P1, P2, P3 = free_port(), free_port(), free_port(socket.SOCK_DGRAM), free_port()
ARGS = ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22" % P0, "-device", "virtio-net-device,netdev=n0",
        "-netdev", "user,id=n1,net=10.0.3.0/24,restrict=on", "-device", "virtio-net-device,netdev=n1,id=nic1",
        "-netdev", "user,id=n2,net=10.0.4.0/24"]
CMDS = [
    "info network", "info usernet",
    "hostfwd_add tcp::%d-:80" % P1, "hostfwd_add n1 udp:127.0.0.1:%d-:53" % P2, "info usernet",
    "hostfwd_add tcp::%d-:80" % P1,  # the port is taken now
    "hostfwd_add nx tcp::%d-:80" % P3, "hostfwd_add n0 bogus", "hostfwd_add n0 tcp::99999-:22",
    "hostfwd_add", "hostfwd_add a b c",
    "hostfwd_remove tcp::%d" % P1, "hostfwd_remove tcp::%d" % P1, "hostfwd_remove n1 udp:127.0.0.1:%d" % P2,
    "hostfwd_remove n0 tcp:x:1", "hostfwd_remove n0 foo:1", "hostfwd_remove n0 tcp::abc", "hostfwd_remove",
    "hostfwd_remove a b c", "hostfwd_remove tcp:127.0.0.1:%d" % P0, "info usernet",
    "set_link n0 off", "set_link nic1 off", "info network", "set_link n0 maybe", "set_link n0 yes",
    "set_link nx on", "set_link virtio-net-device.0 on", "set_link", "set_link n0", "set_link n0 on x",
    "help hostfwd_add", "help hostfwd_remove", "help set_link",
]


def run(exe):
    cmd = [exe, "-M", "virt", "-display", "none", "-bios", "none", "-S", "-serial", "none", "-monitor", "stdio"] + ARGS
    text = "".join(c + "\n" for c in CMDS) + "quit\n"
    p = subprocess.run(["timeout", "30", *cmd], input=text.encode(), capture_output=True)
    out = p.stdout.decode(errors="replace")
    out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\x1b[A-Za-z]", "", out).replace("\r", "")
    lines = []
    for line in out.split("\n"):
        if not line or line.startswith("(qemu)"):
            continue
        line = re.sub(r"^QEMU [0-9.]+ monitor", "QEMU monitor", line)
        line = re.sub(r"^(  [A-Z]+\[[A-Z_]+\]) +[0-9]+ ", lambda m: "%-19s FD " % m.group(1), line)
        lines.append(line)
    return lines, p.returncode


def main():
    vm, qemu = sys.argv[1:3]
    got, rc = run(vm)
    n = 0
    n += 1
    print("%s %d - strata-vm answers the network commands and quits (exit %d)" % ("ok" if rc == 0 else "not ok", n, rc))
    try:
        want, _ = run(qemu)
    except FileNotFoundError:
        print("ok %d - same text as QEMU # SKIP no %s" % (n + 1, qemu))
        return
    n += 1
    same = got == want
    print("%s %d - info network/usernet, hostfwd_add/_remove, set_link: QEMU 7.2's text (%d lines)"
          % ("ok" if same else "not ok", n, len(want)))
    if not same:
        import difflib
        for d in difflib.unified_diff(want, got, "qemu", "strata-vm", lineterm=""):
            print("# " + d)
    # the rules really come and go: a port added is listening on the host, a removed one is not
    n += 1
    print("%s %d - the output names what it should (hostfwd rules listed, removed)"
          % ("ok" if any("HOST_FORWARD" in l and str(P1) in l for l in got) and
             "host forwarding rule for tcp::%d removed" % P1 in got and
             "host forwarding rule for tcp::%d not found" % P1 in got else "not ok", n))


if __name__ == "__main__":
    main()
