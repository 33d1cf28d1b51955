"""Driver of tests/guest/smp.sh: the Linux test guest with several harts (-smp N), its shell on
a serial socket and HMP on a monitor socket.
usage: smp.py STRATA_VM GUEST_DIR TMP TIMEOUT"""
import hashlib, os, re, subprocess, sys, time

VM, G, TMP, TIMEOUT = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
QEMU = os.environ.get('QEMU', 'qemu-system-riscv64')
PROMPT = r'strata\$ '
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import vmtest  # noqa: E402
from vmtest import Sock, latin1_no_cr, reap, tap  # noqa: E402


def start(emu, tag, harts, extra):
    ser, mon = os.path.join(TMP, tag + '-ser.sock'), os.path.join(TMP, tag + '-mon.sock')
    disk = os.path.join(TMP, tag + '.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', os.path.join(G, 'rootfs.qcow2'), '-F', 'qcow2',
                    disk], check=True)
    cmd = [emu, '-M', 'virt', '-m', '256M', '-smp', str(harts), '-display', 'none',
           '-serial', 'unix:%s,server,nowait' % ser, '-monitor', 'unix:%s,server,nowait' % mon,
           '-kernel', os.path.join(G, 'Image'), '-initrd', os.path.join(G, 'initrd.gz'),
           '-append', 'root=/dev/vda console=ttyS0 quiet strata.test=shell',
           '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % disk,
           '-device', 'virtio-blk-device,drive=hd0'] + extra
    log = open(os.path.join(TMP, tag + '.err'), 'w')
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 20
    return p, Sock(ser, deadline, text=latin1_no_cr), Sock(mon, deadline, text=latin1_no_cr)


def sh(s, cmd, tag, seconds=120):
    """Runs a shell command; returns its output (between two marker lines), or None."""
    s.buf = b''
    s.send('echo "@@%s@@$((1+1))"; %s; echo "@@%s@@$((2+2))"\n' % (tag, cmd, tag))
    out = s.until('@@' + tag + r'@@4\r?\n' + PROMPT, seconds)
    if out is None:
        return None
    start = out.rfind('@@' + tag + '@@2\n')
    end = out.rfind('@@' + tag + '@@4\n')
    return out[start + len(tag) + 6:end] if 0 <= start < end else None


def stop(p, s):
    s.send('exit\n')
    return vmtest.stop(p, TIMEOUT)


ZERO_MD5 = hashlib.md5(bytes(16 << 20)).hexdigest()
WORK = ('for i in $(seq %d); do (dd if=/dev/zero bs=64k count=256 2>/dev/null | md5sum >/tmp/w$i) & done; wait; '
        'cat /tmp/w* | cut -d " " -f 1 | sort | uniq -c | tr -s " "')


def busy(stat):
    """/proc/stat cpuN lines -> {N: user+nice+system ticks}"""
    out = {}
    for m in re.finditer(r'^cpu(\d+) (\d+) (\d+) (\d+)', stat or '', re.M):
        out[int(m.group(1))] = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
    return out


def guest_checks(emu, name, harts, savevm, extra=()):
    p, s, m = start(emu, '%s%d' % (name, harts), harts, list(extra))
    try:
        if not tap(s.until(PROMPT, TIMEOUT) is not None, '%s -smp %d: Linux boots to the shell' % (name, harts)):
            return None
        m.until(r'\(qemu\) $', 20)
        # sorted: the hart that wins OpenSBI's boot lottery becomes cpu0, and on QEMU's
        # threaded harts that is sometimes hart 1 (cpuinfo then lists hart 1 first)
        cpus = sh(s, 'grep -c ^processor /proc/cpuinfo; grep "^hart[[:space:]]*:" /proc/cpuinfo | tr -d "\\t " | sort', 'ci')
        want = '%d\n' % harts + ''.join('hart:%d\n' % i for i in range(harts))
        tap(cpus == want, '%s -smp %d: /proc/cpuinfo lists %d harts' % (name, harts, harts), cpus)
        online = sh(s, 'cat /sys/devices/system/cpu/online', 'on')
        tap(online == ('0-%d\n' % (harts - 1)), '%s -smp %d: every hart online (%s)' % (name, harts, (online or '').strip()), online)
        before = busy(sh(s, 'cat /proc/stat', 'st0'))
        work = sh(s, WORK % (2 * harts), 'wk', 600)
        after = busy(sh(s, 'cat /proc/stat', 'st1'))
        tap(work == ' %d %s\n' % (2 * harts, ZERO_MD5), '%s -smp %d: %d parallel md5sum jobs agree with the host' %
            (name, harts, 2 * harts), work)
        moved = [c for c in range(harts) if after.get(c, 0) > before.get(c, 0)]
        tap(len(moved) == harts, '%s -smp %d: every hart ran guest work (busy ticks grew on %s)' % (name, harts, moved),
            '%r -> %r' % (before, after))
        result = (cpus, work)
        if savevm:
            m.send('savevm s1\n')
            out = m.until(r'\(qemu\) $', 120)
            tap(out is not None and 'Error' not in out, '%s -smp %d: HMP savevm s1' % (name, harts), out)
            sh(s, 'echo written >/tmp/after-save', 'wr')
            m.send('loadvm s1\n')
            out = m.until(r'\(qemu\) $', 120)
            tap(out is not None and 'Error' not in out, '%s -smp %d: HMP loadvm s1' % (name, harts), out)
            back = sh(s, 'cat /tmp/after-save 2>&1; ' + WORK % (2 * harts), 'lv', 600)
            tap(back is not None and "can't open '/tmp/after-save'" in back and
                (' %d %s' % (2 * harts, ZERO_MD5)) in back,
                '%s -smp %d: after loadvm the file is gone and every hart runs the parallel jobs' % (name, harts), back)
        rc = stop(p, s)
        tap(rc == 0, '%s -smp %d: the guest powers off, exit status 0 (got %r)' % (name, harts, rc))
        return result
    finally:
        reap(p)


ONLY = os.environ.get('SMP_ONLY', '')  # 'multi': only the thread=multi runs (debugging)
MULTI = ['-accel', 'tcg,thread=multi']
vm2 = guest_checks(VM, 'strata-vm', 2, True, ['-accel', 'tcg,thread=single']) if ONLY != 'multi' else None
if ONLY != 'multi':
    guest_checks(VM, 'strata-vm', 4, False, ['-accel', 'tcg,thread=single'])
# a host thread per hart: the same checks, savevm/loadvm included
mt2 = guest_checks(VM, 'strata-vm-multi', 2, True, MULTI)
guest_checks(VM, 'strata-vm-multi', 4, False, MULTI)
if ONLY == 'multi':
    vmtest.plan()
    sys.exit(0)
q2 = guest_checks(QEMU, 'qemu', 2, False)
tap(vm2 is not None and vm2 == q2, 'strata-vm and qemu-system-riscv64 -smp 2 print the same cpuinfo and job results',
    '%r\n%r' % (vm2, q2))
tap(mt2 is not None and mt2 == q2, 'strata-vm thread=multi and qemu-system-riscv64 -smp 2 print the same cpuinfo and job results',
    '%r\n%r' % (mt2, q2))

# the two-hart snapshot on a one-hart machine: refused with a clear message
disk = os.path.join(TMP, 'strata-vm2.qcow2')
r = subprocess.run([VM, '-M', 'virt', '-m', '256M', '-smp', '1', '-display', 'none', '-serial', 'none',
                    '-monitor', 'none', '-kernel', os.path.join(G, 'Image'), '-loadvm', 's1',
                    '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % disk, '-device', 'virtio-blk-device,drive=hd0'],
                   capture_output=True, text=True, timeout=120)
tap(r.returncode != 0 and 'VM state is for a machine with 2 harts, this machine has 1 (-smp)' in r.stderr,
    '-smp 1 -loadvm of a two-hart snapshot fails: %s' % r.stderr.strip().replace('\n', ' | '), r.stderr)
vmtest.plan()
