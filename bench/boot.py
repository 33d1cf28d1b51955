"""Driver of bench/boot.sh: one boot of one emulator, measured; prints one line of key=value.
usage: boot.py test EMULATOR GUEST_DIR TMP      the test guest: power-on to poweroff (strata.test=boot)
       boot.py debian EMULATOR DEBIAN_DIR TMP   Debian: power-on to login:, root login, disk
                                                throughput on a second (qcow2) disk, `systemctl
                                                poweroff` to the process's exit
Fields: wall (s, power-on to exit), cpu (user+sys s of the emulator), rss (peak KiB), and for the
test guest uptime (the guest's own kernel-start-to-poweroff seconds), for Debian login_wall,
login_cpu (at the first login:), off_wall (systemctl poweroff to exit) and the guest's disk
figures on an empty 1 GiB qcow2 data disk: seq_write and seq_read (MB/s, dd of 256 MiB in 1 MiB
blocks with O_DIRECT) and rand_read (4 KiB reads per second: 4096 reads at random 4 KiB offsets
of the written 256 MiB through the block device with readahead off and the page cache dropped,
one at a time as fio's psync engine at depth 1; Debian's image has no fio). Timed on the host
from the command sent to its end marker on the serial console.
env: BOOT_TIMEOUT (s), BOOT_SMP (-smp, default 1), BOOT_DISK=0 (Debian without the disk figures)"""
import os, re, resource, socket, subprocess, sys, time

KIND, EMU, G, TMP = sys.argv[1:5]
FW = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin'
TIMEOUT = float(os.environ.get('BOOT_TIMEOUT', '900'))
SMP = os.environ.get('BOOT_SMP', '1')  # -smp; both emulators' defaults then (a thread per hart)
DISK = os.environ.get('BOOT_DISK', '1') != '0'  # 0: Debian without the disk figures


def cpu_of(pid):
    """user+sys seconds of a running process (/proc/PID/stat fields 14 and 15)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def finish(p, t0, drain=None):
    """Waits for the emulator (calling drain, if given, while it runs); (wall, cpu, peak rss KiB,
    exit status), or None on a timeout."""
    end = time.time() + TIMEOUT
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            return time.time() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)
        if time.time() > end:
            p.kill()
            return None
        if drain:
            drain()
        time.sleep(0.02)


def common(kernel, initrd, append, disk):
    return [EMU, '-M', 'virt', '-smp', SMP, '-bios', FW, '-kernel', kernel, '-initrd', initrd, '-append', append,
            '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % disk, '-device', 'virtio-blk-device,drive=hd0']


def test_guest():
    log = os.path.join(TMP, 'test-boot.log')
    cmd = common(os.path.join(G, 'Image'), os.path.join(G, 'initrd.gz'),
                 'root=/dev/vda console=ttyS0 quiet strata.test=boot', os.path.join(G, 'rootfs.qcow2'))
    cmd += ['-m', '256M', '-nographic', '-no-reboot', '-snapshot']
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(log, 'wb'), stderr=subprocess.STDOUT)
    r = finish(p, t0)
    out = open(log, 'rb').read().decode('latin-1')
    m = re.search(r'STRATA uptime ([0-9.]+)', out)
    if r is None or r[3] != 0 or not m:
        sys.exit('test guest did not power off: %s' % out[-500:])
    print('wall=%.2f cpu=%.2f rss=%d uptime=%s' % (r[0], r[1], r[2], m.group(1)))


def debian():
    disk = os.path.join(TMP, 'debian-top.qcow2')
    if os.path.exists(disk):
        os.unlink(disk)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', os.path.join(G, 'root.qcow2'), '-F', 'qcow2',
                    disk], check=True)
    ser = os.path.join(TMP, 'debian-ser.sock')
    data = os.path.join(TMP, 'debian-data.qcow2')
    if os.path.exists(data):
        os.unlink(data)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', data, '1G'], check=True)
    cmd = common(os.path.join(G, 'vmlinux'), os.path.join(G, 'initrd.img'), 'root=/dev/vda rw console=ttyS0', disk)
    cmd += ['-drive', 'file=%s,format=qcow2,if=none,id=hd1' % data, '-device', 'virtio-blk-device,drive=hd1']
    cmd += ['-m', '1G', '-display', 'none', '-monitor', 'none', '-serial', 'unix:%s,server,nowait' % ser]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = socket.socket(socket.AF_UNIX)
    while True:
        try:
            s.connect(ser)
            break
        except OSError:
            if time.time() - t0 > 30 or p.poll() is not None:
                sys.exit('no serial socket')
            time.sleep(0.02)
    buf = b''
    log = open(os.path.join(TMP, 'debian-%s.console' % os.path.basename(EMU)), 'wb')

    def until(pattern):
        nonlocal buf
        rx = re.compile(pattern)
        end = time.time() + TIMEOUT
        while not rx.search(buf):
            s.settimeout(max(0.1, end - time.time()))
            data = s.recv(65536)
            if not data or time.time() > end:
                p.kill()
                sys.exit('Debian: no %r; last output: %r' % (pattern, buf[-300:]))
            buf += data
            log.write(data)
            log.flush()
        buf = buf[rx.search(buf).end():]

    until(rb'login: $')
    login_wall, login_cpu = time.time() - t0, cpu_of(p.pid)
    s.sendall(b'root\n')
    until(rb'Password: $')
    s.sendall(b'strata\n')
    until(rb'# $')
    disk_figures = disk_bench(s, until) if DISK else ''
    t_off = time.time()
    s.sendall(b'systemctl poweroff\n')
    s.setblocking(False)

    def drain():  # the console up to the end, for the log
        try:
            log.write(s.recv(65536))
            log.flush()
        except OSError:
            pass
    r = finish(p, t0, drain)
    if r is None or r[3] != 0:
        sys.exit('Debian did not power off (%r); the guest\'s disk figures: %s' % (r, disk_figures))
    print('wall=%.2f cpu=%.2f rss=%d login_wall=%.2f login_cpu=%.2f off_wall=%.2f %s' %
          (r[0], r[1], r[2], login_wall, login_cpu, time.time() - t_off, disk_figures))


# The data disk is the vd* of 1 GiB (2097152 sectors); the shell's $D names it.
FIND_DATA = 'for d in /sys/block/vd*; do [ "$(cat $d/size)" = 2097152 ] && D=/dev/${d##*/}; done; echo "DATA=$D"\n'
RAND_READS = 4096
RAND_PERL = ('perl -e \'sysopen(F, $ARGV[0], 0) or die; srand(7); for (1..%d) { sysseek(F, int(rand(65536)) * 4096, 0); '
             'sysread(F, $b, 4096) == 4096 or die "short read" }\' $D' % RAND_READS)


def disk_bench(s, until):
    """Runs the three disk figures in the logged-in root shell; 'seq_write=.. seq_read=.. rand_read=..'."""
    def timed(cmd, tag):
        s.sendall(('%s; echo "END-%s $?"\n' % (cmd, tag)).encode())
        t = time.time()
        until(rb'END-' + tag.encode() + rb' 0\r?\n')
        return time.time() - t
    s.sendall(FIND_DATA.encode())
    until(rb'DATA=/dev/vd[a-z]+\r?\n')
    mib = 256
    w = timed('dd if=/dev/zero of=$D bs=1M count=%d oflag=direct 2>/dev/null' % mib, 'w')
    r = timed('dd if=$D of=/dev/null bs=1M count=%d iflag=direct 2>/dev/null' % mib, 'r')
    timed('blockdev --setra 0 $D && sync && echo 3 >/proc/sys/vm/drop_caches', 'prep')
    q = timed(RAND_PERL, 'q')
    until(rb'# $')
    return 'seq_write=%.1f seq_read=%.1f rand_read=%.0f' % (mib * 1.048576 / w, mib * 1.048576 / r, RAND_READS / q)


test_guest() if KIND == 'test' else debian()
