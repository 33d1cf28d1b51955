"""vmtest.py - what the Python drivers of the guest and strata-vm tests share: TAP lines, a unix
socket read up to a regex (serial console, HMP), HMP over a plain socket, a free TCP port, an
HTTP server of a directory, ending an emulator process, an emulator driven through its HMP monitor
on a unix socket (MonitorEmu) and a minimal GDB remote protocol client (Rsp).

Imported from a script's directory as:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
    import vmtest"""
import functools
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

count = 0    # TAP lines printed
failed = 0   # of which "not ok"


def tap(cond, name, diag='', keep=1500):
    """Prints one TAP line; when it failed, the last keep characters of diag as comments."""
    global count, failed
    count += 1
    failed += 0 if cond else 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', count, name))
    if not cond and diag:
        for line in str(diag)[-keep:].splitlines():
            print('#   ' + line)
    sys.stdout.flush()
    return cond


def skip(name, why):
    """A TAP line for a check this machine cannot make (counted as passed, marked SKIP)."""
    global count
    count += 1
    print('ok %d - %s # SKIP %s' % (count, name, why))
    sys.stdout.flush()


def note(text):
    for line in str(text).splitlines():
        print('# ' + line)
    sys.stdout.flush()


def plan():
    print('1..%d' % count)


def latin1(data):
    return data.decode('latin-1')


def latin1_no_cr(data):
    return data.decode('latin-1').replace('\r', '')


class Sock:
    """A unix stream socket (connected once the emulator listens, until deadline) read up to a
    regex. text turns what arrived into the str until returns; log (a binary file) keeps a copy
    of everything received."""

    def __init__(self, path, deadline, log=None, flags=0, text=latin1):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b''
        self.log = log
        self.flags = flags
        self.text = text

    def until(self, pattern, seconds):
        """Reads until the regex matches what arrived since the last match; returns the text."""
        end = time.time() + seconds
        rx = re.compile(pattern.encode(), self.flags)
        while not rx.search(self.buf):
            left = end - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except (socket.timeout, OSError):
                return None
            if not data:
                return None
            if self.log:
                self.log.write(data)
                self.log.flush()
            self.buf += data
        m = rx.search(self.buf)
        text, self.buf = self.buf[:m.end()], self.buf[m.end():]
        return self.text(text)

    def send(self, text):
        self.s.sendall(text.encode())


def stop(p, seconds):
    """Waits up to seconds for process p to end; its exit status, or None after a kill."""
    try:
        return p.wait(seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


def reap(p):
    """Kills p if it still runs (for finally: blocks)."""
    if p.poll() is None:
        p.kill()
        p.wait()


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 nothing listens on now."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(addr, family=socket.AF_INET, tries=400):
    """A socket connected to addr, retried while the listener is not up yet (10 s)."""
    for _ in range(tries):
        s = socket.socket(family)
        try:
            s.connect(addr)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            time.sleep(0.025)
    raise TimeoutError('cannot connect to %r' % (addr,))


class Peer:
    """A connected stream socket with a receive buffer (a monitor, a serial port)."""

    def __init__(self, sock, timeout=30.0):
        self.sock, self.buf, self.timeout = sock, b'', timeout

    def recv_until(self, pred, timeout=None):
        end = time.time() + (timeout or self.timeout)
        while not pred(self.buf):
            left = end - time.time()
            if left <= 0:
                raise TimeoutError(repr(self.buf[-300:]))
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise EOFError(repr(self.buf[-300:]))
            self.buf += d

    def until(self, pat, timeout=None):
        """Reads until the bytes pat arrive; returns what came up to their end (kept out of buf)."""
        self.recv_until(lambda b: pat in b, timeout)
        i = self.buf.index(pat) + len(pat)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def hmp(self, line):
        """Runs one HMP command; its output lines (the echoed command and prompt left out)."""
        self.sock.sendall(line.encode() + b'\n')
        self.recv_until(lambda b: b.endswith(b'(qemu) '))
        raw, self.buf = self.buf, b''
        body = raw.split(b'\r\n', 1)[1] if b'\r\n' in raw else b''
        return body[:-len(b'(qemu) ')].replace(b'\r\n', b'\n').decode('latin1')


class MonitorEmu(Peer):
    """An emulator process (argv) with `OPT unix:MON,server,nowait` added (OPT -monitor, or
    -qmp for a subclass that speaks QMP), its output in the file out; hmp() runs one command
    and returns its output lines. greet=False leaves the banner in buf for the caller."""

    def __init__(self, argv, mon, out, timeout=15.0, opt='-monitor', greet=True):
        self.mon = mon
        if os.path.exists(mon):
            os.unlink(mon)
        self.out = open(out, 'wb+')
        self.proc = subprocess.Popen(list(argv) + [opt, 'unix:%s,server,nowait' % mon],
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        Peer.__init__(self, connect(mon, socket.AF_UNIX), timeout)
        if greet:
            self.recv_until(lambda b: b.endswith(b'(qemu) '))
            self.buf = b''

    def close(self):
        """Ends the process (terminate, then kill after 10 s); its exit status. The output
        file stays readable (serial())."""
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def serial(self):
        """Everything the process wrote to its output so far."""
        self.out.flush()
        self.out.seek(0)
        return self.out.read()


class Rsp:
    """A minimal GDB remote protocol client."""

    def __init__(self, addr, family=socket.AF_INET):
        self.s = connect(addr, family)
        self.buf = b''

    def read_packet(self, timeout=15.0):
        end = time.time() + timeout
        while True:
            m = re.search(rb'\$([^#]*)#[0-9a-f]{2}', self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m.group(1).decode()
            left = end - time.time()
            if left <= 0:
                raise TimeoutError(repr(self.buf))
            self.s.settimeout(left)
            d = self.s.recv(4096)
            if not d:
                raise EOFError(repr(self.buf))
            self.buf += d

    def send(self, data):
        self.s.sendall(('$%s#%02x' % (data, sum(data.encode()) & 0xff)).encode())

    def cmd(self, data):
        self.send(data)
        return self.read_packet()

    def eof(self, timeout=5.0):
        """True when the stub closes the connection."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(4096)
                if not d:
                    return True
        except (socket.timeout, OSError):
            return False


def hmp_read(m):
    """Reads an HMP socket up to the next prompt."""
    buf = b''
    while not buf.endswith(b'(qemu) '):
        d = m.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode(errors='replace')


def hmp(m, line):
    """Runs one HMP command; its output lines (without echo and prompt), joined by '|'."""
    m.sendall(line.encode() + b'\n')
    out = re.sub(r'\x1b\[[0-9;]*[A-Za-z]|\x1b[A-Za-z]', '', hmp_read(m)).replace('\r', '')
    return '|'.join(x for x in out.split('\n') if x and not x.startswith('(qemu)') and line not in x)


def serve_dir(host, www):
    """A threaded HTTP server of directory www on host (port chosen), quiet, in the background."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer((host, 0), functools.partial(Quiet, directory=www))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
