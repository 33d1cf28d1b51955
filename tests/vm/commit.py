#!/usr/bin/env python3
"""commit of -snapshot drives: HMP `commit DEV|all` and the mux's Ctrl-A s, with the guest
tests/vm/guest/diskwrite.c (writes pattern A, waits for a byte, checks A and writes B).
TAP on stdout. Usage: commit.py STRATA_VM DISKWRITE_ELF TMPDIR"""
import os, shutil, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from vmtest import Peer, connect, tap, plan  # noqa: E402

VM, ELF, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
QEMU = shutil.which('qemu-system-riscv64')


def new_image(name, fmt):
    path = os.path.join(TMP, name)
    subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path, '8M'], check=True)
    return path


def sectors(path, fmt):
    raw = path + '.raw'
    subprocess.run(['qemu-img', 'convert', '-f', fmt, '-O', 'raw', path, raw], check=True)
    with open(raw, 'rb') as f:
        data = f.read()
    os.unlink(raw)
    return lambda s: data[512 * s:512 * s + 512]


def pattern(tag, s):
    return bytes(ord(tag) if i % 16 == 0 else ord('a') + (s + i) % 26 for i in range(512))


def qemu_img_check(path, fmt):
    if fmt != 'qcow2':
        return True
    r = subprocess.run(['qemu-img', 'check', '-q', path], capture_output=True)
    return r.returncode == 0


PROCS = []  # every emulator started: killed at the end, so a failed wait leaves none running


def start(binary, img, fmt, tag, serial_mux=False, snapshot=True):
    ser = os.path.join(TMP, '%s-%s.ser' % (os.path.basename(binary), tag))
    mon = os.path.join(TMP, '%s-%s.mon' % (os.path.basename(binary), tag))
    for p in (ser, mon):
        if os.path.exists(p):
            os.unlink(p)
    args = [binary, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-display', 'none'] + \
        (['-snapshot'] if snapshot else []) + [
            '-drive', 'file=%s,format=%s,if=none,id=virtio0' % (img, fmt),
            '-device', 'virtio-blk-device,drive=virtio0']  # QEMU's if=virtio is PCI on virt
    # the serial port waits for its client before the guest starts (wait=on): the guest's
    # first line comes at once, and with nowait it went nowhere when this script connected late
    if serial_mux:  # serial and monitor on one mux: Ctrl-A commands
        args += ['-serial', 'mon:unix:%s,server=on,wait=on' % ser, '-monitor', 'none']
    else:
        args += ['-serial', 'unix:%s,server=on,wait=on' % ser, '-monitor', 'unix:%s,server,nowait' % mon]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    PROCS.append(proc)
    s = Peer(connect(ser, socket.AF_UNIX))
    m = None
    if not serial_mux:
        m = Peer(connect(mon, socket.AF_UNIX))
        m.until(b'(qemu) ')
    return proc, s, m


def finish(proc):
    try:
        out = proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
    return proc.returncode, out.decode('latin1')


def run_commit(binary, fmt, cmd):
    """The guest writes A, the monitor commits (cmd) or not (None), the guest checks A and
    writes B, quit. Returns (guest output, monitor output, sector reader, check ok, rc)."""
    img = new_image('%s-%s-%s.img' % (os.path.basename(binary), fmt, cmd or 'none'), fmt)
    proc, s, m = start(binary, img, fmt, 'c')
    out = s.until(b'A written\n').decode()
    mon = m.hmp(cmd) if cmd else ''
    s.sock.sendall(b'x')
    out += s.until(b'A ok\n' if b'BAD' not in s.buf else b'BAD').decode()
    out += s.until(b'\n').decode()
    mon += m.hmp('info status')
    m.sock.sendall(b'quit\n')
    rc, _ = finish(proc)
    return out, mon, sectors(img, fmt), qemu_img_check(img, fmt), rc


def run_overlay_commit(label, binary, cmd):
    """A qcow2 overlay with a backing file as the drive (no -snapshot): commit writes what the
    guest wrote into the backing file and empties the overlay; the guest runs on."""
    base = new_image('%s-%s-base.qcow2' % (label, cmd[7:]), 'qcow2')
    top = os.path.join(TMP, '%s-%s-top.qcow2' % (label, cmd[7:]))
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top],
                   check=True)
    proc, s, m = start(binary, top, 'qcow2', 'o', snapshot=False)
    out = s.until(b'A written\n').decode()
    mon = m.hmp(cmd)
    s.sock.sendall(b'x')
    out += s.until(b'A ok\n' if b'BAD' not in s.buf else b'BAD').decode()
    out += s.until(b'\n').decode()
    m.sock.sendall(b'quit\n')
    rc, _ = finish(proc)
    name = '%s overlay drive, %s' % (label, cmd)
    tap(out == 'A written\nA ok\nB written, A ok\n' and mon == '', name + ': the guest runs on',
        out + mon)
    bsec = sectors(base, 'qcow2')
    tap(all(bsec(x) == pattern('A', x) for x in list(range(64)) + [4096]) and bsec(100) == bytes(512),
        name + ': the backing file holds A, not B')
    tsec = sectors(top, 'qcow2')
    tap(all(tsec(x) == pattern('A', x) for x in list(range(64)) + [4096]) and tsec(100) != bytes(512),
        name + ': the overlay reads A through its backing file, and B')
    r = subprocess.run(['qemu-img', 'map', '--output=json', top], capture_output=True, text=True)
    import json
    own = sorted((e['start'], e['length']) for e in json.loads(r.stdout) if e['depth'] == 0 and e['data'])
    tap(qemu_img_check(base, 'qcow2') and qemu_img_check(top, 'qcow2') and rc == 0,
        name + ': both images check clean, exit 0', rc)
    return own, [bsec(x) for x in range(128)]


def main():
    emus = [('strata-vm', VM)] + ([('QEMU', QEMU)] if QEMU else [])
    images = {}
    for label, binary in emus:
        for fmt in ('qcow2', 'raw'):
            for cmd in ('commit virtio0', 'commit all', None):
                out, mon, sec, ok, rc = run_commit(binary, fmt, cmd)
                name = '%s %s %s' % (label, fmt, cmd or 'without commit')
                tap(out == 'A written\nA ok\nB written, A ok\n', name + ': the guest runs on over the drive', out)
                tap(mon == 'VM status: running\n', name + ': commit prints nothing', mon)
                committed = all(sec(s) == pattern('A', s) for s in list(range(64)) + [4096])
                zero = bytes(512)
                if cmd:
                    tap(committed and sec(64) == zero, name + ': the image holds A', repr(sec(0)[:32]))
                    tap(sec(100) == zero, name + ': B, written after the commit, is not in the image')
                else:
                    tap(all(sec(s) == zero for s in list(range(64)) + [100, 4096]),
                        name + ': the image is untouched')
                tap(ok and rc == 0, name + ': qemu-img check clean, exit 0', rc)
                images[(label, fmt, cmd)] = [sec(s) for s in range(128)] + [sec(4096)]
    if QEMU:
        same = all(images[('strata-vm', f, c)] == images[('QEMU', f, c)]
                   for f in ('qcow2', 'raw') for c in ('commit virtio0', 'commit all', None))
        tap(same, 'images equal QEMU 7.2\'s after the same runs')
    # a drive that is an overlay of its own backing file
    got = {}
    for label, binary in emus:
        for cmd in ('commit virtio0', 'commit all'):
            got[(label, cmd)] = run_overlay_commit(label, binary, cmd)
    if QEMU:
        tap(all(got[('strata-vm', c)] == got[('QEMU', c)] for c in ('commit virtio0', 'commit all')),
            'overlay drives: the overlay\'s own extents and the backing data equal QEMU 7.2\'s',
            repr([got[k][0] for k in sorted(got)]))
    # an internal snapshot taken into the -snapshot overlay survives the commit (QEMU 7.2 empties
    # the overlay, keeping its snapshots) and loads afterwards
    snaps = {}
    for label, binary in emus:
        img = new_image('%s-snapcommit.qcow2' % label, 'qcow2')
        proc, s, m = start(binary, img, 'qcow2', 'sc')
        s.until(b'A written\n')
        got = m.hmp('savevm s1') + m.hmp('commit virtio0')
        info = m.hmp('info snapshots')
        got += m.hmp('loadvm s1') + m.hmp('info status')
        m.sock.sendall(b'quit\n')
        rc, _ = finish(proc)
        names = [ln.split()[1] for ln in info.splitlines()[2:] if len(ln.split()) > 1]
        tap(got == 'VM status: running\n' and names == ['s1'] and rc == 0,
            '%s -snapshot: savevm s1, commit, s1 still listed and loads' % label, got + info)
        snaps[label] = (info.splitlines()[:2], names)
        sec = sectors(img, 'qcow2')
        tap(sec(0) == pattern('A', 0) and qemu_img_check(img, 'qcow2'),
            '%s -snapshot: the commit wrote A, the image checks clean' % label)
    if QEMU:
        tap(snaps['strata-vm'] == snaps['QEMU'], 'snapshots after the commit as QEMU 7.2\'s', repr(snaps))
    # errors
    img = new_image('err.qcow2', 'qcow2')
    proc, s, m = start(VM, img, 'qcow2', 'e')
    s.until(b'A written\n')
    got = m.hmp('commit nope') + m.hmp('commit')
    m.sock.sendall(b'quit\n')
    finish(proc)
    tap(got == "Device 'nope' not found\ncommit: block device name expected\n"
        'Try "help commit" for more information\n', 'commit errors as QEMU\'s', got)
    # Ctrl-A s on the mux
    for label, binary in emus:
        img = new_image('%s-ctrla.qcow2' % label, 'qcow2')
        proc, s, _ = start(binary, img, 'qcow2', 'a', serial_mux=True)
        s.until(b'A written\n')
        s.sock.sendall(b'\x01s')
        time.sleep(0.5)
        s.sock.sendall(b'x')
        out = s.until(b'B written, A ok\n').decode()
        s.sock.sendall(b'\x01x')
        rc, _ = finish(proc)
        sec = sectors(img, 'qcow2')
        tap(sec(0) == pattern('A', 0) and sec(4096) == pattern('A', 4096) and sec(100) == bytes(512)
            and qemu_img_check(img, 'qcow2') and rc == 0, '%s: Ctrl-A s commits, the guest runs on' % label, out)


try:
    main()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
plan()
