"""Driver of tests/guest/savevm.sh: a Linux shell on a serial socket and HMP on a monitor socket.
usage: savevm.py STRATA_VM GUEST_DIR TMP TIMEOUT"""
import os, re, subprocess, sys, time

VM, G, TMP, TIMEOUT = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import vmtest  # noqa: E402
from vmtest import Sock, reap, stop, tap  # noqa: E402


def start(tag, extra):
    ser, mon = os.path.join(TMP, tag + '-ser.sock'), os.path.join(TMP, tag + '-mon.sock')
    cmd = [VM, '-M', 'virt', '-m', '256M', '-display', 'none',
           '-serial', 'unix:%s,server,nowait' % ser, '-monitor', 'unix:%s,server,nowait' % mon,
           '-kernel', os.path.join(G, 'Image'), '-initrd', os.path.join(G, 'initrd.gz'),
           '-append', 'root=/dev/vda console=ttyS0 quiet strata.test=shell',
           '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % os.path.join(TMP, 'top.qcow2'),
           '-device', 'virtio-blk-device,drive=hd0'] + extra
    log = open(os.path.join(TMP, tag + '.err'), 'w')
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 20
    return p, Sock(ser, deadline), Sock(mon, deadline)


def hmp(m, cmd):
    m.send(cmd + '\n')
    out = m.until(r'\(qemu\) $', 60)
    return out


PROMPT = r'strata\$ '
p, s, m = start('run', [])
try:
    booted = s.until(PROMPT, TIMEOUT)
    tap(booted is not None, 'Linux boots to the shell prompt on the serial socket')
    banner = m.until(r'\(qemu\) $', 10)
    tap(banner is not None and 'QEMU 7.2' in banner, 'the HMP monitor greets on its socket', banner)
    s.send('echo ready$((40+2))\n')
    tap(s.until(r'ready42\r?\n' + PROMPT, 30) is not None, 'the shell answers before savevm')
    out = hmp(m, 'savevm s1')
    tap(out is not None and 'Error' not in out, 'HMP savevm s1 at the shell prompt', out)
    out = hmp(m, 'info snapshots')
    tap(out is not None and re.search(r'\n--\s+s1\s', out) is not None, 'info snapshots lists s1', out)
    s.send('echo written >/savevm-file; sync; cat /savevm-file\n')
    tap(s.until(r'written\r?\n' + PROMPT, 30) is not None, 'the guest writes a file and syncs')
    out = hmp(m, 'loadvm s1')
    tap(out is not None and 'Error' not in out, 'HMP loadvm s1 into the running guest', out)
    s.buf = b''
    s.send('cat /savevm-file; echo answer$((6*7))\n')
    back = s.until(r'answer42\r?\n' + PROMPT, 30)
    tap(back is not None and 'No such file' in back and 'written' not in back.replace('echo written', ''),
        'after loadvm the file is gone and the shell answers', back)
    s.send('sleep 1; echo slept$((1+1))\n')
    tap(s.until(r'slept2\r?\n' + PROMPT, 30) is not None, "after loadvm the guest's timer ticks (sleep 1 returns)")
    s.send('exit\n')
    rc = stop(p, TIMEOUT)
    tap(rc == 0, 'the guest powers off when the shell exits, exit status 0 (got %r)' % rc)
finally:
    reap(p)

chk = subprocess.run(['qemu-img', 'check', os.path.join(TMP, 'top.qcow2')], capture_output=True, text=True)
tap(chk.returncode == 0, 'qemu-img check passes on the overlay', chk.stdout + chk.stderr)
lst = subprocess.run(['qemu-img', 'snapshot', '-l', os.path.join(TMP, 'top.qcow2')], capture_output=True, text=True)
row = re.search(r'^\d+\s+s1\s+(\S+ \S+)', lst.stdout, re.M)
tap(row is not None and row.group(1) != '0 B', 'qemu-img snapshot -l lists s1 with its VM state (%s)' %
    (row.group(1) if row else '-'), lst.stdout)

# the same snapshot started by a fresh process
p, s, m = start('fresh', ['-loadvm', 's1'])
try:
    s.send('cat /savevm-file; echo fresh$((6*7))\n')
    back = s.until(r'fresh42\r?\n' + PROMPT, 60)
    tap(back is not None and 'No such file' in back, 'strata-vm -loadvm s1: the shell answers where it was saved', back)
    s.send('exit\n')
    rc = stop(p, TIMEOUT)
    tap(rc == 0, '-loadvm run powers off cleanly (got %r)' % rc)
finally:
    reap(p)
chk = subprocess.run(['qemu-img', 'check', os.path.join(TMP, 'top.qcow2')], capture_output=True, text=True)
tap(chk.returncode == 0, 'qemu-img check passes after the -loadvm run', chk.stdout + chk.stderr)
vmtest.plan()
