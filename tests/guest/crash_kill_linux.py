"""Driver of tests/guest/crash-kill.sh: SIGKILL strata-vm while the Linux test guest writes
to a qcow2 data disk with `dd ... conv=fsync` (fsync of the block device: the guest's page
cache written, then a VIRTIO_BLK_T_FLUSH), and check what survives.

One boot to the shell (serial and HMP on unix sockets), `savevm s0` at the prompt (both disks
get the snapshot; the data disk is still empty), then KILLS runs, the first in the booted
process and the others from `strata-vm -loadvm s0` (no boot each time; the data disk starts
empty again). In each, the shell writes 64 KiB block I (I = 1, 2, ...) at offset I * 64 KiB
and prints "SYNCED I" once dd's fsync returned; the host kills strata-vm after a few of them.
After each kill: `qemu-img check` of both images finds no corruption (exit 0, or 3: leaks
only), and the data disk holds every synced block intact, the next block either written or
not (each 4 KiB page: new or zero; its fsync had not returned) and nothing after it.

usage: crash_kill_linux.py STRATA_VM GUEST_DIR TMP TIMEOUT KILLS"""
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import vmtest  # noqa: E402
from vmtest import Sock, reap, tap  # noqa: E402

VM, G, TMP, TIMEOUT, KILLS = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
BLOCK = 65536
DATA_MIB = 32  # the root disk has 64 MiB: the guest finds the data disk by its size


def start(tag, extra):
    ser, mon = os.path.join(TMP, tag + '-ser.sock'), os.path.join(TMP, tag + '-mon.sock')
    cmd = [VM, '-M', 'virt', '-m', '256M', '-display', 'none',
           '-serial', 'unix:%s,server,nowait' % ser, '-monitor', 'unix:%s,server,nowait' % mon,
           '-kernel', os.path.join(G, 'Image'), '-initrd', os.path.join(G, 'initrd.gz'),
           '-append', 'root=/dev/vda console=ttyS0 quiet strata.test=shell',
           '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % os.path.join(TMP, 'top.qcow2'),
           '-device', 'virtio-blk-device,drive=hd0',
           '-drive', 'file=%s,format=qcow2,if=none,id=hd1' % os.path.join(TMP, 'data.qcow2'),
           '-device', 'virtio-blk-device,drive=hd1'] + extra
    log = open(os.path.join(TMP, tag + '.err'), 'w')
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 60
    return p, Sock(ser, deadline), Sock(mon, deadline)


def hmp(m, cmd):
    m.send(cmd + '\n')
    return m.until(r'\(qemu\) $', 120)


def block(i):
    line = b'blk %d.' % i
    return (line * (BLOCK // len(line) + 1))[:BLOCK]


def loop_cmd(direct):
    """The guest's write loop: block I, fsync (O_DIRECT too when DIRECT), "SYNCED I". The block
    is made without pipes: `yes | head` takes seconds in this guest, on QEMU 7.2 as well."""
    flag = ' oflag=direct' if direct else ''
    return ('D=; for d in /sys/block/vd*; do [ "$(cat $d/size)" = %d ] && D=/dev/${d##*/}; done; '
            'echo "DATA $D"; i=0; while [ $i -lt %d ]; do i=$((i+1)); '
            's="blk $i."; while [ ${#s} -lt %d ]; do s="$s$s"; done; printf %%s "$s" >/run/blk; '
            'dd if=/run/blk of=$D bs=%d count=1 seek=$i conv=fsync%s 2>/dev/null && echo "SYNCED $i"; done\n'
            % (DATA_MIB * 2048, DATA_MIB * 1024 * 1024 // BLOCK - 2, BLOCK, BLOCK, flag))


def check_image(path):
    r = subprocess.run(['qemu-img', 'check', path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    return r.returncode, r.stdout.decode(errors='replace')


def verify_data(synced):
    """Problems with the data disk: blocks 1..SYNCED intact, block SYNCED+1 new or zero page
    by page, everything else zero."""
    raw = os.path.join(TMP, 'data.raw')
    r = subprocess.run(['qemu-img', 'convert', '-O', 'raw', os.path.join(TMP, 'data.qcow2'), raw],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode:
        return ['qemu-img convert: ' + r.stdout.decode(errors='replace')]
    with open(raw, 'rb') as f:
        img = f.read()
    os.unlink(raw)
    errs = []
    zero_page = bytes(4096)
    for i in range(len(img) // BLOCK):
        got = img[i * BLOCK:(i + 1) * BLOCK]
        if 1 <= i <= synced:
            if got != block(i):
                errs.append('block %d was synced but does not hold its data' % i)
        elif i == synced + 1:
            want = block(i)
            for k in range(0, BLOCK, 4096):
                if got[k:k + 4096] not in (want[k:k + 4096], zero_page):
                    errs.append('block %d (in flight) page %d holds neither its data nor zeros' % (i, k // 4096))
                    break
        elif got != bytes(BLOCK):
            errs.append('block %d was never written but is not zero' % i)
        if len(errs) > 4:
            break
    return errs


def kill_run(r, p, s, rng, stats):
    """Starts the write loop at the shell prompt, kills strata-vm after a few synced blocks,
    checks the images. Returns True when the guest was writing at the kill."""
    direct = r % 2 == 1
    s.buf = b''
    s.send(loop_cmd(direct))
    want = rng.randint(1, 12)
    t1 = time.time()
    out = s.until(r'SYNCED %d\r?\n' % want, TIMEOUT)
    print('# run %d: %d blocks synced in %.1f s' % (r, want, time.time() - t1))
    time.sleep(rng.uniform(0, 0.05))
    p.send_signal(signal.SIGKILL)
    p.wait()
    try:
        while True:
            s.s.settimeout(1)
            data = s.s.recv(65536)
            if not data:
                break
            s.buf += data
    except OSError:
        pass
    text = (out or '') + s.buf.decode('latin-1')
    synced = max([int(x) for x in re.findall(r'SYNCED (\d+)\r?\n', text)] or [0])
    data_dev = re.search(r'DATA (/dev/vd\w+)', text)
    writing = out is not None and p.returncode == -signal.SIGKILL
    tap(writing and data_dev is not None, 'run %d%s: the guest wrote to %s, %d blocks synced, then '
        'SIGKILL' % (r, ' (O_DIRECT)' if direct else '', data_dev.group(1) if data_dev else '?', synced),
        text[-800:])
    for name in ('top', 'data'):
        rc, txt = check_image(os.path.join(TMP, name + '.qcow2'))
        stats['leaky'] += rc == 3
        tap(rc in (0, 3), 'run %d: qemu-img check of %s.qcow2 finds no corruption (exit %d)' % (r, name, rc), txt)
    errs = verify_data(synced)
    tap(not errs, 'run %d: the %d synced blocks are intact, nothing else written' % (r, synced),
        '\n'.join(errs))
    stats['synced'] += synced
    return writing


def main():
    seed = int(os.environ.get('CRASH_SEED', '0')) or random.randrange(1, 1 << 30)
    print('# seed %d' % seed)
    rng = random.Random(seed)
    stats = {'leaky': 0, 'synced': 0}
    kills = 0
    t0 = time.time()
    p, s, m = start('boot', [])
    try:
        ready = s.until(r'strata\$ ', TIMEOUT) is not None
        tap(ready, 'Linux boots to the shell prompt (%.0f s)' % (time.time() - t0))
        if not ready:
            return
        m.until(r'\(qemu\) $', 30)
        t1 = time.time()
        out = hmp(m, 'savevm s0')
        if not tap(out is not None and 'Error' not in out, 'savevm s0 at the prompt (%.0f s)' % (time.time() - t1), out):
            return
        kills += kill_run(1, p, s, rng, stats)
    finally:
        reap(p)
    for r in range(2, KILLS + 1):
        t1 = time.time()
        p, s, m = start('run%d' % r, ['-loadvm', 's0'])
        try:
            s.send('\n')
            back = s.until(r'strata\$ ', TIMEOUT) is not None
            if not tap(back, 'run %d: -loadvm s0 is back at the prompt (%.0f s)' % (r, time.time() - t1)):
                continue
            kills += kill_run(r, p, s, rng, stats)
        finally:
            reap(p)
    print('# %d kills of strata-vm with Linux writing, %d synced blocks checked, %d checks with '
          'leaked clusters, %.0f s' % (kills, stats['synced'], stats['leaky'], time.time() - t0))


if __name__ == '__main__':
    main()
    vmtest.plan()
    sys.exit(1 if vmtest.failed else 0)
