# HMP x/i and xp/i (and `info qtree`) on the same paused guest in strata-vm and qemu-system-riscv64: the text must be
# byte-identical (QEMU 7.2's layout, pseudo-instructions and names), also for unreadable
# addresses and the last-format repeat. usage: disasm.py STRATA_VM ELF TMPDIR  (TAP)
import os, socket, subprocess, sys, time

vm, elf, tmp = sys.argv[1:4]
CMDS = [
    "xp/207i 0x80000000",       # every instruction of tests/vm/asm/disasm.S
    "x/i 0x80000000", "x 0x80000004",  # the format is remembered
    "x/2i 0x80000002",          # the middle of an instruction
    "x/3i 0x87fffffc",          # running off the end of RAM
    "xp/2i 0x0",                # nothing there
    "x /2i 0x80000290",
    "info qtree",
]
# devices of QEMU's virt that strata-vm does not have (docs/emulator.md): left out of its qtree
QEMU_ONLY = ("fw_cfg_mem", "cfi.pflash01", "goldfish_rtc", "platform-bus-device", "gpex-pcihost")


def drop_qemu_only(text):
    out, skip = [], False
    for line in text.splitlines(True):
        if line.startswith("  dev: "):
            skip = line[7:].split(",")[0] in QEMU_ONLY
        if not skip:
            out.append(line)
    return "".join(out)


def session(emu):
    sock = os.path.join(tmp, "disasm-%s.sock" % os.path.basename(emu))
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([emu, "-M", "virt", "-bios", "none", "-kernel", elf, "-display", "none", "-S",
                          "-serial", "null", "-monitor", "unix:%s,server=on,wait=off" % sock],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.settimeout(60)

        def until():
            b = b""
            while not b.endswith(b"(qemu) "):
                d = s.recv(65536)
                if not d:
                    raise EOFError(b)
                b += d
            return b.decode().replace("\r", "")[:-len("(qemu) ")]
        until()
        out = []
        for c in CMDS:
            s.sendall(c.encode() + b"\n")
            text = until()
            out.append(text.split("\x1b[K\n", 1)[-1] if "\x1b[K" in text else text.split("\n", 1)[-1])
        s.sendall(b"quit\n")
        p.wait(timeout=30)
        return out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


n = 0


def ok(cond, name, diag=""):
    global n
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond and diag:
        for line in diag.splitlines():
            print("# " + line)


ours = session(vm)
ok(len(ours[0].splitlines()) == 207 and "fnmadd.d" in ours[0] and "# 0x8000001c" in ours[0],
   "x/207i: 207 lines of instructions")
try:
    theirs = session("qemu-system-riscv64")
except (OSError, EOFError) as e:
    theirs = None
    print("# qemu-system-riscv64: %s" % e)
for i, c in enumerate(CMDS):
    if theirs is None:
        print("ok %d - %s # SKIP no qemu-system-riscv64" % (n + 1, c))
        n += 1
        continue
    if c == "info qtree":
        theirs[i] = drop_qemu_only(theirs[i])
    diff = "".join("- %s\n+ %s\n" % (a, b) for a, b in zip(theirs[i].splitlines(), ours[i].splitlines()) if a != b)
    ok(ours[i] == theirs[i], "%s: same text as QEMU 7.2" % c, diff or "qemu:\n%s\nours:\n%s" % (theirs[i], ours[i]))
print("1..%d" % n)
