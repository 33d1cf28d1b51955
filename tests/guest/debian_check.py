"""Driver of tests/guest/debian-check.sh: the Debian image of `make debian-image` booted the way a
user does it, serial console and HMP monitor on unix sockets, ssh through user networking.
usage: debian_check.py DEBIAN_DIR TMP
env: STRATA_VM, STRATA_IMG, QEMU, QEMU_IMG, FW, BOOT_TIMEOUT (s), SSH_PORT, DEBIAN_QEMU=0 (no
qemu-system-riscv64 boot), DEBIAN_STRATA=0 (only that one), DEBIAN_SMP=0 (no -smp 2 boots; =only: only those),
DEBIAN_SMP_MODES (default "multi single": the -smp 2 boots, by -accel tcg,thread=)"""
import hashlib, os, re, shutil, socket, subprocess, sys, time

D, TMP = sys.argv[1], sys.argv[2]
VM, IMG = os.environ['STRATA_VM'], os.environ['STRATA_IMG']
QEMU, QEMU_IMG = os.environ.get('QEMU', 'qemu-system-riscv64'), os.environ.get('QEMU_IMG', 'qemu-img')
FW = os.environ['FW']
TIMEOUT = float(os.environ.get('BOOT_TIMEOUT', '900'))
LOGIN = r'login: $'
PROMPT = r'root@strata-debian:~# $'
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import vmtest  # noqa: E402
from vmtest import note  # noqa: E402


def tap(cond, name, diag=''):
    return vmtest.tap(cond, name, diag, keep=2000)


def console_text(data):
    text = data.decode('utf-8', 'replace').replace('\r', '')
    return re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', text)  # bash's bracketed-paste switches


def Sock(path, deadline, log):
    """The serial console or HMP socket; everything received is also kept in log."""
    return vmtest.Sock(path, deadline, log, re.M, console_text)


class Guest:
    def __init__(self, tag, emu, disk, extra, smp=1):
        ser, mon = os.path.join(TMP, tag + '-ser.sock'), os.path.join(TMP, tag + '-mon.sock')
        cmd = [emu, '-M', 'virt', '-m', '1G', '-smp', str(smp), '-display', 'none', '-bios', FW,
               '-serial', 'unix:%s,server,nowait' % ser, '-monitor', 'unix:%s,server,nowait' % mon,
               '-kernel', os.path.join(D, 'vmlinux'), '-initrd', os.path.join(D, 'initrd.img'),
               '-append', 'root=/dev/vda rw console=ttyS0',
               '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % disk,
               '-device', 'virtio-blk-device,drive=hd0'] + extra
        self.err = open(os.path.join(TMP, tag + '.err'), 'w')
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        deadline = time.time() + 30
        self.ser = Sock(ser, deadline, open(os.path.join(TMP, tag + '.console'), 'ab'))
        self.mon = Sock(mon, deadline, None)
        self.mon.until(r'\(qemu\) $', 30)

    def hmp(self, cmd, seconds=300):
        self.mon.send(cmd + '\n')
        return self.mon.until(r'\(qemu\) $', seconds)

    def login(self, seconds=120):
        """At a login: prompt: root/strata; True once the shell prompt is there."""
        self.ser.send('root\n')
        if self.ser.until(r'Password: $', seconds) is None:
            return False
        self.ser.send('strata\n')
        if self.ser.until(PROMPT, seconds) is None:
            return False
        # no terminal queries or colours in what the test reads back
        return self.run('export TERM=dumb; stty -echo cols 200')[0] == 0

    def run(self, command, seconds=120):
        """Runs a shell command line at the prompt; (status, output) or (None, what arrived)."""
        self.ser.buf = b''
        self.ser.send(command + '; echo "@@rc=$?@@"\n')
        # the raw stream: CR LF, and bash's bracketed-paste switch before the prompt
        text = self.ser.until(r'@@rc=(\d+)@@\r?\n(?:\x1b\[[0-9;?]*[A-Za-z])*' + PROMPT, seconds)
        if text is None:
            return None, self.ser.buf.decode('utf-8', 'replace')
        m = re.search(r'@@rc=(\d+)@@', text)
        out = text[:m.start()]
        # the echoed command line (when echo is on) ends with the marker's source text
        out = out.split('@@rc=$?@@"\n', 1)[-1]
        return int(m.group(1)), out.strip('\n')

    def wait(self, seconds):
        try:
            return self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def free_port(want):
    for port in [want] + list(range(want + 1, want + 200)):
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            pass
        finally:
            s.close()
    return want


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def checks(label, path):
    for tool in (IMG, QEMU_IMG):
        r = subprocess.run([tool, 'check', '-f', 'qcow2', path], capture_output=True, text=True)
        tap(r.returncode == 0, '%s: %s check passes on %s' % (label, os.path.basename(tool), os.path.basename(path)),
            r.stdout + r.stderr)


def overlay(name):
    path = os.path.join(TMP, name)
    subprocess.run([IMG, 'create', '-q', '-f', 'qcow2', '-b', os.path.join(D, 'root.qcow2'), '-F', 'qcow2', path],
                   check=True)
    return path


def ssh(port, key, command, seconds):
    """ssh retried until it answers (the guest's DHCP and sshd start after login: appears)."""
    end = time.time() + seconds
    r = None
    while time.time() < end:
        try:
            r = subprocess.run(['ssh', '-i', key, '-p', str(port), '-o', 'StrictHostKeyChecking=no',
                                '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
                                '-o', 'ConnectTimeout=30', 'root@127.0.0.1', command],
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as e:
            r = subprocess.CompletedProcess(e.cmd, 255, '', 'timeout')
        if r.returncode == 0:
            return r
        time.sleep(3)
    return r


def strata_run():
    base_sum = sha256(os.path.join(D, 'root.qcow2'))
    top = overlay('top.qcow2')
    key = os.path.join(TMP, 'id_ed25519')
    shutil.copy(os.path.join(D, 'id_ed25519'), key)
    os.chmod(key, 0o600)
    port = free_port(int(os.environ.get('SSH_PORT', '2222')))
    g = Guest('strata', VM, top, ['-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22' % port,
                                  '-device', 'virtio-net-device,netdev=n0'])
    try:
        text = g.ser.until(LOGIN, TIMEOUT)
        t_login = time.time() - g.t0
        if not tap(text is not None, 'strata-vm: Debian boots with systemd to login: on the serial console (%.0f s)' %
                   t_login, g.ser.buf.decode('utf-8', 'replace')):
            return
        # the monitor at the login prompt: savevm, loadvm, the prompt answers again
        out = g.hmp('savevm login')
        tap(out is not None and 'Error' not in out, 'HMP savevm at the login prompt', out)
        out = g.hmp('loadvm login')
        tap(out is not None and 'Error' not in out, 'HMP loadvm of that snapshot', out)
        g.ser.buf = b''
        g.ser.send('\n')
        back = g.ser.until(LOGIN, 60)
        tap(back is not None, 'after loadvm the login prompt answers again', g.ser.buf)
        tap(g.login(), 'root logs in on the serial console', g.ser.buf)
        rc, out = g.run('systemctl is-system-running --wait', 600)
        state = (out or '').strip().splitlines()[-1:] or ['?']
        state = state[0]
        failed = ''
        if state != 'running':
            rc2, failed = g.run('systemctl --failed --no-legend --plain --no-pager')
            note('failed units:\n' + (failed or '(none)'))
            for unit in re.findall(r'^(\S+)', failed or '', re.M):
                note(g.run('systemctl status --no-pager -n 8 %s 2>&1 | tail -n 12' % unit)[1] or '')
        tap(state == 'running' or (state == 'degraded' and failed.strip() != ''),
            'systemctl is-system-running: %s%s' % (state, ' (failed: %s)' % ' '.join(re.findall(r'^(\S+)', failed, re.M))
                                                   if failed else ''), out)
        rc, out = g.run('uname -m; echo $((6*7))')
        tap(rc == 0 and out.split() == ['riscv64', '42'], 'commands run in the serial login shell', out)
        rc, out = g.run('apt-get --version | head -n 1')
        tap(rc == 0 and re.match(r'apt \d+\.\d+', out or '') is not None, 'apt-get --version: %s' % (out or ''), out)
        token = 'survives-%d' % os.getpid()
        rc, out = g.run('echo %s >/root/reboot-file && sync && cat /root/reboot-file' % token)
        tap(rc == 0 and out == token, 'the guest writes a file and syncs', out)
        r = ssh(port, key, 'uname -n; cat /root/reboot-file', 240)
        tap(r is not None and r.returncode == 0 and r.stdout.split() == ['strata-debian', token],
            'ssh -p %d root@127.0.0.1 through hostfwd runs a command' % port,
            (r.stdout + r.stderr) if r else 'no ssh run')
        g.ser.buf = b''
        g.ser.send('systemctl reboot\n')
        text = g.ser.until(LOGIN, TIMEOUT)
        tap(text is not None and g.p.poll() is None, 'systemctl reboot: the same process boots again to login:',
            g.ser.buf)
        if text is not None:
            g.login()
            rc, out = g.run('cat /root/reboot-file')
            tap(rc == 0 and out == token, 'the file written before the reboot is there after it', out)
        g.ser.buf = b''
        t_off = time.time()
        g.ser.send('systemctl poweroff\n')
        rc = g.wait(300)
        tap(rc == 0, 'systemctl poweroff ends strata-vm with exit status 0 (got %r, %.0f s)' % (rc, time.time() - t_off),
            g.ser.buf)
    finally:
        g.kill()
    checks('strata-vm', top)
    checks('strata-vm', os.path.join(D, 'root.qcow2'))
    tap(sha256(os.path.join(D, 'root.qcow2')) == base_sum, 'the backing image is unchanged')
    r = subprocess.run([QEMU_IMG, 'snapshot', '-l', top], capture_output=True, text=True)
    tap(re.search(r'^\d+\s+login\s', r.stdout, re.M) is not None, 'qemu-img snapshot -l lists the login snapshot',
        r.stdout + r.stderr)


def smp2_run(mode):
    """-smp 2 with a host thread per hart (mode 'multi', the default, as QEMU's MTTCG) or both
    harts taking turns on one thread (mode 'single'): login:, both harts online, systemd
    running, a command, poweroff with exit 0, the overlay checks clean."""
    label = 'strata-vm -smp 2 thread=%s' % mode
    top = overlay('smp2-%s.qcow2' % mode)
    g = Guest('smp2-' + mode, VM, top, [] if mode == 'multi' else ['-accel', 'tcg,thread=' + mode], smp=2)
    try:
        text = g.ser.until(LOGIN, TIMEOUT)
        if not tap(text is not None, '%s: Debian boots to login: (%.0f s)' % (label, time.time() - g.t0),
                   g.ser.buf.decode('utf-8', 'replace')):
            return
        tap(g.login(), '%s: root logs in' % label, g.ser.buf)
        rc, out = g.run('nproc; grep -c ^processor /proc/cpuinfo')
        tap(rc == 0 and (out or '').split() == ['2', '2'], '%s: both harts online (nproc, cpuinfo)' % label, out)
        rc, out = g.run('systemctl is-system-running --wait', 600)
        state = ((out or '').strip().splitlines()[-1:] or ['?'])[0]
        failed = ''
        if state != 'running':
            failed = g.run('systemctl --failed --no-legend --plain --no-pager')[1] or ''
            note('%s: failed units:\n%s' % (label, failed or '(none)'))
        tap(state == 'running' or (state == 'degraded' and failed.strip() != ''),
            '%s: systemctl is-system-running: %s%s' % (label, state, ' (failed: %s)' % ' '.join(
                re.findall(r'^(\S+)', failed, re.M)) if failed else ''), out)
        # work on both harts at once: two shells hashing in parallel, and the shell still answers
        # (in a subshell: no job-control lines in the output)
        rc, out = g.run('(for i in 1 2; do (head -c 8M /dev/zero | sha256sum) & done; wait); uname -m', 600)
        sums = re.findall(r'^([0-9a-f]{64})  -$', out or '', re.M)
        tap(rc == 0 and (out or '').split()[-1:] == ['riscv64'] and
            sums == [hashlib.sha256(bytes(8 << 20)).hexdigest()] * 2,
            '%s: two sha256sum processes in parallel give the host\'s digest, then a command' % label, out)
        g.ser.buf = b''
        t_off = time.time()
        g.ser.send('systemctl poweroff\n')
        rc = g.wait(300)
        tap(rc == 0, '%s: systemctl poweroff ends strata-vm with exit status 0 (got %r, %.0f s)' %
            (label, rc, time.time() - t_off), g.ser.buf)
    finally:
        g.kill()
    checks(label, top)


def qemu_run():
    top = overlay('qemu-top.qcow2')
    g = Guest('qemu', QEMU, top, [])
    try:
        text = g.ser.until(LOGIN, TIMEOUT)
        tap(text is not None, 'qemu-system-riscv64: the same image boots to login: (%.0f s)' % (time.time() - g.t0),
            g.ser.buf)
        if text is None:
            return
        tap(g.login(), 'qemu-system-riscv64: root logs in', g.ser.buf)
        rc, out = g.run('systemctl is-system-running --wait', 600)
        note('qemu-system-riscv64: is-system-running: %s' % (out or '').strip())
        g.ser.send('systemctl poweroff\n')
        rc = g.wait(300)
        tap(rc == 0, 'qemu-system-riscv64: systemctl poweroff ends it with status 0 (got %r)' % rc)
    finally:
        g.kill()
    checks('qemu-system-riscv64', top)


SMP = os.environ.get('DEBIAN_SMP', '1')
if os.environ.get('DEBIAN_STRATA', '1') != '0' and SMP != 'only':
    strata_run()
if os.environ.get('DEBIAN_STRATA', '1') != '0' and SMP != '0':
    for mode in os.environ.get('DEBIAN_SMP_MODES', 'multi single').split():
        smp2_run(mode)
if os.environ.get('DEBIAN_QEMU', '1') != '0' and SMP != 'only':
    qemu_run()
vmtest.plan()
sys.exit(1 if vmtest.failed else 0)
