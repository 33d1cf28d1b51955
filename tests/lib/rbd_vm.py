#!/usr/bin/env python3
"""Runs the bare-metal guest tests/vm/guest/diskwrite.c on one emulator with its disk on an
RBD image (a -drive file=rbd:... name), bounded: waits for "A written", sends the byte that
lets it read back and write B, waits for "B written, A ok", then stops the emulator by pid.
Prints the guest's output; exit 0 when the guest saw its own writes.
Usage: rbd_vm.py EMULATOR ELF DRIVE_FILE TMPDIR"""
import os, socket, subprocess, sys, time

EMU, ELF, DRIVE, TMP = sys.argv[1:5]
ser = os.path.join(TMP, 'rbd-vm-%d.ser' % os.getpid())
args = [EMU, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-display', 'none',
        '-drive', 'file=%s,format=raw,if=none,id=virtio0' % DRIVE,
        '-device', 'virtio-blk-device,drive=virtio0',
        '-serial', 'unix:%s,server=on,wait=on' % ser, '-monitor', 'none']
proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
buf = b''
ok = False
try:
    s = None
    for _ in range(800):
        if proc.poll() is not None:
            break
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(ser)
            break
        except OSError:
            s.close()
            s = None
            time.sleep(0.05)
    if s is None:
        raise RuntimeError('no serial socket')

    def until(pat, timeout=60.0):
        global buf
        end = time.time() + timeout
        while pat not in buf and b'BAD' not in buf and b'failed' not in buf:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError(repr(buf[-200:]))
            s.settimeout(left)
            d = s.recv(4096)
            if not d:
                raise EOFError(repr(buf[-200:]))
            buf += d
        return pat in buf

    if until(b'A written\n'):
        s.sendall(b'x')
        ok = until(b'B written, A ok\n')
except Exception as e:  # reported below; the emulator is stopped either way
    print('# error: %s' % e)
finally:
    proc.kill()
    out = proc.communicate(timeout=30)[0]
sys.stdout.write(buf.decode('latin1'))
if out:
    sys.stdout.write('# emulator: ' + out.decode('latin1')[-500:].replace('\n', '\n# ') + '\n')
sys.exit(0 if ok else 1)
