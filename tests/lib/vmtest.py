"""vmtest.py - what the Python drivers of the guest and strata-vm tests share: TAP lines, a unix
socket read up to a regex (serial console, HMP), HMP over a plain socket, a free TCP port, an
HTTP server of a directory, and ending an emulator process.

Imported from a script's directory as:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
    import vmtest"""
import functools
import http.server
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
