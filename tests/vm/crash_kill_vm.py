#!/usr/bin/env python3
"""SIGKILL strata-vm while a bare-metal guest writes (tests/vm/guest/killwrite.c), over and
over, and after every kill prove the image whole: `qemu-img check` finds no corruption (exit
0, or 3 when only leaked clusters are reported) and every sector holds what the guest's
acknowledged operations say it must.

Model. Operation SEQ of run RUN is a pure function of (RUN, SEQ) (op() below, the guest's
make_op()), so after a kill the host knows every operation the guest could have issued:
  - "F SEQ" on the UART: a flush completed after operations 1..SEQ (cache=writeback, none,
    unsafe): each of those must survive the kill (unsafe skips only the host's fdatasync, which
    a process kill does not need); the guest issues nothing after operation SEQ+FLUSH before
    printing again.
  - "A SEQ": operation SEQ completed (cache=writethrough, directsync: that alone makes it
    durable).
A sector must then hold the state left by its last acknowledged operation, or by any later
operation of the run, or, when no acknowledged operation touched it, the state observed after
the previous kill (or a later operation); sectors no operation touched must be unchanged. The
state observed becomes the starting point of the next run on the same image.

usage: crash_kill_vm.py VM ELF TMPDIR [MIN_KILLS]   (TAP on stdout)
"""
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

VM, ELF, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
MIN_KILLS = int(sys.argv[4]) if len(sys.argv) > 4 else 100
M64 = (1 << 64) - 1
MAGIC = 0x4C494B53
ZERO = bytes(512)
MAX_SECTORS = 128
# the raw copies read after each kill: in memory when the machine has a tmpfs there
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else TMP

tap_n = 0
tap_failed = 0


def tap(ok, name):
    global tap_n, tap_failed
    tap_n += 1
    if not ok:
        tap_failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (tap_n, name), flush=True)


def note(msg):
    print("# " + msg, flush=True)


def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def op(run, seq, cap, hot, grow, stride):
    """(zero, first sector, sectors) of operation SEQ of run RUN: killwrite.c's make_op()."""
    h = mix((run << 32 | seq) & M64)
    h2 = mix(h)
    sel = (h >> 8) % 16
    n = MAX_SECTORS if sel == 0 else 8 if sel < 4 else 1 + (h & 31)
    where = (h >> 16) % 4
    if where == 3:
        sector = (grow + seq * stride) % cap
        if sector + n > cap:
            sector = cap - n
    else:
        sector = h2 % ((hot if where < 2 else cap) - n + 1)
        if 0 < sel < 4:
            sector &= ~7
    return (h >> 24) % 16 == 0, sector, n


def record(run, seq, s):
    c = mix(((run << 32) ^ (seq << 8) ^ s) & M64)
    return struct.pack("<IIIIQQ", MAGIC, run, seq, 0, s, c) * 16


def classify(data, s, base):
    """The state a sector holds: 'Z' (zeros), 'B' (the backing file's), (run, seq), or None
    for bytes no operation ever wrote there."""
    if data == ZERO:
        return "Z"
    if base is not None and data == base[s * 512:(s + 1) * 512]:
        return "B"
    magic, run, seq, _, sec, _ = struct.unpack_from("<IIIIQQ", data)
    if magic == MAGIC and sec == s and data == record(run, seq, s):
        return (run, seq)
    return None


def tool(*args, **kw):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=kw.get("timeout", 60))


class Disk:
    """One image and what the host knows of its sectors across runs."""

    def __init__(self, name, cap_mib, create, caches, hot, stride, flushes, base=None, snap=False):
        self.name, self.caches, self.hot, self.stride, self.flushes = name, caches, hot, stride, flushes
        self.path = os.path.join(TMP, name + ".qcow2")
        self.cap_mib, self.create = cap_mib, create
        self.cap = cap_mib * 2048
        self.base = base       # raw bytes of the backing file, or None
        self.snap = snap       # an internal snapshot before each run (writes copy shared clusters)
        self.snaps = []
        self.kills = self.writing = self.runs = 0
        self.leaky = self.acked = self.unacked_kept = self.images = 0
        self.bad, self.notes = [], []
        self.busy = False
        self.secs_vm = self.secs_check = 0.0
        self.fresh()

    def fresh(self):
        """A new image: the frontier of allocating writes starts again at sector 0."""
        self.state = {}        # sector -> observed state, for sectors ever touched
        self.grow = 0
        self.snaps = []
        self.images += 1
        r = tool("qemu-img", "create", "-q", "-f", "qcow2", *self.create, self.path, "%dM" % self.cap_mib)
        if r.returncode:
            raise RuntimeError("qemu-img create: " + r.stdout.decode())

    def note(self, msg):
        self.notes.append(msg)

    def initial(self, s):
        if self.base is not None and self.base[s * 512:(s + 1) * 512] != ZERO:
            return "B"
        return "Z"

    def norm(self, st, s):
        return self.initial(s) if st == "B" else st


def run_vm(d, run, flush, cache, plan):
    """Starts strata-vm on the disk, kills it by PLAN; returns (killed, lines)."""
    drive = "file=%s,format=qcow2,if=none,id=d0,cache=%s" % (d.path, cache)
    p = subprocess.Popen([VM, "-M", "virt", "-bios", "none", "-kernel", ELF, "-nographic",
                          "-drive", drive, "-device", "virtio-blk-device,drive=d0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p.stdin.write(b"%d %d %d %d %d\n" % (run, d.hot, flush, d.grow, d.stride))
    p.stdin.flush()
    out = b""
    t0 = time.monotonic()
    ready = None
    kind, amount = plan
    deadline = t0 + 30  # a bound only: the plans below ask for well under a second
    while time.monotonic() < deadline:
        now = time.monotonic()
        if kind == "boot" and now - t0 >= amount:
            break
        if ready is not None and kind == "time" and now - ready >= amount:
            break
        lines = out.split(b"\n")[:-1]
        if ready is None and any(l.startswith(b"R ") for l in lines):
            ready = now
        if kind == "acks" and (sum(1 for l in lines if l[:2] in (b"F ", b"A ")) >= amount or
                               (ready is not None and now - ready >= 0.5)):
            break
        if any(l.startswith((b"E ", b"no disk")) for l in lines) or p.poll() is not None:
            break
        r, _, _ = select.select([p.stdout], [], [], 0.002)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
    p.send_signal(signal.SIGKILL)
    while True:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
    p.wait()
    p.stdin.close()
    p.stdout.close()
    return p.returncode == -signal.SIGKILL, out.split(b"\n")[:-1]


def verify(d, run, flush, lines):
    """qemu-img check, then every sector against the model. Returns a list of problems."""
    errs = [l.decode(errors="replace") for l in lines if l.startswith((b"E ", b"no disk"))]
    # check and convert side by side (both only read)
    chk = subprocess.Popen(["qemu-img", "check", d.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    raw = os.path.join(SCRATCH, "strata-crash-kill-vm-%d-%s.raw" % (os.getpid(), d.name))
    r = tool("qemu-img", "convert", "-U", "-O", "raw", d.path, raw)
    out = chk.communicate(timeout=60)[0]
    if chk.returncode == 3:
        d.leaky += 1
    elif chk.returncode != 0:
        errs.append("qemu-img check exit %d: %s" % (chk.returncode, " | ".join(out.decode().splitlines()[:6])))
        return errs
    if r.returncode:
        return errs + ["qemu-img convert: " + r.stdout.decode()]
    with open(raw, "rb") as f:
        img = f.read()
    os.unlink(raw)
    tag = b"A " if flush == 0 else b"F "
    acked = max([int(l[2:]) for l in lines if l.startswith(tag)] or [0])
    upper = acked + (flush if flush else 1)
    d.upper = upper
    # per sector: the run's operations on it, in order
    hist = {}
    for seq in range(1, upper + 1):
        zero, first, n = op(run, seq, d.cap, d.hot, d.grow, d.stride)
        for s in range(first, first + n):
            hist.setdefault(s, []).append((seq, "Z" if zero else (run, seq)))
    expect = bytearray(d.base) if d.base is not None else bytearray(len(img))
    if len(img) != len(expect):
        return errs + ["image is %d bytes, not %d" % (len(img), len(expect))]
    for s in set(hist) | set(d.state):
        data = img[s * 512:(s + 1) * 512]
        got = d.norm(classify(data, s, d.base), s)
        ops = hist.get(s, [])
        done = [i for i, (seq, _) in enumerate(ops) if seq <= acked]
        if done:
            ok = [d.norm(st, s) for _, st in ops[done[-1]:]]
            d.acked += 1
        else:
            ok = [d.state.get(s, d.initial(s))] + [d.norm(st, s) for _, st in ops]
        if got not in ok:
            errs.append("sector %d holds %s; acknowledged up to %d, allowed %s" %
                        (s, got, acked, ok[:4]))
            if len(errs) > 5:
                return errs
        elif got != ok[0]:
            d.unacked_kept += 1
        d.state[s] = got
        expect[s * 512:(s + 1) * 512] = data
    if bytes(expect) != img:
        first = next(i for i in range(0, len(img), 512) if img[i:i + 512] != expect[i:i + 512])
        errs.append("sector %d changed though no operation wrote it" % (first // 512))
    return errs


def self_test(d):
    """The last run's image verified again passes; it must fail with an acknowledged write
    lost (its sector zeroed), a sector the guest wrote damaged, or a stray write to a sector
    no operation touched."""
    run, flush, lines, d.grow = d.last
    counters = (d.leaky, d.acked, d.unacked_kept)
    errs = verify(d, run, flush, lines)
    if errs:
        d.note("self-test: the image verified again: %s" % errs[:2])
        return False
    tag = b"A " if flush == 0 else b"F "
    acked = max([int(l[2:]) for l in lines if l.startswith(tag)] or [0])
    lost = [s for s, st in d.state.items() if st[:1] == (run,) and st[1] <= acked]
    damaged = [s for s, st in d.state.items() if isinstance(st, tuple)]
    untouched = next(s for s in range(d.cap) if s not in d.state)
    if not lost:
        d.note("self-test: no acknowledged write in the last run")
        return False
    saved_state = dict(d.state)
    shutil.copyfile(d.path, d.path + ".keep")
    try:
        for s, pat in ((lost[0], 0), (damaged[len(damaged) // 2], 0x77), (untouched, 0x77)):
            r = tool("qemu-io", "-f", "qcow2", "-c", "write -P %d %d 512" % (pat, s * 512), d.path)
            errs = verify(d, run, flush, lines)
            d.note("self-test, sector %d overwritten: %s" % (s, errs[:1]))
            d.state = dict(saved_state)
            shutil.copyfile(d.path + ".keep", d.path)
            if r.returncode or not errs:
                return False
    finally:
        os.unlink(d.path + ".keep")
        d.leaky, d.acked, d.unacked_kept = counters
    return True


def plan_for(rng, i):
    """Where to kill: after 0-40 acknowledgements (at most 500 ms after the guest is ready),
    0-300 ms after the guest is ready, or,
    one run in ten, during start-up (0-50 ms after the start)."""
    if i % 10 == 9:
        return ("boot", rng.uniform(0, 0.05))
    if i % 2:
        return ("time", rng.uniform(0, 0.3))
    return ("acks", rng.randint(0, 40))


def snapshot(d, *args):
    r = tool("qemu-img", "snapshot", *args, d.path)
    return ["qemu-img snapshot %s: %s" % (" ".join(args), r.stdout.decode())] if r.returncode else []


def one_run(d):
    """Starts the guest on the disk, kills it, verifies the image."""
    i = d.runs
    d.runs += 1
    run = d.first_run + i
    flush = d.flushes[i % len(d.flushes)]
    cache = d.caches[i % len(d.caches)]
    if d.grow >= d.cap:
        d.fresh()  # the frontier went round the disk: allocation starts again from nothing
    if d.snap:
        # a new internal snapshot (its clusters shared with the active layer, so the guest's
        # writes copy them); the oldest of three goes (freeing clusters the active layer no
        # longer uses)
        errs = snapshot(d, "-c", "s%d" % run)
        d.snaps.append("s%d" % run)
        if len(d.snaps) > 3:
            errs += snapshot(d, "-d", d.snaps.pop(0))
        if errs:
            d.bad.append(run)
            d.note("%s run %d: %s" % (d.name, run, errs))
    t0 = time.monotonic()
    killed, lines = run_vm(d, run, flush, cache, plan_for(d.rng, i))
    t1 = time.monotonic()
    if killed:
        d.kills += 1
        d.writing += any(l.startswith(b"R ") for l in lines)
    d.upper = 0
    errs = verify(d, run, flush, lines)
    d.last = (run, flush, lines, d.grow)
    d.secs_vm += t1 - t0
    d.secs_check += time.monotonic() - t1
    # the next run's frontier starts past every write this one may have made
    d.grow += (d.upper + 1) * d.stride
    if errs:
        d.bad.append(run)
        d.note("%s run %d (cache=%s, flush %d, %d UART lines, killed %s):" %
               (d.name, run, cache, flush, len(lines), killed))
        for e in errs:
            d.note("   " + e)


def worker(disks, quota, lock):
    """Takes the idle disk furthest from its quota of kills while writing, until all have
    theirs (each disk at most quota + 10 runs: a bound, should processes end before their
    kill)."""
    while True:
        with lock:
            todo = [d for d in disks if not d.busy and d.writing < quota and d.runs < quota + 10]
            if not todo and not any(d.busy for d in disks):
                return
            d = None
            if todo:
                d = min(todo, key=lambda x: x.writing)
                d.busy = True
        if d is None:
            time.sleep(0.05)
            continue
        try:
            one_run(d)
        finally:
            with lock:
                d.busy = False


def direct_io_works():
    """Whether TMP's file system takes O_DIRECT (tmpfs does not)."""
    path = os.path.join(TMP, "direct.qcow2")
    tool("qemu-img", "create", "-q", "-f", "qcow2", path, "1M")
    r = tool("qemu-io", "-t", "none", "-c", "write 0 512", path)
    os.unlink(path)
    return r.returncode == 0


def main():
    seed = int(os.environ.get("CRASH_SEED", "0")) or random.randrange(1, 1 << 30)
    note("seed %d (CRASH_SEED=%d gives the same kill plans)" % (seed, seed))
    base = os.path.join(TMP, "base.qcow2")
    tool("qemu-img", "create", "-q", "-f", "qcow2", base, "16M")
    tool("qemu-io", "-c", "write -P 0x5a 0 4M", "-c", "write -P 0xa5 6M 2M",
         "-c", "write -P 0x3c 15M 1M", base)
    raw = os.path.join(TMP, "base.raw")
    tool("qemu-img", "convert", "-O", "raw", base, raw)
    with open(raw, "rb") as f:
        base_bytes = f.read()
    os.unlink(raw)
    with open(base, "rb") as f:
        base_sum = f.read()
    # name, MiB, create options, cache modes by run, hot sectors, frontier stride (sectors), flush
    # intervals by run (0: writethrough, every write acknowledged)
    disks = [
        Disk("c64k", 16, ["-o", "cluster_size=65536"], ["writeback", "unsafe"], 1024, 64, [8]),
        Disk("c4k", 16, ["-o", "cluster_size=4096"], ["writeback", "none"], 1024, 8, [1, 4, 16]),
        Disk("c512", 8, ["-o", "cluster_size=512,refcount_bits=64"], ["writeback"], 512, 1, [4, 2]),
        Disk("wt", 8, ["-o", "cluster_size=4096"], ["writethrough", "directsync"], 512, 8, [0]),
        Disk("lazy", 16, ["-o", "lazy_refcounts=on"], ["writeback"], 1024, 32, [8, 2]),
        Disk("snap", 16, ["-o", "cluster_size=4096"], ["writeback"], 1024, 8, [8, 4], snap=True),
        Disk("overlay", 16, ["-o", "cluster_size=65536", "-b", base, "-F", "qcow2"],
             ["writeback", "none"], 2048, 16, [8, 3], base_bytes),
    ]
    if not direct_io_works():
        note("O_DIRECT does not work in %s: cache=none and directsync left out" % TMP)
        for d in disks:
            d.caches = [c for c in d.caches if c not in ("none", "directsync")] or ["writethrough"]
    for k, d in enumerate(disks):
        d.rng = random.Random(seed * 31 + k)
        d.first_run = 1000 * (k + 1)
    quota = (MIN_KILLS + len(disks) - 1) // len(disks)
    t0 = time.monotonic()
    c0 = os.times()
    lock = threading.Lock()
    # two at a time (the machine has two cores): one disk's check overlaps another's run
    threads = [threading.Thread(target=worker, args=(disks, quota, lock)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c1 = os.times()
    cpu = sum(c1[:4]) - sum(c0[:4])
    secs = time.monotonic() - t0
    st = self_test(disks[0])
    kills = sum(d.kills for d in disks)
    writing = sum(d.writing for d in disks)
    for d in disks:
        for m in d.notes:
            note(m)
        note("%s (cache=%s, flush every %s): %d kills (%d while writing) on %d images, %d checks "
             "reporting leaked clusters, %d sectors checked against an acknowledged write, %d kept a "
             "write not yet acknowledged; %.0f s in strata-vm, %.0f s checking" %
             (d.name, "/".join(d.caches), "/".join(str(f) if f else "write" for f in d.flushes), d.kills,
              d.writing, d.images, d.leaky, d.acked, d.unacked_kept, d.secs_vm, d.secs_check))
        tap(not d.bad, "%s: after every kill qemu-img check finds no corruption and every "
            "acknowledged write is intact%s" % (d.name, " (bad runs %s)" % d.bad if d.bad else ""))
    with open(base, "rb") as f:
        tap(f.read() == base_sum, "overlay: the backing file is unchanged")
    tap(st, "the checker itself notices a lost acknowledged write, a damaged sector and a stray write")
    note("%d kills in %.0f s, %.0f s of CPU" % (kills, secs, cpu))
    tap(writing >= MIN_KILLS, "at least %d strata-vm processes SIGKILLed while the guest writes (%d)"
        % (MIN_KILLS, writing))
    print("1..%d" % tap_n)
    return 1 if tap_failed else 0


if __name__ == "__main__":
    sys.exit(main())
