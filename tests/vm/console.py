#!/usr/bin/env python3
"""Console and character back end tests for strata-vm (TAP), run by tests/vm/console.sh.

Every run is on a pseudo-terminal (python's pty/os.openpty: CI has no tty) or on sockets on
127.0.0.1 / unix paths, with the guest tests/vm/guest/echo.c, and bounded by timeouts. Where
QEMU can show the same behaviour (Ctrl-A help, "QEMU: Terminated", error texts, the pty
message, Ctrl-C through the mux) its output is compared byte for byte as well.

With a Linux guest directory (tests/guest/build.sh's Image + initrd.gz), also a busybox shell
on ttyS0 through the kernel's 8250 driver: a command, 64 KiB pasted into md5sum, Ctrl-C
interrupting a foreground program.

Usage: console.py STRATA_VM ECHO_ELF TMPDIR [GUEST_DIR]"""
import fcntl
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from vmtest import tap, skip, plan  # noqa: E402

VM, ELF, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
GUEST = sys.argv[4] if len(sys.argv) > 4 else ""
QEMU = "qemu-system-riscv64"
HAVE_QEMU = any(os.access(os.path.join(d, QEMU), os.X_OK) for d in os.environ.get("PATH", "").split(":"))
BASE = ["-M", "virt", "-bios", "none", "-kernel", ELF]


class Term:
    """The emulator on a fresh pty as its controlling terminal (stdin, stdout; stderr apart)."""

    def __init__(self, argv, stderr_path=None):
        self.master, self.slave = os.openpty()
        self.before = termios.tcgetattr(self.slave)
        self.stty_before = stty(self.slave)
        self.err_path = stderr_path or os.path.join(TMP, "stderr.%d" % random.randrange(1 << 30))
        self.err = open(self.err_path, "wb")
        slave = self.slave

        def child():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=self.err, preexec_fn=child,
                                  close_fds=True)
        self.out = b""

    def read_until(self, pattern, timeout=10.0):
        """Reads until `pattern` (bytes or compiled regex) is in the output; returns the match or None."""
        end = time.time() + timeout
        while True:
            m = pattern.search(self.out) if hasattr(pattern, "search") else (pattern in self.out)
            if m:
                return m
            left = end - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if r:
                try:
                    d = os.read(self.master, 65536)
                except OSError:
                    return None
                if not d:
                    return None
                self.out += d

    def drain(self, secs):
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    d = os.read(self.master, 65536)
                except OSError:
                    return
                self.out += d

    def send(self, b):
        os.write(self.master, b)

    def wait(self, timeout=10.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def stderr(self):
        self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read()

    def restored(self):
        return termios.tcgetattr(self.slave) == self.before and stty(self.slave) == self.stty_before

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        os.close(self.master)
        os.close(self.slave)
        self.err.close()


def stty(fd):
    return subprocess.run(["stty", "-g"], stdin=fd, capture_output=True, timeout=10).stdout


def ready(t):
    return t.read_until(b"echo: ready\r\n") is not None


def lflag(t):
    return termios.tcgetattr(t.slave)[3]


def checksum(data):
    s = 0
    for b in data:
        s = (s * 31 + b) & 0xFFFFFFFF
    return s


HELP = (b"\n\rC-a h    print this help\n\rC-a x    exit emulator\n\r"
        b"C-a s    save disk data back to file (if -snapshot)\n\rC-a t    toggle console timestamps\n\r"
        b"C-a b    send break (magic sysrq)\n\rC-a c    switch between console and monitor\n\r"
        b"C-a C-a  sends C-a\n\r").replace(b"\n", b"\r\n")  # the pty's ONLCR, as QEMU's raw mode keeps OPOST


def session(emu, keys, settle=0.4):
    """Runs emu -nographic with echo.elf, sends keys one group at a time, returns (output, rc)."""
    t = Term([emu] + BASE + ["-nographic"])
    try:
        if not ready(t):
            return None, None
        for k in keys:
            t.send(k)
            t.drain(settle)
        rc = t.wait(10)
        t.drain(0.2)
        return t.out, rc
    finally:
        t.close()


# ---- raw mode: a key reaches the guest once, no local echo; mux keeps ISIG off ----
t = Term([VM] + BASE + ["-nographic"])
ok = ready(t)
lf = lflag(t) if ok else 0
t.out = b""
t.send(b"k")
t.read_until(b"k", 10)
t.drain(0.3)
tap(ok and t.out == b"k", "raw mode: a typed key reaches the guest once, no local echo", repr(t.out))
tap(ok and not lf & (termios.ECHO | termios.ICANON | termios.ISIG),
    "raw mode: ECHO, ICANON and ISIG off on the terminal under -nographic", "lflag=%#x" % lf)
t.out = b""
t.send(b"\x03")
t.read_until(b"^C", 10)
t.drain(0.3)
tap(t.out == b"^C" and t.p.poll() is None, "-nographic: Ctrl-C goes to the guest", repr(t.out))
t.send(b"\x1d")  # the guest powers off with exit code 7
rc = t.wait(10)
t.drain(0.2)
tap(rc == 7 and b"echo: bye" in t.out, "guest poweroff ends strata-vm with the guest's code", "rc=%r" % rc)
tap(t.restored(), "terminal settings restored after guest poweroff")
t.close()

# ---- Ctrl-A h / x, byte for byte as QEMU ----
out, rc = session(VM, [b"\x01h", b"\x01x"])
want = b"echo: ready\r\n" + HELP + b"QEMU: Terminated\r\n\r"
tap(out == want and rc == 0, "C-a h prints QEMU's help, C-a x prints 'QEMU: Terminated' and exits 0",
    "%r rc=%r" % (out, rc))
if HAVE_QEMU:
    qout, qrc = session(QEMU, [b"\x01h", b"\x01x"])
    tap(qout == out and qrc == rc, "C-a h and C-a x: same bytes and status as qemu-system-riscv64",
        "qemu %r rc=%r" % (qout, qrc))
else:
    skip("C-a h and C-a x: same bytes and status as qemu-system-riscv64", "no " + QEMU)

# ---- restored after C-a x; C-a a sends C-a; C-a b is a break; C-a c moves the focus ----
t = Term([VM] + BASE + ["-nographic"])
ok = ready(t)
t.out = b""
t.send(b"\x01\x01")
t.drain(0.3)
t.send(b"\x01b")
t.read_until(b"[break]", 10)
tap(ok and t.out == b"^A[break]", "C-a C-a sends C-a, C-a b sends a break (LSR.BI)", repr(t.out))
t.send(b"\x04")
t.read_until(re.compile(rb"\[count=\d+ sum=0x[0-9a-f]+\]\r\n"), 5)  # the summary, not [break]'s line
t.out = b""
t.send(b"a")
t.drain(0.2)
t.send(b"\x01c")
t.drain(0.3)
t.send(b"zz")  # the monitor's, not the guest's
t.drain(0.3)
t.send(b"\x01c")
t.drain(0.3)
t.send(b"b\x04")
m = t.read_until(re.compile(rb"\[count=(\d+) sum=0x([0-9a-f]+)\]"), 5)
tap(m is not None and int(m.group(1)) == 2 and int(m.group(2), 16) == checksum(b"ab"),
    "C-a c gives the input to the monitor and back", repr(t.out))
t.send(b"\x01t")
t.drain(0.2)
t.send(b"x\r\ny")
ts = t.read_until(re.compile(rb"x\r\r\n\[\d\d:\d\d:\d\d\.\d\d\d\] y"), 5)
tap(ts is not None, "C-a t stamps console lines as QEMU ([hh:mm:ss.mmm] )", repr(t.out[-80:]))
t.send(b"\x01x")
rc = t.wait(10)
tap(rc == 0 and t.restored(), "terminal settings restored after C-a x", "rc=%r" % rc)
t.close()

# ---- terminating signals from kill: QEMU's message, exit 0, terminal restored ----
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    t = Term([VM] + BASE + ["-nographic"])
    ok = ready(t)
    os.kill(t.p.pid, sig)
    rc = t.wait(10)
    err = t.stderr().decode(errors="replace")
    want = "strata-vm: terminating on signal %d from pid %d (" % (sig, os.getpid())
    tap(ok and rc == 0 and err.startswith(want) and t.restored(),
        "%s by kill: '%s...', exit 0, terminal restored" % (signal.Signals(sig).name, want.strip()),
        "rc=%r stderr=%r" % (rc, err))
    t.close()

# ---- -serial stdio keeps signals: Ctrl-C ends the emulator as QEMU ----
t = Term([VM] + BASE + ["-display", "none", "-monitor", "none", "-serial", "stdio"])
ok = ready(t)
lf = lflag(t)
t.send(b"\x03")
rc = t.wait(10)
err = t.stderr()
tap(ok and lf & termios.ISIG and rc == 0 and err == b"strata-vm: terminating on signal 2\n" and t.restored(),
    "-serial stdio: ISIG kept, Ctrl-C terminates (signal 2), terminal restored", "rc=%r %r" % (rc, err))
t.close()

# ---- 64 KiB pasted on the terminal: nothing lost however fast it comes ----
random.seed(10)
data = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 .,;:-_=+/ABCDEFGHIJKLMNOPQRSTUVWXYZ")
             for _ in range(65536))
t = Term([VM] + BASE + ["-nographic"])
ok = ready(t)
t.send(b"\x05")  # echo off
t.drain(0.2)
t0 = time.time()
off = 0
while off < len(data) and time.time() - t0 < 60:
    _, w, _ = select.select([], [t.master], [], 0.5)
    if w:
        off += os.write(t.master, data[off:off + 4096])
    t.drain(0)
t.send(b"\x04")
m = t.read_until(re.compile(rb"\[count=(\d+) sum=0x([0-9a-f]+)\]"), 60)
secs = time.time() - t0
tap(ok and m is not None and int(m.group(1)) == len(data) and int(m.group(2), 16) == checksum(data),
    "64 KiB pasted on the terminal arrive complete (%.1f s)" % secs, repr(t.out[-100:]))
t.send(b"\x01x")
t.wait(10)
t.close()


# ---- sockets, file, pty ----
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run_bg(args):
    err = open(os.path.join(TMP, "bg.err"), "wb")
    p = subprocess.Popen([VM] + BASE + ["-display", "none", "-monitor", "none"] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    return p, err


def bg_stderr():
    with open(os.path.join(TMP, "bg.err"), "rb") as f:
        return f.read()


def sock_recv_until(s, pattern, timeout=10.0):
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            m = pattern.search(buf)
            if m:
                return m, buf
    return None, buf


def connect_retry(family, addr, timeout=10.0):
    end = time.time() + timeout
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.connect(addr)
            return s
        except OSError:
            s.close()
            if time.time() > end:
                raise
            time.sleep(0.05)


def stop(p, err):
    if p.poll() is None:
        p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    err.close()


def socket_case(name, spec, family, addr, paste=False):
    p, err = run_bg(["-serial", spec])
    try:
        s = connect_retry(family, addr)
    except OSError as e:
        tap(False, name, "connect: %s; stderr %r" % (e, bg_stderr()))
        stop(p, err)
        return
    payload = b"hi"
    if paste:
        s.sendall(b"\x05")
        payload = data
    s.sendall(payload + b"\x04")
    m, buf = sock_recv_until(s, re.compile(rb"\[count=(\d+) sum=0x([0-9a-f]+)\]"), 60)
    ok = m is not None and int(m.group(1)) == len(payload) and int(m.group(2), 16) == checksum(payload)
    if not paste:
        # the banner too if the client came before the guest printed it (earlier output is dropped)
        ok = ok and buf.split(b"echo: ready\n")[-1].startswith(b"hi\n[count=")
    s.sendall(b"\x1d")
    rc = p.wait(10) if ok else None
    s.close()
    stop(p, err)
    tap(ok and rc == 7, name, "buf=%r rc=%r stderr=%r" % (buf[-200:], rc, bg_stderr()))


sock = os.path.join(TMP, "serial.sock")
socket_case("-serial unix:PATH,server,nowait: a client gets output and sends input", "unix:%s,server,nowait" % sock,
            socket.AF_UNIX, sock)
port = free_port()
socket_case("-serial tcp:127.0.0.1:PORT,server,nowait: a client gets output and sends input",
            "tcp:127.0.0.1:%d,server,nowait" % port, socket.AF_INET, ("127.0.0.1", port))
socket_case("64 KiB through a unix socket arrive complete", "unix:%s,server=on,wait=off" % sock, socket.AF_UNIX,
            sock, paste=True)

# wait=on: the guest starts only once a client is there, so it sees the banner
p, err = run_bg(["-chardev", "socket,id=s0,path=%s,server=on" % sock, "-serial", "chardev:s0"])
try:
    s = connect_retry(socket.AF_UNIX, sock)
    m, buf = sock_recv_until(s, re.compile(rb"echo: ready\n"), 10)
    s.close()
except OSError:
    m, buf = None, b""
stop(p, err)
msg = bg_stderr()
want = ("strata-vm: -chardev socket,id=s0,path=%s,server=on: info: QEMU waiting for connection on: "
        "disconnected:unix:%s,server=on\n" % (sock, sock)).encode()
tap(m is not None and msg.startswith(want), "server=on (wait): QEMU's waiting message, the guest starts on connect",
    "buf=%r stderr=%r" % (buf, msg))

# telnet: QEMU's option negotiation first, IAC bytes stripped from input
port = free_port()
p, err = run_bg(["-serial", "telnet:127.0.0.1:%d,server,nowait" % port])
try:
    s = connect_retry(socket.AF_INET, ("127.0.0.1", port))
    s.sendall(b"a\xff\xfb\x01b\x04")  # IAC WILL ECHO in the middle
    m, buf = sock_recv_until(s, re.compile(rb"\[count=(\d+)"), 10)
    s.close()
except OSError:
    m, buf = None, b""
stop(p, err)
tap(buf.startswith(b"\xff\xfb\x01\xff\xfb\x03\xff\xfb\x00\xff\xfd\x00") and m is not None and m.group(1) == b"2",
    "telnet: QEMU's negotiation, IAC commands stripped from input", repr(buf))

# client with reconnect=1: QEMU's one "Unable to connect" line, then it connects when a server
# appears, and again after the server drops it
port = free_port()
p, err = run_bg(["-serial", "tcp:127.0.0.1:%d,reconnect=1" % port])
time.sleep(1.5)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
srv.settimeout(10)
got = []
try:
    for payload in (b"r", b"s"):
        cl, _ = srv.accept()
        cl.sendall(payload + b"\x04")
        m, buf = sock_recv_until(cl, re.compile(rb"\[count=(\d+) sum=0x([0-9a-f]+)\]"), 10)
        got.append(m is not None and int(m.group(2), 16) == checksum(payload))
        cl.close()
except OSError as e:
    got.append(str(e))
srv.close()
stop(p, err)
msg = bg_stderr()
want = b"strata-vm: Unable to connect character device serial0: Failed to connect to '127.0.0.1:%d': Connection refused\n" % port
tap(got == [True, True] and msg.startswith(want) and msg.count(b"Unable") == 1,
    "tcp client reconnect=1: QEMU's first-failure line, connects later and again after a drop",
    "%r %r" % (got, msg))

# file
path = os.path.join(TMP, "serial.log")
p, err = run_bg(["-serial", "file:" + path])
end = time.time() + 10
while time.time() < end and not (os.path.exists(path) and os.path.getsize(path) >= 12):
    time.sleep(0.05)
stop(p, err)
with open(path, "rb") as f:
    got = f.read()
tap(got == b"echo: ready\n", "-serial file:PATH holds the guest's output", repr(got))

# logfile=: a copy of a back end's output
path = os.path.join(TMP, "null.log")
p, err = run_bg(["-chardev", "null,id=n0,logfile=" + path, "-serial", "chardev:n0"])
end = time.time() + 10
while time.time() < end and not (os.path.exists(path) and os.path.getsize(path) >= 12):
    time.sleep(0.05)
stop(p, err)
with open(path, "rb") as f:
    got = f.read()
tap(got == b"echo: ready\n", "-chardev null,logfile=PATH copies the output", repr(got))

# pipe: PATH.in carries input, PATH.out output (FIFOs made beforehand, as QEMU expects)
pp = os.path.join(TMP, "serial.pipe")
for suffix in (".in", ".out"):
    if os.path.exists(pp + suffix):
        os.unlink(pp + suffix)
    os.mkfifo(pp + suffix)
p, err = run_bg(["-serial", "pipe:" + pp])
fin = os.open(pp + ".in", os.O_WRONLY)
fout = os.open(pp + ".out", os.O_RDONLY)
os.write(fin, b"pp\x04")
buf = b""
end = time.time() + 10
while time.time() < end and b"]" not in buf:
    r, _, _ = select.select([fout], [], [], 0.2)
    if r:
        buf += os.read(fout, 4096)
os.close(fin)
os.close(fout)
stop(p, err)
tap(b"pp\n[count=2 sum=0x%08x]" % checksum(b"pp") in buf, "-serial pipe:PATH: PATH.in in, PATH.out out", repr(buf))

# pty: QEMU's message on stderr, the slave carries the console
p, err = run_bg(["-serial", "pty"])
m = None
end = time.time() + 10
while time.time() < end and not m:
    m = re.match(rb"char device redirected to (/dev/pts/\d+) \(label serial0\)\n", bg_stderr())
    time.sleep(0.05)
ok = False
if m:
    fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
    os.write(fd, b"pty\x04")
    buf = b""
    end = time.time() + 10
    while time.time() < end and b"]" not in buf:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            buf += os.read(fd, 4096)
    os.close(fd)
    ok = b"pty\n[count=3 sum=0x%08x]" % checksum(b"pty") in buf
stop(p, err)
tap(ok, "-serial pty: 'char device redirected to /dev/pts/N (label serial0)', the pty carries the console",
    repr(bg_stderr()))

# ---- bad specs: QEMU's error texts and exit status ----
busy = socket.socket()  # a port in use
busy.bind(("127.0.0.1", 0))
busy.listen(1)
bad = [
    ["-serial", "foo"], ["-chardev", "socket,id=x"], ["-chardev", "socket,id=x,path=/nonexistent/dir/s,server=on,wait=off"],
    ["-serial", "unix:/nonexistent/x,server,nowait"], ["-chardev", "foo,id=x"], ["-chardev", "null"],
    ["-serial", "chardev:nope"], ["-chardev", "null,id=a", "-chardev", "null,id=a"], ["-serial", "file:/nonexistent/x"],
    ["-mon", "chardev=zz"], ["-chardev", "file,id=x"], ["-chardev", "pipe,id=p"], ["-chardev", "null,id=a,bogus=1"],
    ["-monitor", "foo"], ["-qmp", "foo"], ["-chardev", "stdio,id=s,signal=maybe"],
    ["-serial", "tcp:127.0.0.1:1,nowait"], ["-chardev", "socket,id=x,host=127.0.0.1"],
    ["-serial", "stdio", "-serial", "stdio"], ["-qmp", "none"], ["-serial", "mon:foo"],
    ["-serial", "mon:stdio", "-monitor", "stdio"], ["-chardev", "socket,id=x,path=/a,host=b"],
    ["-serial", "tcp:127.0.0.1:%d,server,nowait" % busy.getsockname()[1]],
]
for args in bad:
    name = "error text for " + " ".join(args)
    v = subprocess.run([VM] + BASE + ["-display", "none"] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=20)
    if not HAVE_QEMU:
        tap(v.returncode == 1 and v.stderr.startswith(b"strata-vm: "), name, repr(v.stderr))
        continue
    q = subprocess.run([QEMU, "-M", "virt", "-bios", "none", "-display", "none"] + args, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20)
    qerr = q.stderr.replace(QEMU.encode() + b":", b"strata-vm:")
    tap(v.returncode == q.returncode == 1 and v.stderr == qerr, name + " (as qemu)",
        "strata-vm %d %r\nqemu %d %r" % (v.returncode, v.stderr, q.returncode, qerr))

busy.close()

# ---- Linux: the 8250 driver on the UART (interrupts, FIFO), a shell on ttyS0 ----
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
names = ["Linux: a shell command on ttyS0", "Linux: 64 KiB pasted into md5sum arrive complete",
         "Linux: Ctrl-C interrupts the guest's foreground program", "Linux: terminal settings restored after C-a x"]
if not (GUEST and os.path.exists(os.path.join(GUEST, "Image")) and os.path.exists(FW)):
    for nm in names:
        skip(nm, "no Linux guest (tests/guest/build.sh) or no OpenSBI")
else:
    t = Term([VM, "-M", "virt", "-m", "256M", "-nographic", "-bios", FW, "-kernel", os.path.join(GUEST, "Image"),
              "-initrd", os.path.join(GUEST, "initrd.gz"), "-append", "console=ttyS0 quiet rdinit=/bin/busybox -- sh"])
    ok = t.read_until(b"~ # ", 240) is not None
    t.send(b"busybox stty -echo; echo X$((6*7))\r")
    tap(ok and t.read_until(b"X42", 30) is not None, names[0], repr(t.out[-300:]))
    random.seed(2)
    lines = b"".join(bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(63)) + b"\n"
                     for _ in range(1024))
    t.send(b"busybox md5sum\r")
    t.drain(0.5)
    t0 = time.time()
    off = 0
    while off < len(lines) and time.time() - t0 < 60:
        _, w, _ = select.select([], [t.master], [], 0.5)
        if w:
            off += os.write(t.master, lines[off:off + 1024])
        t.drain(0)
    t.send(b"\x04")
    import hashlib
    ok = t.read_until(hashlib.md5(lines).hexdigest().encode(), 120) is not None
    tap(ok, names[1] + " (%.1f s)" % (time.time() - t0), repr(t.out[-200:]))
    t.send(b"busybox setsid -c busybox sh\r")  # a shell with ttyS0 as its controlling terminal
    t.drain(1.0)
    t.send(b"busybox sleep 100\r")
    t.drain(1.0)
    t.out = b""
    t.send(b"\x03")
    tap(t.read_until(b"~ # ", 10) is not None and t.p.poll() is None, names[2], repr(t.out))
    t.send(b"\x01x")
    t.wait(10)
    tap(t.restored(), names[3])
    t.close()

plan()
