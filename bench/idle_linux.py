"""Linux half of bench/idle.sh: boots the test guest (strata.test=shell) on one emulator with the
serial port on a unix socket, waits for the shell prompt, then measures the host CPU the process
uses while the guest sits idle at its prompt for SECONDS. Prints "CPU_MS WALL_MS".
usage: idle_linux.py EMULATOR GUEST_DIR TMP SECONDS"""
import os, socket, subprocess, sys, time

emu, g, tmp, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ser = os.path.join(tmp, 'idle-%d.sock' % os.getpid())
img = os.path.join(tmp, 'idle-%d.qcow2' % os.getpid())
subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', os.path.join(g, 'rootfs.qcow2'), '-F', 'qcow2', img],
               check=True)
fw = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin'
p = subprocess.Popen([emu, '-M', 'virt', '-m', '256M', '-display', 'none', '-bios', fw,
                      '-serial', 'unix:%s,server,nowait' % ser, '-monitor', 'none',
                      '-kernel', os.path.join(g, 'Image'), '-initrd', os.path.join(g, 'initrd.gz'),
                      '-append', 'root=/dev/vda console=ttyS0 quiet strata.test=shell',
                      '-drive', 'file=%s,format=qcow2,if=none,id=hd0' % img, '-device', 'virtio-blk-device,drive=hd0'],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_ms(pid):
    """CPU time of all the process's threads (QEMU's vCPU thread included) in ms, from
    schedstat's nanoseconds: /proc/PID/stat counts 10 ms ticks, too coarse for an idle guest."""
    ns = 0
    for t in os.listdir('/proc/%d/task' % pid):
        try:
            ns += int(open('/proc/%d/task/%s/schedstat' % (pid, t)).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return ns // 1000000


try:
    s = socket.socket(socket.AF_UNIX)
    end = time.time() + 20
    while True:
        try:
            s.connect(ser)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)
    buf, end = b'', time.time() + 300
    while b'strata$ ' not in buf and time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        buf += s.recv(4096)
    time.sleep(2)  # let boot-time work (module loading, udev-less init) settle
    c0, t0 = cpu_ms(p.pid), time.time()
    time.sleep(secs)
    c1, t1 = cpu_ms(p.pid), time.time()
    print(c1 - c0, int((t1 - t0) * 1000))
finally:
    p.kill()
    p.wait()
    os.unlink(img)
