"""The Linux half of tests/vm/savevm.sh on qemu-system-riscv64, run by hand for comparison: Debian's kernel
with a busybox shell as init runs a `sleep 1` loop printing /proc/uptime; savevm, 3 ticks,
loadvm, then up to 30 s for 3 more ticks. Prints "ticks after loadvm: N" and "uptimes: ...".
usage: savevm-qemu-linux.py GUEST_DIR FIRMWARE IMAGE MONITOR_SOCKET"""
import os, socket, subprocess, sys, time, re, select
G, fw, img, sock = sys.argv[1:5]
q = subprocess.Popen(["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", "1", "-nographic", "-bios", fw,
    "-kernel", G + "/Image", "-initrd", G + "/initrd.gz", "-append", "console=ttyS0 quiet rdinit=/bin/busybox sh",
    "-monitor", "unix:%s,server=on,wait=off" % sock, "-serial", "stdio",
    "-drive", "file=%s,if=none,id=d0,format=qcow2" % img, "-device", "virtio-blk-device,drive=d0"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out = b""
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([q.stdout], [], [], 0.1)
        if r:
            d = os.read(q.stdout.fileno(), 65536)
            if not d: break
            out += d
def ticks(frm):
    return re.findall(rb"tick ([0-9.]+)", out[frm:])
def wait_ticks(frm, n, t):
    end = time.time() + t
    while time.time() < end and len(ticks(frm)) < n: pump(0.2)
    return ticks(frm)
end = time.time() + 120
while time.time() < end and b"# " not in out: pump(0.2)
q.stdin.write(b"/bin/busybox --install -s /bin; mount -t proc proc /proc; while :; do echo tick $(cut -d' ' -f1 /proc/uptime); sleep 1; done\n"); q.stdin.flush()
wait_ticks(0, 2, 60)
s = socket.socket(socket.AF_UNIX); s.connect(sock); s.settimeout(60)
def cmd(c):
    buf = b""
    if c: s.sendall(c.encode() + b"\n")
    while not buf.endswith(b"(qemu) "):
        buf += s.recv(65536)
    return buf
cmd(None)
cmd("savevm lx"); at = len(out)
wait_ticks(at, 3, 30)
cmd("loadvm lx"); at = len(out)
t = wait_ticks(at, 3, 30)
print("ticks after loadvm: %d" % len(t))
print("uptimes: " + " ".join(x.decode() for x in t))
cmd("quit")
q.wait(timeout=30)
