#!/usr/bin/env python3
"""strata-vm's monitors (HMP and QMP) over unix sockets, compared with qemu-system-riscv64
running the same bare-metal guest (tests/vm/asm/counter.S) where QEMU has the command.
TAP on stdout. Usage: monitor.py STRATA_VM COUNTER_ELF TMPDIR"""
import json, os, re, shutil, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from vmtest import MonitorEmu, tap, skip, plan  # noqa: E402

VM, ELF, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
QEMU = shutil.which('qemu-system-riscv64')


class Emu(MonitorEmu):
    """One emulator with a monitor on a unix socket (mode 'hmp' or 'qmp'); the banner or QMP
    greeting is left in buf."""
    count = 0

    def __init__(self, binary, mode, extra=(), pretty=False):
        Emu.count += 1
        b = os.path.basename(binary)
        opt = '-monitor' if mode == 'hmp' else ('-qmp-pretty' if pretty else '-qmp')
        super().__init__([binary, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-nographic'] + list(extra),
                         os.path.join(TMP, '%s-%s%d.sock' % (b, mode, Emu.count)),
                         os.path.join(TMP, 'serial-%s-%s' % (b, mode)), timeout=10.0, opt=opt, greet=False)

    # HMP: everything up to and including the next prompt
    def hmp_raw(self, line):
        self.sock.sendall(line.encode() + b'\n')
        self.recv_until(lambda b: b.endswith(b'(qemu) '))
        out, self.buf = self.buf, b''
        return out

    # QMP: one JSON text per line (or a pretty text ending in "}\n" at column 0)
    def qmp_read(self):
        end = re.compile(rb'\n\}\r\n' if self.pretty_mode else rb'\n')
        self.recv_until(lambda b: end.search(b) is not None)
        i = end.search(self.buf).end()
        text, self.buf = self.buf[:i], self.buf[i:]
        return text

    pretty_mode = False

    def qmp(self, obj_or_text):
        """Sends one request; returns (events, reply) as parsed JSON."""
        t = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        self.sock.sendall(t.encode() + b'\n')
        events = []
        while True:
            msg = json.loads(self.qmp_read())
            if 'event' in msg:
                events.append(msg)
            else:
                return events, msg


def mask_regs(text):
    return re.sub(r'\b[0-9a-f]{16}\b', 'X' * 16, text)


def regs(text):
    return dict(re.findall(r'(\S+)\s+([0-9a-f]{16})\b', text))


# ------------------------------------------------------------------ HMP
DRIVE = os.path.join(TMP, 'd.qcow2')
subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DRIVE, '16M'], check=True)
drive_args = ['-drive', 'file=%s,if=none,id=d0,format=qcow2' % DRIVE, '-device', 'virtio-blk-device,drive=d0']
# QEMU's own copy: two VMs cannot both hold one writable image (image locking refuses the second)
QDRIVE = os.path.join(TMP, 'qd.qcow2')
subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', QDRIVE, '16M'], check=True)
qdrive_args = [a.replace(DRIVE, QDRIVE) for a in drive_args]

s = Emu(VM, 'hmp', drive_args)
q = Emu(QEMU, 'hmp', ['-serial', 'file:' + os.path.join(TMP, 'qemu-serial')] + qdrive_args) if QEMU else None
try:
    s.recv_until(lambda b: b.endswith(b'(qemu) '))
    tap(re.fullmatch(rb"QEMU 7\.2\.\d+ monitor - type 'help' for more information\r\n\(qemu\) ", s.buf) is not None,
        'hmp: banner and prompt as QEMU 7.2', s.buf)
    s.buf = b''
    if q:
        q.recv_until(lambda b: b.endswith(b'(qemu) '))
        q.buf = b''
        a, b = s.hmp_raw('info status'), q.hmp_raw('info status')
        tap(a == b, 'hmp: readline echo and output bytes equal QEMU\'s (info status)', '%r\n%r' % (a, b))
        # line editing: a typo erased with backspace, the cursor moved with arrow keys
        a, b = s.hmp_raw('info sx\x7ftatux\x1b[D\x1b[3~s'), q.hmp_raw('info sx\x7ftatux\x1b[D\x1b[3~s')
        tap(a == b, 'hmp: backspace, cursor keys and delete echo as QEMU\'s', '%r\n%r' % (a, b))
    # the guest counts in RAM at 0x80100000: stop freezes it, cont moves it again
    s.hmp('stop')
    v1 = s.hmp('xp /1xg 0x80100000')
    time.sleep(0.3)
    v2 = s.hmp('xp /1xg 0x80100000')
    if q:  # the same commands on QEMU: /fmt defaults are sticky
        q.hmp('xp /1xg 0x80100000')
    tap(v1 == v2 and v1.startswith('0000000080100000: 0x'), 'hmp: stop freezes the guest (its counter in RAM)', v1 + v2)
    st = s.hmp('info status')
    tap(st == 'VM status: paused\n', 'hmp: info status after stop', st)
    if q:
        q.hmp('stop')
        q.hmp('info status')
    compare = ['info status', 'xp /4x 0x80000000', 'x /4x 0x80000000', 'xp /2xg 0x80100008', 'xp /8b 0x80100008',
               'xp /3d 0x80100008', 'xp /3u 0x80100008', 'xp /8c 0x80100008', 'xp /20xh 0x80000000',
               'xp /5o 0x80000000', 'x /3xw 0x80000000', 'xp /17xb 0x80000000', 'xp /3c 0x80000000',
               'xp /0x 0x80000000', 'xp /3xb 0x80000001', 'xp /1dg 0x80100008', 'xp /2x 0x0', 'xp 0x80000000',
               'p 1+2', 'p /x 16', 'print 3', 'p (1+2)*3', 'p 10/0', 'p -1', 'p /c 65', 'p /o 8',
               'p /u -1', 'p /d 0xffffffff', "p 'a'", 'p 0x', 'p 1<<4', 'p 7&3|8', 'p ~0', 'p 100%7', 'p $foo',
               'p', 'x', 'xp /4x foo', 'x /4z 0x0', 'x /4x 0x80000000 5', 'foo', 'info foo', 'help stop',
               'help cont', 'help x', 'help xp', 'help commit', 'help savevm', 'help info', 'help foo', 'help gdbserver',
               'loadvm', 'delvm', 'commit', 'commit foo', 'commit all', 'commit d0', 'stop bar', 'info name',
               'gdbserver none', '', 'cont', 'info status', 'c', 's', 'info status', 'c']
    if q:
        for cmd in compare:
            a, b = s.hmp(cmd), q.hmp(cmd)
            if cmd == 'help info':  # strata-vm lists the subcommands it has, each as QEMU's line
                tap(a and set(a.splitlines()) <= set(b.splitlines()), 'hmp: help info lines are QEMU\'s', a)
                continue
            tap(a == b, 'hmp: %r as QEMU' % cmd, 'strata-vm: %r\nqemu:      %r' % (a, b))
        a, b = s.hmp('help'), q.hmp('help')
        tap(set(a.splitlines()) <= set(b.splitlines()), 'hmp: every help line is QEMU\'s',
            set(a.splitlines()) - set(b.splitlines()))
        s.hmp('stop'), q.hmp('stop')
        a, b = s.hmp('info registers'), q.hmp('info registers')
        tap(mask_regs(a) == mask_regs(b), 'hmp: info registers has QEMU 7.2\'s riscv layout', a + '\n' + b)
        ra, rb = regs(a), regs(b)
        same = ['x10/a0', 'x11/a1', 'x12/a2', 'x28/t3', 'x5/t0', 'mstatus', 'satp', 'mtvec']
        tap(all(ra.get(k) == rb.get(k) for k in same), 'hmp: info registers values equal QEMU\'s (a0-a2, t0, t3, mstatus)',
            [(k, ra.get(k), rb.get(k)) for k in same])
        a, b = s.hmp('info block'), q.hmp('info block')
        a3 = re.sub(r'#block\d+', '#blockN', '\n'.join(a.splitlines()[:3]))
        b3 = re.sub(r'#block\d+', '#blockN', '\n'.join(b.splitlines()[:3])).replace(QDRIVE, DRIVE)
        tap(a3 == b3, 'hmp: info block (the drive\'s lines) as QEMU', a3 + '\n' + b3)
        a, b = s.hmp('info blockstats'), q.hmp('info blockstats')
        tap(a.splitlines()[0] == b.splitlines()[0], 'hmp: info blockstats (the drive\'s line) as QEMU', a + b)
        s.hmp('c'), q.hmp('c')
    else:
        skip('hmp: comparisons with QEMU', 'no qemu-system-riscv64')
    # strata-vm only: registers in expressions (QEMU 7.2's riscv target has none)
    tap(s.hmp('p /x $a0') == '0x1234\n', 'hmp: p /x $a0 (strata-vm extension)')
    tap(s.hmp('p /d $a1') == '-1\n', 'hmp: p /d $a1')
    pc = s.hmp('p /x $pc')
    tap(re.fullmatch(r'0x800000[45][0-9a-f]\n', pc) is not None, 'hmp: p $pc is in the guest\'s loop', pc)
    tap(s.hmp('p $t3 + 1') == '%#x\n' % (0x41424344 + 1), 'hmp: p $t3 + 1')
    tap(s.hmp('info cpus').startswith('* CPU #0: thread_id='), 'hmp: info cpus')
    tap('riscv_virt_board.ram' in s.hmp('info mtree'), 'hmp: info mtree lists RAM')
    qt = s.hmp('info qtree')
    tap(qt.startswith('bus: main-system-bus\n  type System\n') and 'dev: virtio-mmio, id ""' in qt, 'hmp: info qtree')
    # QEMU's lines for the same back ends (QEMU also has a parallel0 on null)
    ch = s.hmp('info chardev')
    tap(sorted(ch.splitlines()) == ['compat_monitor0: filename=unix:%s,server=on' % s.mon, 'serial0: filename=stdio'],
        'hmp: info chardev', ch)
    # system_reset restarts the program: "start" twice on the console
    s.hmp('system_reset')
    for _ in range(100):
        if s.serial().count(b'start\n') >= 2:
            break
        time.sleep(0.05)
    tap(s.serial().count(b'start\n') == 2, 'hmp: system_reset restarts the guest', s.serial())
    s.sock.sendall(b'quit\n')
    try:
        rc = s.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    tap(rc == 0, 'hmp: quit exits 0', rc)
finally:
    s.close()
    if q:
        q.close()

# ------------------------------------------------------------------ QMP
def strip_ts(events):
    for e in events:
        ts = e.pop('timestamp', None)
        if not (isinstance(ts, dict) and set(ts) == {'seconds', 'microseconds'}):
            return None
    return events


s = Emu(VM, 'qmp', drive_args)
q = Emu(QEMU, 'qmp', ['-serial', 'file:' + os.path.join(TMP, 'qemu-serial2')] + qdrive_args) if QEMU else None
try:
    gs = json.loads(s.qmp_read())
    ok = (list(gs) == ['QMP'] and list(gs['QMP']) == ['version', 'capabilities'] and gs['QMP']['capabilities'] == ['oob']
          and list(gs['QMP']['version']) == ['qemu', 'package'] and list(gs['QMP']['version']['qemu']) == ['micro', 'minor', 'major'])
    tap(ok, 'qmp: greeting has QEMU 7.2\'s structure', gs)
    if q:
        gq = json.loads(q.qmp_read())
        tap(list(gq['QMP']) == list(gs['QMP']) and gq['QMP']['version']['qemu']['major'] == gs['QMP']['version']['qemu']['major'],
            'qmp: greeting shape equals QEMU\'s', (gs, gq))
    script = [
        '{"execute":"query-status"}', '{"execute":"foo"}', '[1]', '{"execute":"qmp_capabilities","id":1}',
        '{"execute":"qmp_capabilities"}', '{"execute":"query-status","id":"x"}', '{"execute":"stop"}',
        '{"execute":"query-status"}', '{"execute":"stop"}', '{"execute":"cont"}', '{"execute":"query-status"}',
        '{"execute":"foo","id":[1,2]}', '{"execute":"query-status","arguments":{"a":1}}',
        '{"execute":"human-monitor-command"}', '{"execute":"human-monitor-command","arguments":{"command-line":1}}',
        '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}',
        '{"execute":"human-monitor-command","arguments":{"command-line":"foo"}}',
        '{"execute":"human-monitor-command","arguments":{"command-line":"xp /4x 0x80000000"},"id":7}',
        '{"execute":"human-monitor-command","arguments":{"command-line":"info status","cpu-index":"0"}}',
        '{"execute"\n}', 'xyz', '{"execute":1}', '{}', '{"execute":"query-status","foo":1}',
        '{"execute":"query-status","arguments":[]}', '"abc"', '@', '{"a":}', '{"a" 1}', '{1:2}', '{"a":1,}', '[1,]',
        '{"a":1 "b":2}', '"\\x"', 'tru', '{"execute":"query-name","id":1e5}', '{"execute":"query-name","id":-0.5}',
        '{"execute":"query-name","id":12345678901234567890}', '{"execute":"query-name","id":"\\u00e9\\ud83d\\ude00/"}',
        "{'execute':'query-name'}", '{"execute":"query-name","id":null}', '{"execute":"query-name","id":[true,false,{}]}',
        '{"execute":"query-name","id":{"a":{"b":[1,[2,[3]]]}}}', '{"execute":"job-dismiss","arguments":{"id":"zz"}}',
        '{"execute":"job-dismiss","arguments":{}}', '{"execute":"job-dismiss","arguments":{"id":["x"]}}',
        '{"execute":"snapshot-save","arguments":{"job-id":"j1","tag":"s1","vmstate":"d0"}}',
        '{"execute":"snapshot-save","arguments":{"job-id":"j1","tag":"s1","vmstate":"d0","devices":[1]}}',
        '{"execute":"snapshot-save","arguments":{"job-id":"j1","tag":"s1","vmstate":"nosuch","devices":["nosuch"]}}',
        '{"execute":"query-jobs"}',
        '{"execute":"snapshot-delete","arguments":{"job-id":"j1","tag":"s1","devices":["nosuch"]}}',
        '{"execute":"job-dismiss","arguments":{"id":"j1"}}', '{"execute":"query-jobs"}',
        '{"execute":"system_reset"}', '{"execute":"system_powerdown"}', '{"execute":"query-status"}',
    ]
    if q:
        for req in script:
            ea, ra = s.qmp(req)
            eb, rb = q.qmp(req)
            ea, eb = strip_ts(ea), strip_ts(eb)
            # the raw bytes too, for member order and spacing (minus the timestamps)
            tap(ea is not None and (ea, ra) == (eb, rb) and json.dumps(ra) == json.dumps(rb),
                'qmp: %s as QEMU' % req.replace('\n', '\\n'), 'strata-vm: %r %r\nqemu:      %r %r' % (ea, ra, eb, rb))
    else:
        skip('qmp: comparisons with QEMU', 'no qemu-system-riscv64')
        s.qmp('{"execute":"qmp_capabilities"}')
    # byte-exact layout of a reply and an event
    s.sock.sendall(b'{"execute":"stop","id":"a"}\n')
    ev, rep = s.qmp_read(), s.qmp_read()
    tap(re.fullmatch(rb'\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, "event": "STOP"\}\r\n', ev) is not None
        and rep == b'{"return": {}, "id": "a"}\r\n', 'qmp: event and reply bytes as QEMU prints them', ev + rep)
    v1 = s.qmp({'execute': 'human-monitor-command', 'arguments': {'command-line': 'xp /1xg 0x80100000'}})[1]
    time.sleep(0.3)
    v2 = s.qmp({'execute': 'human-monitor-command', 'arguments': {'command-line': 'xp /1xg 0x80100000'}})[1]
    tap(v1 == v2, 'qmp: stop freezes the guest', (v1, v2))
    s.qmp('{"execute":"cont"}')
    time.sleep(0.1)
    v3 = s.qmp({'execute': 'human-monitor-command', 'arguments': {'command-line': 'xp /1xg 0x80100000'}})[1]
    tap(v3 != v2, 'qmp: cont resumes it', (v2, v3))
    _, st = s.qmp('{"execute":"query-status"}')
    tap(st == {'return': {'status': 'running', 'singlestep': False, 'running': True}}, 'qmp: the VM runs on after bad input', st)
    _, qb = s.qmp('{"execute":"query-block"}')
    d = qb['return'][0] if qb.get('return') else {}
    ins = d.get('inserted', {})
    tap(d.get('device') == 'd0' and ins.get('file') == DRIVE and ins.get('drv') == 'qcow2' and ins.get('ro') is False
        and ins.get('image', {}).get('virtual-size') == 16 << 20, 'qmp: query-block', qb)
    _, qc = s.qmp('{"execute":"query-commands"}')
    names = {c['name'] for c in qc['return']}
    tap({'qmp_capabilities', 'query-status', 'stop', 'cont', 'quit', 'human-monitor-command', 'snapshot-save'} <= names,
        'qmp: query-commands', names)
    ev, rep = s.qmp('{"execute":"quit"}')
    rc = s.proc.wait(timeout=10)
    tap([e['event'] for e in ev] == ['SHUTDOWN'] and ev[0]['data'] == {'guest': False, 'reason': 'host-qmp-quit'}
        and rep == {'return': {}} and rc == 0, 'qmp: quit: SHUTDOWN event, reply, exit 0', (ev, rep, rc))
finally:
    s.close()
    if q:
        q.close()

# -name and -S: info name, query-name, the prelaunch state, cont starts the guest
s = Emu(VM, 'hmp', ['-name', 'strata-test', '-S'])
q = Emu(QEMU, 'hmp', ['-serial', 'file:' + os.path.join(TMP, 'qemu-serial4'), '-name', 'strata-test', '-S']) if QEMU else None
try:
    s.recv_until(lambda b: b.endswith(b'(qemu) '))
    s.buf = b''
    if q:
        q.recv_until(lambda b: b.endswith(b'(qemu) '))
        q.buf = b''
        for cmd in ['info name', 'info status', 'xp /2x 0x80100008', 'cont', 'info status', 'loadvm x',
                    'info status', 'cont', 'info status', 'savevm', 'delvm x', 'info snapshots']:
            a, b = s.hmp(cmd), q.hmp(cmd)
            tap(a == b, 'hmp -name -S: %r as QEMU' % cmd, 'strata-vm: %r\nqemu:      %r' % (a, b))
    else:
        tap(s.hmp('info status') == 'VM status: paused (prelaunch)\n', 'hmp: -S: prelaunch')
        s.hmp('cont')
    for _ in range(100):
        if b'start' in s.serial():
            break
        time.sleep(0.05)
    tap(s.serial() == b'start\n', 'hmp: -S: the guest starts at cont', s.serial())
finally:
    s.close()
    if q:
        q.close()
for binary in [VM, QEMU] if QEMU else [VM]:
    s = Emu(binary, 'qmp', ['-name', 'strata-test', '-S'] + (['-serial', 'null'] if binary == QEMU else []))
    try:
        s.qmp_read()
        s.qmp('{"execute":"qmp_capabilities"}')
        _, a = s.qmp('{"execute":"query-name"}')
        _, b = s.qmp('{"execute":"query-status"}')
        tap(a == {'return': {'name': 'strata-test'}} and b == {'return': {'status': 'prelaunch', 'singlestep': False, 'running': False}},
            'qmp: query-name and query-status under -name -S (%s)' % os.path.basename(binary), (a, b))
    finally:
        s.close()

# pretty=on: the layout of QEMU's -qmp-pretty
s = Emu(VM, 'qmp', pretty=True)
q = Emu(QEMU, 'qmp', ['-serial', 'file:' + os.path.join(TMP, 'qemu-serial3')], pretty=True) if QEMU else None
try:
    s.pretty_mode = True
    if q:
        q.pretty_mode = True
        a, b = s.qmp_read(), q.qmp_read()
        for _ in range(3):  # QEMU's side once answered with something else before its greeting (CI, 2026-12-07)
            if b'"QMP"' in b:
                break
            print('# qemu sent before its greeting: %r' % b)
            b = q.qmp_read()
        tap(b'"QMP"' in a, 'qmp pretty: the greeting first', a)
        for req in ['{"execute":"qmp_capabilities"}', '{"execute":"query-status"}', '{"execute":"query-name","id":[1,{"a":[]}]}', '{"execute":"nope"}']:
            s.sock.sendall(req.encode() + b'\n')
            q.sock.sendall(req.encode() + b'\n')
            a, b = s.qmp_read(), q.qmp_read()
            tap(a == b, 'qmp pretty: %s as QEMU' % req, '%r\n%r' % (a, b))
    else:
        skip('qmp pretty: comparisons with QEMU', 'no qemu-system-riscv64')
finally:
    s.close()
    if q:
        q.close()
# savevm through the monitor (emulator/machine/savevm.h behind snapshot_cmds.c):
# HMP texts and the QMP jobs' event sequences against QEMU's; QEMU names the drive by a
# node name (n0), strata-vm by its id
def snapshot_session(binary, image, dev):
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', image, '16M'], check=True)
    drive = 'file=%s,if=none,id=d0,format=qcow2' % image + (',node-name=n0' if dev == 'n0' else '')
    extra = ['-drive', drive, '-device', 'virtio-blk-device,drive=d0']
    e = Emu(binary, 'hmp', extra + (['-serial', 'null'] if binary == QEMU else []))
    e.recv_until(lambda b: b.endswith(b'(qemu) '))
    e.buf = b''
    hmp = [e.hmp(c) for c in ['savevm s1', 'info snapshots', 'loadvm s1', 'info status', 'loadvm nope',
                              'info status', 'cont', 'delvm s1', 'info snapshots', 'savevm']]
    e.close()
    # the VM state's size, the date and the VM clock differ between the machines
    hmp = [re.sub(r'(\n--        \S+) .*', r'\1 ...', re.sub(r'vm-\d{14}', 'vm-DATE', t)) for t in hmp]
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', image, '16M'], check=True)
    e = Emu(binary, 'qmp', extra + (['-serial', 'null'] if binary == QEMU else []))
    e.qmp_read()
    e.qmp('{"execute":"qmp_capabilities"}')
    qmp = []
    for job, verb, extra_args in [('j1', 'snapshot-save', ''), ('j2', 'snapshot-save', ''), ('j3', 'snapshot-load', ''),
                                  ('j4', 'snapshot-delete', None), ('j5', 'snapshot-load', '')]:
        vmstate = '' if extra_args is None else ',"vmstate":"%s"' % dev
        ev, rep = e.qmp('{"execute":"%s","arguments":{"job-id":"%s","tag":"s1"%s,"devices":["%s"]}}' % (verb, job, vmstate, dev))
        time.sleep(0.2)
        while True:  # the job's last states follow the reply
            e.sock.settimeout(0.5)
            try:
                e.recv_until(lambda b: b'\n' in b, 0.5)
            except (TimeoutError, OSError):
                break
            ev.append(json.loads(e.qmp_read()))
        qmp.append(([(x['event'], x.get('data')) for x in ev], rep))
    qmp.append(e.qmp('{"execute":"query-jobs"}'))
    e.close()
    return hmp, qmp


if QEMU:
    ha, qa = snapshot_session(VM, os.path.join(TMP, 'snap-s.qcow2'), 'd0')
    if 'no block device can store vmstate' in ha[0]:
        tap(False, 'savevm through the monitor reaches savevm.h', ha[0])
    else:
        hb, qb = snapshot_session(QEMU, os.path.join(TMP, 'snap-q.qcow2'), 'n0')
        for i, (a, b) in enumerate(zip(ha, hb)):
            tap(a == b, 'savevm hmp step %d as QEMU' % i, '%r\n%r' % (a, b))
        for i, (a, b) in enumerate(zip(qa, qb)):
            tap(a == b, 'savevm qmp job %d: events and reply as QEMU' % i, '%r\n%r' % (a, b))
else:
    skip('savevm through the monitor', 'no qemu-system-riscv64')

# -nographic: HMP shares stdio with the serial console through the mux (Ctrl-A c); the bytes on
# the terminal must be QEMU's: banner and prompt at the first switch, a newline when leaving
def terminal_session(binary):
    import pty, select
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, '-M', 'virt', '-bios', 'none', '-kernel', ELF, '-nographic'])
    out = b''

    def read_until(pat, start=0, timeout=10.0):
        nonlocal out
        end = time.time() + timeout
        while pat not in out[start:] and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        return pat in out[start:]

    read_until(b'start\r\n')   # the whole line: a switch before its newline interleaves it
    steps = [(b'\x01c', b'(qemu) '), (b'info status\r', b'(qemu) '), (b'stop\r', b'(qemu) '),
             (b'info status\r', b'(qemu) '), (b'\x01c', None), (b'\x01c', b'(qemu) '), (b'cont\r', b'(qemu) '),
             (b'\x01c', None)]
    for data, pat in steps:
        n0 = len(out)
        os.write(fd, data)
        read_until(pat, n0) if pat else read_until(b'\x00never', n0, 0.3)
    os.write(fd, b'\x01x')
    read_until(b'QEMU: Terminated')
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)
    return out


if QEMU:
    a, b = terminal_session(VM), terminal_session(QEMU)
    a, b = (re.sub(rb'QEMU 7\.2\.\d+ monitor', b'QEMU 7.2.x monitor', x) for x in (a, b))
    tap(a == b, 'hmp on the -nographic mux: the terminal bytes equal QEMU\'s', '%r\n%r' % (a, b))
else:
    skip('hmp on the -nographic mux', 'no qemu-system-riscv64')

# under SANITIZE=1 the emulator's reports land in its output files
bad = [f for f in os.listdir(TMP) if f.startswith('serial-strata-vm') and
       re.search(rb'ERROR: (Address|Leak)Sanitizer|runtime error', open(os.path.join(TMP, f), 'rb').read())]
tap(not bad, 'no sanitizer reports from strata-vm', bad)
plan()
