#!/usr/bin/env python3
"""The GDB stub of strata-vm on the host event loop, driven by a small RSP client and the HMP
monitor (unix socket), and the same session on qemu-system-riscv64 7.2 with the transcripts
compared (register and counter values masked). TAP on stdout.
Usage: gdbserver.py STRATA_VM COUNTER_ELF TMPDIR"""
import os, re, shutil, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from vmtest import MonitorEmu, Rsp, free_port, tap, plan  # noqa: E402

VM, ELF, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
QEMU = shutil.which('qemu-system-riscv64')
COUNTER = 0x80100000  # counter.S counts in this word


class Emu(MonitorEmu):
    def __init__(self, binary, tag, extra=()):
        b = os.path.basename(binary)
        super().__init__([binary, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-nographic'] + list(extra),
                         os.path.join(TMP, 'gdb-%s-%s.mon' % (b, tag)),
                         os.path.join(TMP, 'gdb-serial-%s-%s' % (b, tag)))

    def counter(self):
        m = re.search(r': (0x[0-9a-f]+)', self.hmp('xp /1g 0x%x' % COUNTER))
        return int(m.group(1), 16) if m else None


def wait_for(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def session(binary):
    """Runs the scenario; returns (transcript lines, facts) where facts are booleans about
    behaviour that must hold on both emulators."""
    t, facts = [], {}
    port = free_port()
    e = Emu(binary, 'run')
    try:
        t.append(e.hmp('gdbserver tcp::%d' % port))
        t.append(e.hmp('info status'))
        c1 = e.counter()
        facts['guest runs without a debugger'] = wait_for(lambda: e.counter() != c1)
        t.append(e.hmp('gdbserver tcp::%d' % port))  # a second stub: QEMU's error
        g = Rsp(('127.0.0.1', port))
        t.append('connect: ' + g.read_packet())  # the VM stopped: T02
        t.append(e.hmp('info status'))
        c1 = e.counter()
        time.sleep(0.3)
        facts['a debugger stops the guest'] = e.counter() == c1
        t.append('? ' + g.cmd('?'))
        regs = g.cmd('g')
        facts['g gives x0..x31 and pc'] = len(regs) == 33 * 16
        pc = int.from_bytes(bytes.fromhex(regs[32 * 16:]), 'little')
        a0 = int.from_bytes(bytes.fromhex(regs[10 * 16:11 * 16]), 'little')
        facts['a0 holds 0x1234'] = a0 == 0x1234
        mem = g.cmd('m%x,8' % COUNTER)
        facts['m reads the counter'] = int.from_bytes(bytes.fromhex(mem), 'little') == c1
        # QEMU answers p/P only after gdb has read its target description: strata-vm alone
        if binary == VM:
            facts['P then p of a3'] = (g.cmd('Pd=%s' % (0x5566).to_bytes(8, 'little').hex()) == 'OK' and
                                       g.cmd('pd') == (0x5566).to_bytes(8, 'little').hex())
        t.append('s ' + g.cmd('s'))
        t.append(e.hmp('info status'))
        regs2 = g.cmd('g')
        pc2 = int.from_bytes(bytes.fromhex(regs2[32 * 16:]), 'little')
        facts['a step moves pc by one instruction'] = pc2 in (pc + 2, pc + 4) or pc2 < pc
        # a breakpoint on the instruction we are at: continue runs the loop round to it
        t.append('Z0 ' + g.cmd('Z0,%x,4' % pc2))
        t.append('c ' + g.cmd('c'))
        regs3 = g.cmd('g')
        facts['continue stops at the breakpoint'] = int.from_bytes(bytes.fromhex(regs3[32 * 16:]), 'little') == pc2
        t.append(e.hmp('info status'))
        t.append('z0 ' + g.cmd('z0,%x,4' % pc2))
        g.send('c')
        time.sleep(0.2)
        t.append(e.hmp('info status'))
        c1 = e.counter()
        facts['continue runs the guest'] = wait_for(lambda: e.counter() != c1)
        g.s.sendall(b'\x03')
        t.append('ctrl-c: ' + g.read_packet())
        t.append(e.hmp('info status'))
        g.send('c')
        time.sleep(0.2)
        t.append(e.hmp('stop'))
        t.append('monitor stop: ' + g.read_packet())
        t.append(e.hmp('info status'))
        t.append('D ' + g.cmd('D'))
        t.append(e.hmp('info status'))
        t.append(e.hmp('gdbserver none'))
        facts['gdbserver none closes the connection'] = g.eof()
        t.append(e.hmp('gdbserver foo:bar'))
        path = os.path.join(TMP, 'gdb-%s.sock' % os.path.basename(binary))
        if os.path.exists(path):
            os.unlink(path)
        t.append(e.hmp('gdbserver unix:%s,server,nowait' % path).replace(path, 'PATH'))
        u = Rsp(path, socket.AF_UNIX)
        t.append('unix connect: ' + u.read_packet())
        t.append(e.hmp('info status'))
        t.append('unix ? ' + u.cmd('?'))
        u.send('c')
        c1 = e.counter()
        facts['continue over unix runs the guest'] = wait_for(lambda: e.counter() != c1)
        t.append(e.hmp('gdbserver none'))
        t.append(e.hmp('info status'))
        t.append(e.hmp('gdbserver none'))
    finally:
        e.close()
    # -S with -gdb: prelaunch until the debugger continues; no stop reply at connect
    port = free_port()
    e = Emu(binary, 'S', ['-S', '-gdb', 'tcp::%d' % port])
    try:
        t.append(e.hmp('info status'))
        g = Rsp(('127.0.0.1', port))
        t.append('-S ? ' + g.cmd('?'))
        t.append(e.hmp('info status'))
        g.send('c')
        time.sleep(0.2)
        t.append(e.hmp('info status'))
        c1 = e.counter()
        facts['-S: continue starts the guest'] = wait_for(lambda: e.counter() != c1)
        g.send('k')  # a byte while the VM runs only stops it (QEMU), then k kills
        t.append('byte while running: ' + g.read_packet())
        g.send('k')
        facts['k ends the emulator'] = e.proc.wait(timeout=10) == 0
    finally:
        e.close()
    return t, facts


def clean(lines):
    return '\n'.join(lines)


def main():
    t, facts = session(VM)
    for name, ok in facts.items():
        tap(ok, 'strata-vm: ' + name)
    expect = ["Waiting for gdb connection on device 'tcp::PORT'", 'VM status: running',
              'duplicate yank instance', "Could not open gdbserver on device 'tcp::PORT'",
              'connect: T02thread:01;', 'VM status: paused', '? T05thread:01;']
    text = re.sub(r'tcp::\d+', 'tcp::PORT', clean(t))
    tap(all(x in text for x in expect) and 'VM status: paused (debug)' in text,
        'strata-vm: HMP texts and stop replies', text)
    # -gdb errors at start-up as QEMU's
    r = subprocess.run([VM, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-nographic', '-gdb', 'foo:bar'],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    err = r.stderr.decode().replace(os.path.basename(VM) + ':', 'PROG:')
    tap(r.returncode == 1 and err == "PROG: -gdb foo:bar: 'foo:bar' is not a valid char driver\n",
        '-gdb foo:bar: error and exit 1', err)
    if not QEMU:
        tap(True, 'the same session on QEMU # SKIP qemu-system-riscv64 not installed')
        return
    qt, qfacts = session(QEMU)
    for name, ok in qfacts.items():
        tap(ok, 'QEMU: ' + name)
    qtext = re.sub(r'tcp::\d+', 'tcp::PORT', clean(qt))
    tap(text == qtext, 'transcript equals QEMU 7.2\'s', '--- strata-vm\n%s\n--- QEMU\n%s' % (text, qtext))
    r = subprocess.run([QEMU, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-nographic', '-gdb', 'foo:bar'],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    qerr = r.stderr.decode().replace('qemu-system-riscv64:', 'PROG:')
    tap(qerr == err, '-gdb error line equals QEMU\'s', qerr)


def stepped_to(r, pc, after):
    """One instruction executed at pc: after is the next one, or anything when that instruction
    can jump (QEMU lets the other hart run during the step above, so thread 1 may have left the
    straight-line reset code for a loop by now)."""
    insn = int.from_bytes(bytes.fromhex(r.cmd('m%x,4' % pc)), 'little')
    if insn & 3 != 3:
        return after == pc + 2 or (insn & 0xe003) in (0xa001, 0xc001, 0xe001, 0x8002, 0x9002)
    return after == pc + 4 or (insn & 0x7f) in (0x63, 0x6f, 0x67)


def smp_session(binary):
    """Two harts as two threads: the thread queries' transcript, and facts that hold on both
    emulators whatever the harts' interleaving."""
    port = free_port()
    emu = Emu(binary, 'smp', ['-smp', '2', '-S', '-serial', 'null', '-gdb', 'tcp:127.0.0.1:%d' % port])
    t, facts = [], {}
    try:
        r = Rsp(('127.0.0.1', port))

        def q(c):
            reply = r.cmd(c)
            t.append('%s %s' % (c, reply))
            return reply

        def pc_of(thread):
            q('Hg%d' % thread)
            regs = r.cmd('g')
            return int.from_bytes(bytes.fromhex(regs[32 * 16:33 * 16]), 'little')

        for c in ('qfThreadInfo', 'qsThreadInfo', 'qsThreadInfo', 'qC', 'qThreadExtraInfo,1',
                  'qThreadExtraInfo,2', 'T1', 'T2', 'T3', 'Hg3', 'Hc3', 'Hg0', 'Hg-1', 'Hc2'):
            q(c)
        before = pc_of(2)
        q('s')
        facts['a step of thread 2 (Hc2) stops in thread 2 one instruction on'] = (
            t[-1] == 's T05thread:02;' and pc_of(2) == before + 4)
        q('Hc1')
        before1 = pc_of(1)
        q('vCont;s:1')
        facts['vCont;s:1 steps thread 1'] = (t[-1] == 'vCont;s:1 T05thread:01;' and
                                             stepped_to(r, before1, pc_of(1)))
        bp = 0x80000010  # the console loop both harts pass through
        q('Z0,%x,4' % bp)
        stop = q('c')
        m = re.match(r'T05thread:(\d+);$', stop)
        hit = int(m.group(1), 16) if m else 0
        facts['a breakpoint stops the VM in the hart that reached it'] = hit in (1, 2) and pc_of(hit) == bp
        q('z0,%x,4' % bp)
        r.s.close()
    except (TimeoutError, EOFError, OSError) as e:
        facts['session completes'] = False
        t.append('error: %r' % e)
    finally:
        emu.close()
    # the part that does not depend on timing: the queries before the first step
    return '\n'.join(t[:14]), facts


def smp_main():
    text, facts = smp_session(VM)
    for name, ok in facts.items():
        tap(ok, 'strata-vm -smp 2: ' + name)
    if QEMU:
        qtext, qfacts = smp_session(QEMU)
        for name, ok in qfacts.items():
            tap(ok, 'QEMU -smp 2: ' + name)
        tap(text == qtext, '-smp 2: thread queries equal QEMU 7.2\'s', '--- strata-vm\n%s\n--- QEMU\n%s' % (text, qtext))


main()
smp_main()
plan()
