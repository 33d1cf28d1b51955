/* gdbstub.c - GDB remote serial protocol over TCP for the single hart. Supported: register
 * and memory access (g/G/p/P/m/M), continue and single step (c/s, vCont), software and
 * hardware breakpoints (Z0/Z1, checked by stepping while any is set), Ctrl-C, detach and
 * kill. The guest clock is frozen while the debugger holds the VM stopped.
 * Register numbers follow GDB's riscv target: x0-x31, pc (32), f0-f31 (33-64). */
#include "emulator/gdbstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BP 32
#define PKT_MAX 8192

struct gdb {
	struct vm_virt *vm;
	int fd;
	uint64_t bp[MAX_BP];
	int nbp;
	char in[PKT_MAX], out[PKT_MAX];
};

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static int read_byte(int fd)
{
	unsigned char c;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r == 1)
			return c;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static int put_packet(struct gdb *g, const char *data)
{
	char buf[PKT_MAX + 8];
	unsigned sum = 0;
	size_t n = strlen(data);
	if (n > PKT_MAX)
		return -EINVAL;
	buf[0] = '$';
	memcpy(buf + 1, data, n);
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)data[i];
	snprintf(buf + 1 + n, 4, "#%02x", sum & 0xff);
	return send_all(g->fd, buf, n + 4); /* the ack is read (and ignored) with the next packet */
}

/* Reads one packet into g->in; returns its length, -2 for a Ctrl-C, -1 on EOF. */
static int get_packet(struct gdb *g)
{
	int c;
	for (;;) {
		do {
			c = read_byte(g->fd);
			if (c < 0)
				return -1;
			if (c == 0x03)
				return -2;
		} while (c != '$');
		int n = 0;
		while ((c = read_byte(g->fd)) >= 0 && c != '#') {
			if (n < PKT_MAX - 1)
				g->in[n++] = (char)c;
		}
		if (c < 0 || read_byte(g->fd) < 0 || read_byte(g->fd) < 0)
			return -1;
		g->in[n] = 0;
		if (send_all(g->fd, "+", 1))
			return -1;
		return n;
	}
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

static bool at_breakpoint(const struct gdb *g)
{
	for (int i = 0; i < g->nbp; i++)
		if (g->bp[i] == g->vm->cpu.pc)
			return true;
	return false;
}

static bool interrupted(struct gdb *g)
{
	struct pollfd p = { .fd = g->fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return false;
	unsigned char c;
	if (read(g->fd, &c, 1) != 1)
		return true; /* debugger gone: stop */
	return c == 0x03;
}

/* Runs until a breakpoint, Ctrl-C, or the guest exits. Returns 1 if it exited. */
static int resume(struct gdb *g, bool step)
{
	struct vm_virt *vm = g->vm;
	vm_clock_resume(&vm->clock);
	int exited = 0;
	if (step) {
		exited = vm_virt_step(vm);
	} else if (g->nbp) {
		for (unsigned long n = 0;; n++) {
			if ((exited = vm_virt_step(vm)) || at_breakpoint(g))
				break;
			if ((n & 4095) == 0 && interrupted(g))
				break;
		}
	} else {
		while (!(exited = vm_virt_run(vm, 100000)) && !interrupted(g))
			;
	}
	vm_clock_pause(&vm->clock);
	return exited;
}

static void handle_mem(struct gdb *g, bool write)
{
	char *p = g->in + 1, *end;
	uint64_t addr = strtoull(p, &end, 16);
	size_t len = strtoul(end + 1, &end, 16);
	uint8_t buf[2048];
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (write) {
		const char *h = strchr(g->in, ':');
		if (!h) {
			put_packet(g, "E01");
			return;
		}
		h++;
		for (size_t i = 0; i < len; i++) {
			char b[3] = { h[2 * i], h[2 * i + 1], 0 };
			buf[i] = (uint8_t)strtoul(b, NULL, 16);
		}
		put_packet(g, rv_debug_access(&g->vm->cpu, addr, buf, len, true) ? "E14" : "OK");
		return;
	}
	if (rv_debug_access(&g->vm->cpu, addr, buf, len, false)) {
		put_packet(g, "E14");
		return;
	}
	for (size_t i = 0; i < len; i++)
		snprintf(g->out + 2 * i, 3, "%02x", buf[i]);
	g->out[2 * len] = 0;
	put_packet(g, g->out);
}

static void handle_bp(struct gdb *g, bool insert)
{
	uint64_t addr = strtoull(g->in + 3, NULL, 16);
	if (g->in[1] != '0' && g->in[1] != '1') {
		put_packet(g, ""); /* watchpoints: not supported */
		return;
	}
	for (int i = 0; i < g->nbp; i++) {
		if (g->bp[i] == addr) {
			if (!insert)
				g->bp[i] = g->bp[--g->nbp];
			put_packet(g, "OK");
			return;
		}
	}
	if (insert && g->nbp < MAX_BP)
		g->bp[g->nbp++] = addr;
	put_packet(g, insert && g->nbp > MAX_BP ? "E01" : "OK");
}

static void stop_reply(struct gdb *g, int exited)
{
	char r[16];
	if (exited)
		snprintf(r, sizeof(r), "W%02x", g->vm->exit.code & 0xff);
	else
		snprintf(r, sizeof(r), "S05");
	put_packet(g, r);
}

/* Serves one debugger session; returns 1 when the guest exited, 0 on detach/disconnect. */
static int session(struct gdb *g)
{
	struct rv_cpu *cpu = &g->vm->cpu;
	for (;;) {
		int n = get_packet(g);
		if (n == -1)
			return 0;
		if (n == -2) {
			stop_reply(g, 0);
			continue;
		}
		char *p = g->in;
		switch (p[0]) {
		case '?':
			stop_reply(g, 0);
			break;
		case 'g':
			for (unsigned i = 0; i < 33; i++) {
				uint64_t v;
				reg_get(cpu, i, &v);
				hex64le(g->out + 16 * i, v);
			}
			g->out[16 * 33] = 0;
			put_packet(g, g->out);
			break;
		case 'G':
			for (unsigned i = 0; i < 33 && strlen(p + 1) >= 16 * (i + 1); i++)
				reg_set(cpu, i, unhex64le(p + 1 + 16 * i));
			put_packet(g, "OK");
			break;
		case 'p': {
			uint64_t v;
			if (!reg_get(cpu, (unsigned)strtoul(p + 1, NULL, 16), &v)) {
				put_packet(g, "E01");
				break;
			}
			hex64le(g->out, v);
			g->out[16] = 0;
			put_packet(g, g->out);
			break;
		}
		case 'P': {
			char *eq = strchr(p, '=');
			unsigned r = (unsigned)strtoul(p + 1, NULL, 16);
			put_packet(g, eq && reg_set(cpu, r, unhex64le(eq + 1)) ? "OK" : "E01");
			break;
		}
		case 'm':
			handle_mem(g, false);
			break;
		case 'M':
			handle_mem(g, true);
			break;
		case 'Z':
			handle_bp(g, true);
			break;
		case 'z':
			handle_bp(g, false);
			break;
		case 'c':
		case 's': {
			if (p[1])
				cpu->pc = strtoull(p + 1, NULL, 16);
			int exited = resume(g, p[0] == 's');
			stop_reply(g, exited);
			if (exited)
				return 1;
			break;
		}
		case 'v':
			if (!strncmp(p, "vCont?", 6)) {
				put_packet(g, "vCont;c;s");
			} else if (!strncmp(p, "vCont;", 6)) {
				int exited = resume(g, p[6] == 's');
				stop_reply(g, exited);
				if (exited)
					return 1;
			} else {
				put_packet(g, "");
			}
			break;
		case 'q':
			if (!strncmp(p, "qSupported", 10))
				put_packet(g, "PacketSize=1fff");
			else if (!strcmp(p, "qAttached"))
				put_packet(g, "1");
			else if (!strcmp(p, "qC"))
				put_packet(g, "QC1");
			else if (!strcmp(p, "qfThreadInfo"))
				put_packet(g, "m1");
			else if (!strcmp(p, "qsThreadInfo"))
				put_packet(g, "l");
			else
				put_packet(g, "");
			break;
		case 'H':
		case 'T':
			put_packet(g, "OK");
			break;
		case 'D':
			put_packet(g, "OK");
			return 0;
		case 'k':
			g->vm->exit.requested = true;
			return 1;
		default:
			put_packet(g, "");
			break;
		}
	}
}

static int listen_on(const char *spec, char *err, size_t errlen)
{
	const char *port = strrchr(spec, ':');
	if (strncmp(spec, "tcp:", 4) != 0 || !port || !port[1]) {
		snprintf(err, errlen, "-gdb %s: expected tcp::PORT", spec);
		return -EINVAL;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port + 1)) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		close(fd);
		goto fail;
	}
	return fd;
fail:;
	int e = errno;
	snprintf(err, errlen, "-gdb %s: %s", spec, strerror(e));
	return -e;
}

int vm_gdb_serve(struct vm_virt *vm, const char *spec, bool wait, char *err, size_t errlen)
{
	int lfd = listen_on(spec, err, errlen);
	if (lfd < 0)
		return lfd;
	static struct gdb g;
	g.vm = vm;
	g.nbp = 0;
	if (!wait) {
		/* run until a debugger connects (checked between batches), like QEMU's -s */
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		while (poll(&p, 1, 0) == 0)
			if (vm_virt_run(vm, 100000)) {
				close(lfd);
				return 0;
			}
	}
	vm_clock_pause(&vm->clock);
	for (;;) {
		g.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (g.fd < 0) {
			int e = errno;
			close(lfd);
			snprintf(err, errlen, "gdb accept: %s", strerror(e));
			return -e;
		}
		int one = 1;
		setsockopt(g.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		int exited = session(&g);
		close(g.fd);
		if (exited || vm->exit.requested)
			break;
		/* detached: let the guest run to completion */
		vm_clock_resume(&vm->clock);
		vm_virt_run(vm, 0);
		break;
	}
	close(lfd);
	return 0;
}
