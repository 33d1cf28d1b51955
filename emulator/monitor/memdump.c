/* memdump.c - HMP's x, xp and print: QEMU's /fmt parsing (count, format o/x/d/u/c/i, size
 * b/h/w/g, sticky defaults), its expression syntax (+ - * / % & | ^ ~ ( ) 'c' numbers and
 * $registers) and its dump layout (8 bytes a line for bytes, 16 otherwise). */
#include "emulator/disasm.h"
#include "emulator/cpu/cpu.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct expr {
	const char *p;
	jmp_buf fail;
	char msg[96];
};

static void expr_error(struct expr *e, const char *msg, char c)
{
	snprintf(e->msg, sizeof(e->msg), msg, c);
	longjmp(e->fail, 1);
}

static void skip(struct expr *e)
{
	while (*e->p && isspace((unsigned char)*e->p))
		e->p++;
}

static const char *const abi[32] = { "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
				     "a1",   "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
				     "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6" };

/* $pc, $x0..$x31, ABI names, $fp (s0), a few CSRs. QEMU 7.2 has no riscv register table for
 * the monitor ("unknown register"); strata-vm adds one. */
static bool reg_value(const char *name, uint64_t *v)
{
	const struct rv_cpu *cpu = &vm_mon_ctx.vm->cpu;
	struct { const char *n; uint64_t v; } csrs[] = {
		{ "pc", cpu->pc },	     { "fp", cpu->x[8] },	  { "mstatus", cpu->mstatus },
		{ "mepc", cpu->mepc },	     { "mcause", cpu->mcause },	  { "mtval", cpu->mtval },
		{ "mtvec", cpu->mtvec },     { "sepc", cpu->sepc },	  { "scause", cpu->scause },
		{ "stval", cpu->stval },     { "stvec", cpu->stvec },	  { "satp", cpu->satp },
		{ "mie", cpu->mie },	     { "mip", rv_mip(cpu) },	  { "priv", (uint64_t)cpu->priv },
	};
	for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
		if (!strcmp(name, csrs[i].n)) {
			*v = csrs[i].v;
			return true;
		}
	for (int i = 0; i < 32; i++) {
		char xn[16];
		snprintf(xn, sizeof(xn), "x%d", i);
		if (!strcmp(name, abi[i]) || !strcmp(name, xn)) {
			*v = cpu->x[i];
			return true;
		}
	}
	return false;
}

static uint64_t expr_sum(struct expr *e);

static uint64_t expr_unary(struct expr *e)
{
	uint64_t n;
	skip(e);
	char c = *e->p;
	switch (c) {
	case '+':
		e->p++;
		return expr_unary(e);
	case '-':
		e->p++;
		return -expr_unary(e);
	case '~':
		e->p++;
		return ~expr_unary(e);
	case '(':
		e->p++;
		n = expr_sum(e);
		skip(e);
		if (*e->p != ')')
			expr_error(e, "')' expected", 0);
		e->p++;
		break;
	case '\'':
		n = (unsigned char)e->p[1];
		if (!n)
			expr_error(e, "character constant expected", 0);
		e->p += 2;
		if (*e->p != '\'')
			expr_error(e, "missing terminating ' character", 0);
		e->p++;
		break;
	case '$': {
		char name[32];
		size_t k = 0;
		e->p++;
		while ((isalnum((unsigned char)*e->p) || *e->p == '_' || *e->p == '.') && k + 1 < sizeof(name))
			name[k++] = *e->p++;
		name[k] = 0;
		if (!reg_value(name, &n))
			expr_error(e, "unknown register", 0);
		break;
	}
	case '\0':
		expr_error(e, "unexpected end of expression", 0);
		return 0;
	default: {
		char *end;
		errno = 0;
		n = strtoull(e->p, &end, 0);
		if (errno == ERANGE)
			expr_error(e, "number too large", 0);
		if (end == e->p)
			expr_error(e, "invalid char '%c' in expression", c);
		e->p = end;
		break;
	}
	}
	skip(e);
	return n;
}

static uint64_t expr_prod(struct expr *e)
{
	uint64_t v = expr_unary(e);
	for (;;) {
		char op = *e->p;
		if (op != '*' && op != '/' && op != '%')
			return v;
		e->p++;
		uint64_t r = expr_unary(e);
		if (op == '*') {
			v *= r;
		} else {
			if (!r)
				expr_error(e, "division by zero", 0);
			v = op == '/' ? (uint64_t)((int64_t)v / (int64_t)r) : (uint64_t)((int64_t)v % (int64_t)r);
		}
	}
}

static uint64_t expr_logic(struct expr *e)
{
	uint64_t v = expr_prod(e);
	for (;;) {
		char op = *e->p;
		if (op != '&' && op != '|' && op != '^')
			return v;
		e->p++;
		uint64_t r = expr_prod(e);
		v = op == '&' ? v & r : op == '|' ? v | r : v ^ r;
	}
}

static uint64_t expr_sum(struct expr *e)
{
	uint64_t v = expr_logic(e);
	for (;;) {
		char op = *e->p;
		if (op != '+' && op != '-')
			return v;
		e->p++;
		uint64_t r = expr_logic(e);
		v = op == '+' ? v + r : v - r;
	}
}

struct fmt {
	int count, size;
	char format;
};

/* Parses an optional /fmt, then one expression that must end the line. 0, or -1 after
 * printing QEMU's error. */
static int parse_args(const char *args, struct fmt *f, uint64_t *val, struct vm_mon_text *out, const char *name,
		      const char *typed)
{
	const char *p = args;
	while (*p && isspace((unsigned char)*p))
		p++;
	f->count = 1;
	if (*p == '/') {
		p++;
		if (isdigit((unsigned char)*p))
			f->count = (int)strtoul(p, (char **)&p, 10);
		int size = -1, format = -1;
		for (;; p++) {
			if (strchr("oxdu ic", *p) && *p && *p != ' ')
				format = *p;
			else if (*p == 'b')
				size = 1;
			else if (*p == 'h')
				size = 2;
			else if (*p == 'w')
				size = 4;
			else if (*p == 'g' || *p == 'L')
				size = 8;
			else
				break;
		}
		if (*p && !isspace((unsigned char)*p)) {
			vm_mon_printf(out, "invalid char in format: '%c'\nTry \"help %s\" for more information\n", *p, typed);
			return -1;
		}
		if (format < 0)
			format = vm_mon_ctx.last_format;
		if (format != 'i') {
			if (size < 0)
				size = vm_mon_ctx.last_size;
			vm_mon_ctx.last_size = size;
		}
		vm_mon_ctx.last_format = (char)format;
		f->format = (char)format;
		f->size = size;
	} else {
		f->format = vm_mon_ctx.last_format;
		f->size = f->format == 'i' ? -1 : vm_mon_ctx.last_size;
	}
	struct expr e = { .p = p };
	if (setjmp(e.fail)) {
		vm_mon_printf(out, "%s\nTry \"help %s\" for more information\n", e.msg, typed);
		return -1;
	}
	*val = expr_sum(&e);
	skip(&e);
	if (*e.p) {
		vm_mon_printf(out, "%s: extraneous characters at the end of line\nTry \"help %s\" for more information\n",
			      name, typed);
		return -1;
	}
	return 0;
}

static void printc(struct vm_mon_text *out, unsigned c)
{
	switch (c) {
	case '\'': vm_mon_printf(out, "'\\''"); break;
	case '\\': vm_mon_printf(out, "'\\\\'"); break;
	case '\n': vm_mon_printf(out, "'\\n'"); break;
	case '\r': vm_mon_printf(out, "'\\r'"); break;
	default:
		if (c >= 32 && c <= 126)
			vm_mon_printf(out, "'%c'", c);
		else
			vm_mon_printf(out, "'\\x%02x'", c & 0xff);
	}
}

void vm_hmp_print(const char *args, struct vm_mon_text *out, const char *typed)
{
	struct fmt f;
	uint64_t v;
	if (parse_args(args, &f, &v, out, "print|p", typed))
		return;
	switch (f.format) {
	case 'o': vm_mon_printf(out, "%#llo", (unsigned long long)v); break;
	case 'x': vm_mon_printf(out, "%#llx", (unsigned long long)v); break;
	case 'u': vm_mon_printf(out, "%llu", (unsigned long long)v); break;
	case 'c': printc(out, (unsigned)(v & 0xff)); break;
	default: vm_mon_printf(out, "%lld", (long long)v); break;
	}
	vm_mon_printf(out, "\n");
}

static int read_mem(uint64_t addr, void *buf, size_t len, bool physical)
{
	struct vm_virt *vm = vm_mon_ctx.vm;
	if (!physical)
		return rv_debug_access(&vm->cpu, addr, buf, len, false);
	const uint8_t *ram = vm_bus_readable(&vm->bus, addr, len);
	if (ram) {
		memcpy(buf, ram, len);
		return 0;
	}
	return -EFAULT;
}

/* x/i: QEMU's layout, one instruction a line. An address that cannot be read prints QEMU
 * 7.2's disassembler message and, as there, moves on by 5 (its error code taken for a length). */
static void dump_insns(uint64_t addr, int64_t count, bool physical, struct vm_mon_text *out)
{
	for (int64_t i = 0; i < count; i++) {
		uint8_t b[4] = { 0 };
		char text[160];
		vm_mon_printf(out, "0x%016llx:  ", (unsigned long long)addr);
		if (read_mem(addr, b, 2, physical)) {
			vm_mon_printf(out, "Address 0x%llx is out of bounds.\n\n", (unsigned long long)addr);
			addr += 5;
			continue;
		}
		uint32_t raw = (uint32_t)b[0] | (uint32_t)b[1] << 8;
		if ((raw & 3) == 3 && !read_mem(addr + 2, b + 2, 2, physical)) /* else the low half, as QEMU */
			raw |= (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		int n = vm_disasm_hmp(raw, addr, text, sizeof(text));
		vm_mon_printf(out, "%s\n", text);
		addr += (uint64_t)n;
	}
}

void vm_hmp_memdump(const char *args, bool physical, struct vm_mon_text *out, const char *typed)
{
	struct fmt f;
	uint64_t addr;
	if (parse_args(args, &f, &addr, out, physical ? "xp" : "x", typed))
		return;
	int wsize = f.size;
	if (f.format == 'i') {
		dump_insns(addr, f.count, physical, out);
		return;
	}
	if (f.format == 'c')
		wsize = 1;
	int line_size = wsize == 1 ? 8 : 16;
	int max_digits = f.format == 'o' ? (wsize * 8 + 2) / 3
			 : f.format == 'x' ? wsize * 2
			 : (f.format == 'u' || f.format == 'd') ? (wsize * 8 * 10 + 32) / 33 : 0;
	int64_t len = (int64_t)wsize * f.count;
	while (len > 0) {
		vm_mon_printf(out, "%016llx:", (unsigned long long)addr);
		int l = len > line_size ? line_size : (int)len;
		uint8_t buf[16];
		if (read_mem(addr, buf, (size_t)l, physical)) {
			vm_mon_printf(out, " Cannot access memory\n");
			return;
		}
		for (int i = 0; i < l; i += wsize) {
			uint64_t v = 0;
			for (int k = wsize - 1; k >= 0; k--)
				v = v << 8 | buf[i + k];
			vm_mon_printf(out, " ");
			switch (f.format) {
			case 'o': vm_mon_printf(out, "%#*llo", max_digits, (unsigned long long)v); break;
			case 'x': vm_mon_printf(out, "0x%0*llx", max_digits, (unsigned long long)v); break;
			case 'u': vm_mon_printf(out, "%*llu", max_digits, (unsigned long long)v); break;
			case 'd': vm_mon_printf(out, "%*lld", max_digits, (long long)v); break;
			case 'c': printc(out, (unsigned)v); break;
			}
		}
		vm_mon_printf(out, "\n");
		addr += (uint64_t)l;
		len -= l;
	}
}
