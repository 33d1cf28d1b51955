/* gdbstub.c - GDB remote serial protocol, one thread per hart, as a character-device front
 * end on the host event loop (QEMU's design): packets are parsed as bytes arrive, so the guest
 * runs and the monitor answers while no debugger is attached. A debugger connecting stops the
 * VM (paused); continue resumes it through the main loop; a breakpoint hit or a finished step
 * stops it as "debug". Supported: registers and memory (g/G/p/P/m/M), continue and single
 * step (c/s, vCont), software and hardware breakpoints (Z0/Z1) and watchpoints (Z2 write, Z3
 * read, Z4 access: the hart's trigger matching, cpu/trigger.h, stops before the accessing
 * instruction, as QEMU does for RISC-V; gdb then steps over it); while any is set the main loop
 * runs the guest one instruction at a time through vm->debug_run. Ctrl-C, detach and kill.
 * Register numbers follow GDB's riscv target: x0-x31, pc (32), f0-f31 (33-64). Harts are
 * threads 1..N as QEMU numbers them (qfThreadInfo, Hg for registers and memory, Hc and vCont
 * for steps, T, qThreadExtraInfo); breakpoints and watchpoints apply to every hart, a stop
 * names the hart that caused it, and a step runs only the chosen hart. */
#include "emulator/gdbstub.h"
#include "emulator/chardev/chardev.h"
#include "emulator/host/loop.h"
#include "emulator/machine/virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BP 32
#define PKT_MAX 8192
#define STEPS_PER_POLL 4096 /* host events are serviced this often while breakpoints are set */

enum parse_state { P_IDLE, P_DATA, P_CK1, P_CK2 };

struct gdb {
	struct vm_virt *vm;
	struct vm_chardev *chr; /* NULL: no stub */
	bool connected;
	bool running;  /* a continue or step is under way: the debugger waits for a stop reply */
	bool stepping; /* the next debug_run executes one instruction */
	bool event_registered;
	int gcpu, ccpu;		/* the hart of registers/memory (Hg) and of steps (Hc), 0-based */
	unsigned next_thread;	/* qsThreadInfo's position */
	uint64_t bp[MAX_BP];
	int nbp;
	enum parse_state ps;
	int n;
	char in[PKT_MAX], out[PKT_MAX];
};

static struct gdb g;

static void put_packet(const char *data)
{
	char buf[PKT_MAX + 8];
	unsigned sum = 0;
	size_t n = strlen(data);
	if (n > PKT_MAX || !g.chr)
		return;
	buf[0] = '$';
	memcpy(buf + 1, data, n);
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)data[i];
	snprintf(buf + 1 + n, 4, "#%02x", sum & 0xff);
	vm_chr_write(g.chr, buf, n + 4); /* acks from the debugger are ignored */
}

static void hex64le(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		snprintf(p + 2 * i, 3, "%02x", (unsigned)(v >> (8 * i)) & 0xff);
}

static uint64_t unhex64le(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8 && p[2 * i] && p[2 * i + 1]; i++) {
		char b[3] = { p[2 * i], p[2 * i + 1], 0 };
		v |= (uint64_t)strtoul(b, NULL, 16) << (8 * i);
	}
	return v;
}

static struct rv_cpu *hart(int i)
{
	return g.vm->harts[i];
}

/* A reply of n bytes in the protocol's hex. */
static void put_hex_packet(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(g.out + 2 * i, 3, "%02x", p[i]);
	g.out[2 * n] = 0;
	put_packet(g.out);
}

/* A stop reply naming hart h's thread, as QEMU's: T<signal>thread:<id>;<extra> */
static void put_stop(unsigned sig, int h, const char *extra)
{
	char buf[96];
	snprintf(buf, sizeof(buf), "T%02xthread:%02x;%s", sig, h + 1, extra);
	put_packet(buf);
}

static bool reg_get(struct rv_cpu *cpu, unsigned n, uint64_t *v)
{
	if (n < 32)
		*v = cpu->x[n];
	else if (n == 32)
		*v = cpu->pc;
	else if (n <= 64)
		*v = cpu->f[n - 33];
	else
		return false;
	return true;
}

static bool reg_set(struct rv_cpu *cpu, unsigned n, uint64_t v)
{
	if (n > 0 && n < 32)
		cpu->x[n] = v;
	else if (n == 32)
		cpu->pc = v;
	else if (n >= 33 && n <= 64)
		cpu->f[n - 33] = v;
	else if (n != 0)
		return false;
	return true;
}

static void handle_mem(bool write)
{
	char *p = g.in + 1, *end;
	uint64_t addr = strtoull(p, &end, 16);
	size_t len = strtoul(end + 1, &end, 16);
	uint8_t buf[2048];
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (write) {
		const char *h = strchr(g.in, ':');
		if (!h) {
			put_packet("E01");
			return;
		}
		h++;
		for (size_t i = 0; i < len; i++) {
			char b[3] = { h[2 * i], h[2 * i + 1], 0 };
			buf[i] = (uint8_t)strtoul(b, NULL, 16);
		}
		put_packet(rv_debug_access(hart(g.gcpu), addr, buf, len, true) ? "E14" : "OK");
		return;
	}
	if (rv_debug_access(hart(g.gcpu), addr, buf, len, false)) {
		put_packet("E14");
		return;
	}
	put_hex_packet(buf, len);
}

/* The first hart at a breakpoint or stopped by a watchpoint, or -1. */
static int stopped_hart(void)
{
	for (unsigned h = 0; h < g.vm->nharts; h++) {
		if (hart((int)h)->trig.watch_hit)
			return (int)h;
		for (int i = 0; i < g.nbp; i++)
			if (g.bp[i] == hart((int)h)->pc)
				return (int)h;
	}
	return -1;
}

static int debug_run(struct vm_virt *vm, void *opaque);

/* Steps are needed while a step is pending or breakpoints are set. */
static void update_hook(void)
{
	bool need = g.connected && (g.stepping || g.nbp || g.vm->cpu.trig.nwatch); /* every hart has them */
	g.vm->debug_run = need ? debug_run : NULL;
	g.vm->debug_opaque = NULL;
}

/* A stop the stub caused (breakpoint, step, watchpoint): run state "debug", then the reply
 * (QEMU's: the watchpoint's kind and address for a watchpoint). */
static void debug_stop(int h)
{
	struct rv_trig *t = &hart(h)->trig;
	char watch[48] = "";
	g.running = false;
	g.gcpu = g.ccpu = h; /* as QEMU: the hart that stopped is the current one */
	vm_virt_stop_as(g.vm, VM_RUN_DEBUG);
	if (t->watch_hit) {
		t->watch_hit = false;
		snprintf(watch, sizeof(watch), "%swatch:%llx;",
			 t->watch_hit_kind == RV_WATCH_READ ? "r" : t->watch_hit_kind == RV_WATCH_ACCESS ? "a" : "",
			 (unsigned long long)t->watch_hit_addr);
	}
	put_stop(5, h, watch);
}

static void clear_watchpoints(void)
{
	for (unsigned h = 0; g.vm && h < g.vm->nharts; h++) {
		struct rv_trig *t = &hart((int)h)->trig;
		while (t->nwatch)
			rv_watch_remove(hart((int)h), t->watch[0].addr, t->watch[0].len, t->watch[0].kind);
		t->watch_hit = false;
	}
}

/* The main loop's guest execution while steps are needed. */
static int debug_run(struct vm_virt *vm, void *opaque)
{
	(void)opaque;
	if (g.stepping) {
		g.stepping = false;
		update_hook();
		if (vm_virt_step(vm, g.ccpu))
			return 1;
		debug_stop(g.ccpu);
		return 0;
	}
	for (int n = 0; n < STEPS_PER_POLL; n++) {
		if (vm_virt_step(vm, -1))
			return 1;
		int h = stopped_hart();
		if (h >= 0) {
			debug_stop(h);
			return 0;
		}
		if (vm->stop_requested)
			return 0;
	}
	if (vm->loop)
		vm_loop_poll(vm->loop, 0);
	return 0;
}

/* Any other stop while the debugger waits (Ctrl-C, the monitor's stop, savevm): QEMU's
 * SIGINT reply. */
static void on_vm_event(void *opaque, const char *name, const char *data)
{
	(void)opaque, (void)data;
	if (!strcmp(name, "STOP") && g.running) {
		g.running = false;
		put_stop(2, g.ccpu, "");
	}
}

static void resume(bool step)
{
	g.stepping = step;
	g.running = true;
	update_hook();
	vm_virt_cont(g.vm);
}

static void handle_bp(bool insert)
{
	char *end;
	uint64_t addr = strtoull(g.in + 3, &end, 16);
	if (g.in[1] >= '2' && g.in[1] <= '4') {
		uint64_t len = *end == ',' ? strtoull(end + 1, NULL, 16) : 1;
		int kind = g.in[1] == '2' ? RV_WATCH_WRITE : g.in[1] == '3' ? RV_WATCH_READ : RV_WATCH_ACCESS;
		int rc = 0;
		for (unsigned h = 0; h < g.vm->nharts; h++) /* as QEMU: on every hart */
			rc |= insert ? rv_watch_insert(hart((int)h), addr, len, kind)
				     : rv_watch_remove(hart((int)h), addr, len, kind);
		put_packet(rc && insert ? "E01" : "OK");
		update_hook();
		return;
	}
	if (g.in[1] != '0' && g.in[1] != '1') {
		put_packet("");
		return;
	}
	for (int i = 0; i < g.nbp; i++) {
		if (g.bp[i] == addr) {
			if (!insert)
				g.bp[i] = g.bp[--g.nbp];
			put_packet("OK");
			update_hook();
			return;
		}
	}
	if (insert && g.nbp == MAX_BP) {
		put_packet("E01");
		return;
	}
	if (insert)
		g.bp[g.nbp++] = addr;
	put_packet("OK");
	update_hook();
}

/* A thread id of the packet as a hart: 1..N is a hart, 0 ("any") and -1 ("all") the first
 * one; -1 when no hart has that id. */
static int thread_hart(const char *id)
{
	if (!strcmp(id, "-1"))
		return 0;
	char *end;
	unsigned long t = strtoul(id, &end, 16);
	if (end == id || (*end && *end != ';' && *end != ':'))
		return -1;
	if (t == 0)
		return 0;
	return t <= g.vm->nharts ? (int)t - 1 : -1;
}

/* Hg / Hc: the hart of registers and memory, or of steps; T: is the thread alive. */
static void handle_thread(const char *p)
{
	int h = thread_hart(p[0] == 'T' ? p + 1 : p + 2);
	if (h >= 0 && p[0] == 'H' && p[1] == 'g')
		g.gcpu = h;
	else if (h >= 0 && p[0] == 'H' && p[1] == 'c')
		g.ccpu = h;
	put_packet(h < 0 ? "E22" : "OK");
}

/* vCont;ACTION[:THREAD]...: a step of one thread steps that hart; c/C continue all. */
static void handle_vcont(const char *p)
{
	for (const char *a = p + 5; a && *a == ';'; a = strchr(a + 1, ';')) {
		if (a[1] != 's' && a[1] != 'S')
			continue;
		const char *colon = strchr(a, ':'), *next = strchr(a + 1, ';');
		if (colon && (!next || colon < next)) {
			int h = thread_hart(colon + 1);
			if (h < 0) {
				put_packet("E22");
				return;
			}
			g.ccpu = h;
		}
		resume(true);
		return;
	}
	resume(false);
}

static void handle_query(const char *p)
{
	if (!strncmp(p, "qSupported", 10))
		put_packet("PacketSize=1fff");
	else if (!strcmp(p, "qAttached"))
		put_packet("1");
	else if (!strcmp(p, "qC"))
		put_packet("QC01"); /* QEMU 7.2: the first hart, whichever is current */
	else if (!strcmp(p, "qfThreadInfo") || !strcmp(p, "qsThreadInfo")) {
		char buf[16] = "l"; /* as QEMU: one thread per reply */
		g.next_thread = p[1] == 'f' ? 0 : g.next_thread;
		if (g.next_thread < g.vm->nharts)
			snprintf(buf, sizeof(buf), "m%02x", ++g.next_thread);
		put_packet(buf);
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		int h = thread_hart(p + 17);
		char text[40];
		if (h < 0) {
			put_packet("E22");
			return;
		}
		int n = snprintf(text, sizeof(text), "CPU#%d [%s]", h, hart(h)->wfi ? "halted" : "running");
		put_hex_packet((const uint8_t *)text, (size_t)n);
	} else
		put_packet("");
}

static void handle_regs(char op)
{
	struct rv_cpu *cpu = hart(g.gcpu);
	const char *p = g.in;
	uint64_t v;
	switch (op) {
	case 'g':
		for (unsigned i = 0; i < 33; i++) {
			reg_get(cpu, i, &v);
			hex64le(g.out + 16 * i, v);
		}
		g.out[16 * 33] = 0;
		put_packet(g.out);
		break;
	case 'G':
		for (unsigned i = 0; i < 33 && strlen(p + 1) >= 16 * (i + 1); i++)
			reg_set(cpu, i, unhex64le(p + 1 + 16 * i));
		put_packet("OK");
		break;
	case 'p':
		if (!reg_get(cpu, (unsigned)strtoul(p + 1, NULL, 16), &v)) {
			put_packet("E01");
			break;
		}
		hex64le(g.out, v);
		g.out[16] = 0;
		put_packet(g.out);
		break;
	case 'P': {
		const char *eq = strchr(p, '=');
		unsigned r = (unsigned)strtoul(p + 1, NULL, 16);
		put_packet(eq && reg_set(cpu, r, unhex64le(eq + 1)) ? "OK" : "E01");
		break;
	}
	}
}

static void handle_packet(void)
{
	char *p = g.in;
	switch (p[0]) {
	case '?':
		put_stop(5, g.ccpu, "");
		break;
	case 'g':
	case 'G':
	case 'p':
	case 'P':
		handle_regs(p[0]);
		break;
	case 'm':
		handle_mem(false);
		break;
	case 'M':
		handle_mem(true);
		break;
	case 'Z':
		handle_bp(true);
		break;
	case 'z':
		handle_bp(false);
		break;
	case 'c':
	case 's':
		if (p[1])
			hart(g.ccpu)->pc = strtoull(p + 1, NULL, 16);
		resume(p[0] == 's');
		break;
	case 'v':
		if (!strncmp(p, "vCont?", 6))
			put_packet("vCont;c;C;s;S");
		else if (!strncmp(p, "vCont;", 6))
			handle_vcont(p);
		else
			put_packet("");
		break;
	case 'q':
		handle_query(p);
		break;
	case 'H':
	case 'T':
		handle_thread(p);
		break;
	case 'D': /* detach: breakpoints go, the guest runs on */
		put_packet("OK");
		g.nbp = 0;
		clear_watchpoints();
		g.running = false;
		update_hook();
		vm_virt_cont(g.vm);
		break;
	case 'k':
		vm_virt_quit(g.vm, 0);
		break;
	default:
		put_packet("");
		break;
	}
}

/* Ctrl-C from the debugger: stop a running VM (the STOP event sends the reply). */
static void interrupt(void)
{
	if (vm_virt_running(g.vm))
		vm_virt_stop(g.vm);
	else if (g.running)
		on_vm_event(NULL, "STOP", NULL);
}

static size_t fe_can_read(void *opaque)
{
	(void)opaque;
	return PKT_MAX;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	for (size_t i = 0; i < len && g.chr; i++) {
		char c = (char)buf[i];
		if (vm_virt_running(g.vm)) { /* as QEMU: any byte stops a running VM, and is dropped */
			interrupt();
			continue;
		}
		switch (g.ps) {
		case P_IDLE:
			if (c == '$')
				g.ps = P_DATA, g.n = 0;
			else if (c == 0x03)
				interrupt();
			break; /* acks '+' / '-' are ignored */
		case P_DATA:
			if (c == '#')
				g.ps = P_CK1;
			else if (g.n < PKT_MAX - 1)
				g.in[g.n++] = c;
			break;
		case P_CK1:
			g.ps = P_CK2;
			break;
		case P_CK2:
			g.ps = P_IDLE;
			g.in[g.n] = 0;
			vm_chr_write(g.chr, "+", 1);
			handle_packet();
			break;
		}
	}
}

static void fe_event(void *opaque, enum vm_chr_event ev)
{
	(void)opaque;
	if (ev == VM_CHR_OPENED) {
		g.connected = true;
		g.gcpu = g.ccpu = 0;
		g.nbp = 0;
		clear_watchpoints();
		g.ps = P_IDLE;
		/* as QEMU: a debugger arriving stops a running VM (paused) and hears of it (T02) */
		g.running = vm_virt_running(g.vm);
		vm_virt_stop(g.vm);
	} else if (ev == VM_CHR_CLOSED) {
		g.connected = false;
		g.running = false;
		g.stepping = false;
		g.nbp = 0;
		clear_watchpoints();
	}
	update_hook();
}

static void stop_stub(void)
{
	if (!g.chr)
		return;
	vm_chr_free(g.chr);
	g.chr = NULL;
	g.connected = g.running = g.stepping = false;
	g.nbp = 0;
	clear_watchpoints();
	update_hook();
}

int vm_gdb_start(struct vm_virt *vm, const char *device, char *err, size_t errlen)
{
	err[0] = 0;
	g.vm = vm;
	if (!strcmp(device, "none")) {
		stop_stub();
		return 0;
	}
	char spec[1024];
	if (!strncmp(device, "tcp:", 4)) /* QEMU's required TCP attributes */
		snprintf(spec, sizeof(spec), "%s,wait=off,nodelay=on,server=on", device);
	else
		snprintf(spec, sizeof(spec), "%s", device);
	struct vm_chardev *c;
	int rc = vm_chr_new_legacy(vm->loop, spec, "gdb", &c, err, errlen);
	if (rc == -EEXIST) /* a stub exists: QEMU 7.2's words for the clash of the two "gdb" chardevs */
		snprintf(err, errlen, "duplicate yank instance");
	if (rc)
		return rc;
	if (!c)
		return -EINVAL;
	if (!g.event_registered && vm_virt_on_event(vm, on_vm_event, NULL) == 0)
		g.event_registered = true;
	g.chr = c;
	g.connected = g.running = g.stepping = false;
	g.nbp = 0;
	clear_watchpoints();
	g.ps = P_IDLE;
	static const struct vm_chr_frontend fe = { fe_can_read, fe_read, fe_event, NULL };
	rc = vm_chr_attach(c, &fe);
	if (rc) {
		vm_chr_free(c);
		g.chr = NULL;
		return rc;
	}
	return 0;
}

void vm_gdb_exit(int code)
{
	char r[8];
	if (!g.chr || !g.connected)
		return;
	snprintf(r, sizeof(r), "W%02x", code & 0xff);
	put_packet(r);
}
