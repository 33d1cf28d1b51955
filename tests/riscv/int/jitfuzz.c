/* Differential test for translated code: random straight-line programs of integer
 * instructions (RV64IM register and immediate forms, the Zba/Zbb/Zbc/Zbs/Zbkb/Zbkc/Zbkx
 * bit-manipulation ops (all but ctzw, whose QEMU 7.2 result is wrong when the low word is 0), the
 * Zicbop/Zihintntl hints, lui/auipc, loads and stores of every
 * width around a page boundary, forward branches, jal and auipc+jalr pairs) are generated
 * into one code page and each is run 30 times over a persistent register file, so strata-vm
 * compiles them (and drops the compiled code every time the page is rewritten). A hash of
 * the registers and of the data buffer after every 25 programs is printed; QEMU prints the
 * same only if every instruction behaved identically. */
/* cpu: rv64,zbkb=true,zbkc=true,zbkx=true */
#include "rvtest.h"

#include <stdbool.h>

#define PROGS 300
#define BODY 48
#define CALLS 30

static uint32_t gen_code[1024] __attribute__((aligned(4096)));
static uint8_t data[3 * 4096] __attribute__((aligned(4096)));
static uint64_t state[32]; /* x0..x31 as the generated code sees them; x1..x4 unused */

/* run_gen(state): loads x5..x31 from state, with tp = state[4] as the base of every load
 * and store, calls gen_code, stores x5..x31 back. ra, sp, gp, tp and s0..s11 are preserved. */
void run_gen(uint64_t *st);
__asm__(".globl run_gen\n"
	"run_gen:\n"
	"	addi sp, sp, -128\n"
	"	sd ra, 0(sp)\n sd gp, 8(sp)\n sd tp, 16(sp)\n sd s0, 24(sp)\n sd s1, 32(sp)\n"
	"	sd s2, 40(sp)\n sd s3, 48(sp)\n sd s4, 56(sp)\n sd s5, 64(sp)\n sd s6, 72(sp)\n"
	"	sd s7, 80(sp)\n sd s8, 88(sp)\n sd s9, 96(sp)\n sd s10, 104(sp)\n sd s11, 112(sp)\n"
	"	sd a0, 120(sp)\n"
	"	ld tp, 32(a0)\n"
	"	ld x5, 40(a0)\n ld x6, 48(a0)\n ld x7, 56(a0)\n ld x8, 64(a0)\n ld x9, 72(a0)\n"
	"	ld x11, 88(a0)\n ld x12, 96(a0)\n ld x13, 104(a0)\n ld x14, 112(a0)\n ld x15, 120(a0)\n"
	"	ld x16, 128(a0)\n ld x17, 136(a0)\n ld x18, 144(a0)\n ld x19, 152(a0)\n ld x20, 160(a0)\n"
	"	ld x21, 168(a0)\n ld x22, 176(a0)\n ld x23, 184(a0)\n ld x24, 192(a0)\n ld x25, 200(a0)\n"
	"	ld x26, 208(a0)\n ld x27, 216(a0)\n ld x28, 224(a0)\n ld x29, 232(a0)\n ld x30, 240(a0)\n"
	"	ld x31, 248(a0)\n ld x10, 80(a0)\n"
	"	call gen_code\n"
	"	ld ra, 120(sp)\n"
	"	sd x5, 40(ra)\n sd x6, 48(ra)\n sd x7, 56(ra)\n sd x8, 64(ra)\n sd x9, 72(ra)\n"
	"	sd x10, 80(ra)\n sd x11, 88(ra)\n sd x12, 96(ra)\n sd x13, 104(ra)\n sd x14, 112(ra)\n"
	"	sd x15, 120(ra)\n sd x16, 128(ra)\n sd x17, 136(ra)\n sd x18, 144(ra)\n sd x19, 152(ra)\n"
	"	sd x20, 160(ra)\n sd x21, 168(ra)\n sd x22, 176(ra)\n sd x23, 184(ra)\n sd x24, 192(ra)\n"
	"	sd x25, 200(ra)\n sd x26, 208(ra)\n sd x27, 216(ra)\n sd x28, 224(ra)\n sd x29, 232(ra)\n"
	"	sd x30, 240(ra)\n sd x31, 248(ra)\n"
	"	ld ra, 0(sp)\n ld gp, 8(sp)\n ld tp, 16(sp)\n ld s0, 24(sp)\n ld s1, 32(sp)\n"
	"	ld s2, 40(sp)\n ld s3, 48(sp)\n ld s4, 56(sp)\n ld s5, 64(sp)\n ld s6, 72(sp)\n"
	"	ld s7, 80(sp)\n ld s8, 88(sp)\n ld s9, 96(sp)\n ld s10, 104(sp)\n ld s11, 112(sp)\n"
	"	addi sp, sp, 128\n"
	"	ret\n");

#ifndef JITFUZZ_SEED /* other seeds: build by hand with -DJITFUZZ_SEED=N (docs/emulator.md) */
#define JITFUZZ_SEED 0x9e3779b97f4a7c15ULL
#endif
static uint64_t seed = JITFUZZ_SEED;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(seed >> 33) % n;
}

static uint32_t rd_any(void) { return 5 + rnd(27); }	  /* x5..x31 */
static uint32_t rs_any(void) { return rnd(8) ? 5 + rnd(27) : rnd(5); } /* mostly x5..x31 */

static uint32_t r_type(uint32_t f7, uint32_t f3, uint32_t op)
{
	return f7 << 25 | rs_any() << 20 | rs_any() << 15 | f3 << 12 | rd_any() << 7 | op;
}

static uint32_t i_type(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op)
{
	return (uint32_t)(imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t b_type(int32_t off, uint32_t f3)
{
	uint32_t u = (uint32_t)off;
	return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs_any() << 20 | rs_any() << 15 | f3 << 12 |
	       ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}

static uint32_t j_type(int32_t off, uint32_t rd)
{
	uint32_t u = (uint32_t)off;
	return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 | ((u >> 12) & 0xff) << 12 |
	       rd << 7 | 0x6f;
}

static int32_t simm12(void)
{
	static const int32_t edge[] = { 0, 1, -1, 2047, -2048, 31, 32, 63, 64, -64, 0x7f, 0x80 };
	return rnd(3) ? (int32_t)rnd(4096) - 2048 : edge[rnd(12)];
}

/* A bit-manipulation instruction: register-register, shift-amount immediate or unary. */
static uint32_t gen_bitmanip(void)
{
	static const uint8_t rr[][3] = { /* opcode, funct3, funct7 */
		{ 0x33, 2, 0x10 }, { 0x33, 4, 0x10 }, { 0x33, 6, 0x10 }, { 0x3b, 0, 0x04 }, { 0x3b, 2, 0x10 },
		{ 0x3b, 4, 0x10 }, { 0x3b, 6, 0x10 }, { 0x33, 7, 0x20 }, { 0x33, 6, 0x20 }, { 0x33, 4, 0x20 },
		{ 0x33, 4, 0x05 }, { 0x33, 5, 0x05 }, { 0x33, 6, 0x05 }, { 0x33, 7, 0x05 }, { 0x33, 1, 0x30 },
		{ 0x33, 5, 0x30 }, { 0x3b, 1, 0x30 }, { 0x3b, 5, 0x30 }, { 0x33, 1, 0x05 }, { 0x33, 2, 0x05 },
		{ 0x33, 3, 0x05 }, { 0x33, 1, 0x24 }, { 0x33, 5, 0x24 }, { 0x33, 1, 0x34 }, { 0x33, 1, 0x14 },
		{ 0x33, 4, 0x04 }, { 0x33, 7, 0x04 }, { 0x3b, 4, 0x04 }, { 0x33, 2, 0x14 }, { 0x33, 4, 0x14 },
	};
	static const uint8_t sh[][3] = { /* opcode, funct3, imm[11:6] */
		{ 0x13, 1, 0x12 }, { 0x13, 1, 0x1a }, { 0x13, 1, 0x0a }, { 0x13, 5, 0x18 }, { 0x13, 5, 0x12 },
		{ 0x1b, 1, 0x02 },
	};
	static const uint16_t unary[][2] = { /* opcode, imm[11:0] */
		{ 0x13, 0x1600 }, { 0x13, 0x1601 }, { 0x13, 0x1602 }, { 0x13, 0x1604 }, { 0x13, 0x1605 },
		{ 0x1b, 0x1600 }, { 0x1b, 0x1602 }, { 0x13, 0x5287 }, { 0x13, 0x56b8 }, { 0x13, 0x5687 },
	}; /* funct3 in bits 12..15 of the immediate word */
	uint32_t k = rnd(10);
	if (k < 6) {
		const uint8_t *e = rr[rnd(sizeof(rr) / sizeof(rr[0]))];
		uint32_t c = r_type(e[2], e[1], e[0]);
		if (e[0] == 0x3b && e[2] == 0x04 && e[1] == 4 && rnd(2))
			c &= ~(31u << 20); /* zext.h */
		return c;
	}
	if (k < 8) {
		const uint8_t *e = sh[rnd(sizeof(sh) / sizeof(sh[0]))];
		return i_type((int32_t)((uint32_t)e[2] << 6 | rnd(64)), rs_any(), e[1], rd_any(), e[0]);
	}
	if (k == 8) /* roriw */
		return i_type((int32_t)(0x600 | rnd(32)), rs_any(), 5, rd_any(), 0x1b);
	const uint16_t *u = unary[rnd(sizeof(unary) / sizeof(unary[0]))];
	return i_type(u[1] & 0xfff, rs_any(), u[1] >> 12, rd_any(), u[0]);
}

/* One instruction at gen_code[i]; returns 1, or -1 for a branch or jal and -2 for an
 * auipc+jalr pair, whose offsets generate() fills in. `left` is the number of slots up to the
 * final ret. */
static int gen_one(uint32_t *c, int left)
{
	static const uint32_t alu_f3[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	uint32_t k = rnd(21);
	uint32_t f3 = alu_f3[rnd(8)];
	switch (k) {
	case 0: case 1: /* OP: add/sub sll slt sltu xor srl/sra or and, or M */
		if (rnd(3) == 0)
			c[0] = r_type(1, f3, 0x33);
		else
			c[0] = r_type((f3 == 0 || f3 == 5) && rnd(2) ? 0x20 : 0, f3, 0x33);
		return 1;
	case 2: { /* OP-32: addw/subw sllw srlw/sraw, or M (mulw divw divuw remw remuw) */
		static const uint32_t w3[] = { 0, 1, 5 }, m3[] = { 0, 4, 5, 6, 7 };
		if (rnd(2))
			c[0] = r_type(1, m3[rnd(5)], 0x3b);
		else {
			uint32_t g = w3[rnd(3)];
			c[0] = r_type(g != 1 && rnd(2) ? 0x20 : 0, g, 0x3b);
		}
		return 1;
	}
	case 3: case 4: /* OP-IMM */
		if (f3 == 1)
			c[0] = i_type((int32_t)rnd(64), rs_any(), 1, rd_any(), 0x13);
		else if (f3 == 5)
			c[0] = i_type((int32_t)(rnd(64) | (rnd(2) ? 0x400 : 0)), rs_any(), 5, rd_any(), 0x13);
		else
			c[0] = i_type(simm12(), rs_any(), f3, rd_any(), 0x13);
		return 1;
	case 5: { /* OP-IMM-32 */
		static const uint32_t g[] = { 0, 1, 5 };
		uint32_t h = g[rnd(3)];
		int32_t imm = h == 0 ? simm12() : (int32_t)(rnd(32) | (h == 5 && rnd(2) ? 0x400 : 0));
		c[0] = i_type(imm, rs_any(), h, rd_any(), 0x1b);
		return 1;
	}
	case 6: /* lui / auipc */
		c[0] = (rnd(1u << 20) << 12) | rd_any() << 7 | (rnd(2) ? 0x37 : 0x17);
		return 1;
	case 7: case 8: { /* loads of every width, base tp (x4) */
		static const uint32_t l3[] = { 0, 1, 2, 3, 4, 5, 6 };
		c[0] = i_type(simm12(), 4, l3[rnd(7)], rnd(9) ? rd_any() : 0, 0x03);
		return 1;
	}
	case 9: case 10: { /* stores */
		int32_t imm = simm12();
		uint32_t u = (uint32_t)imm;
		c[0] = ((u >> 5) & 0x7f) << 25 | rs_any() << 20 | 4u << 15 | rnd(4) << 12 | (u & 0x1f) << 7 | 0x23;
		return 1;
	}
	case 11: case 12: /* forward conditional branch; its target is chosen in generate() */
	case 13: {	  /* jal forward, with or without a link; likewise */
		static const uint32_t b3[] = { 0, 1, 4, 5, 6, 7 };
		c[0] = k == 13 ? j_type(0, rnd(2) ? rd_any() : 0) : b_type(0, b3[rnd(6)]);
		return -1;
	}
	case 14: { /* auipc t, 0 ; jalr rd, off(t): an indirect jump forward, filled in later */
		if (left < 3) {
			c[0] = 0x00000013; /* nop */
			return 1;
		}
		uint32_t t = rd_any();
		c[0] = t << 7 | 0x17;
		c[1] = i_type(0, t, 0, rnd(2) ? rd_any() : 0, 0x67);
		return -2;
	}
	case 15: /* Zicbop prefetch.i/r/w (ori x0 with offset bits 4:0 = 0/1/3) and Zihintntl
		  * ntl.p1/pall/s1/all (add x0, x0, x2..x5): hints that change nothing */
		if (rnd(2)) {
			static const uint32_t kind[] = { 0, 1, 3 };
			c[0] = i_type((int32_t)((rnd(128) << 5) | kind[rnd(3)]), rs_any(), 6, 0, 0x13);
		} else {
			c[0] = (2 + rnd(4)) << 20 | 0x33;
		}
		return 1;
	case 16: case 17: case 18: case 19:
		c[0] = gen_bitmanip();
		return 1;
	default: /* fence / fence.i are no-ops for the data */
		c[0] = rnd(2) ? 0x0ff0000f : 0x0000100f;
		return 1;
	}
}

/* Forward targets never land on the jalr of an auipc+jalr pair (its base would be stale). */
static void generate(void)
{
	static bool second[BODY + 1];
	static int fix[BODY], nfix;
	int i = 0;
	nfix = 0;
	memset(second, 0, sizeof(second));
	while (i < BODY) {
		int n = gen_one(&gen_code[i], BODY - i);
		if (n < 0) {
			fix[nfix++] = i;
			if (n == -2)
				second[i + 1] = true;
			n = -n;
		}
		i += n;
	}
	gen_code[i] = 0x00008067; /* ret */
	for (int f = 0; f < nfix; f++) {
		int at = fix[f];
		uint32_t c = gen_code[at];
		bool pair = (c & 0x7f) == 0x17;
		int t = at + (pair ? 2 : 1) + (int)rnd(8);
		if (t > BODY)
			t = BODY;
		if (second[t])
			t++;
		uint32_t u = (uint32_t)(4 * (t - at));
		if (pair) /* jalr's immediate, relative to the auipc */
			gen_code[at + 1] = (gen_code[at + 1] & 0xfffffu) | u << 20;
		else if ((c & 0x7f) == 0x6f) /* jal: keep rd */
			gen_code[at] = j_type((int32_t)u, (c >> 7) & 31);
		else /* branch: keep rs1, rs2 and funct3 */
			gen_code[at] = (c & 0x01fff000u) | ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 |
				       ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
	}
	__asm__ volatile("fence.i" ::: "memory");
}

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	for (int r = 5; r < 32; r++)
		state[r] = (uint64_t)r * 0x0123456789abcdefULL ^ ((uint64_t)r << 60);
	state[4] = (uint64_t)&data[4096 + 2048]; /* loads and stores reach 2 KiB either side */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int p = 0; p < PROGS; p++) {
		generate();
		for (int k = 0; k < CALLS; k++)
			run_gen(state);
		h = hash(h, &state[5], 27 * 8);
		if (p % 25 == 24) {
			h = hash(h, data, sizeof(data));
			rv_puts("programs ");
			rv_putdec(p - 24);
			rv_puts("..");
			rv_putdec(p);
			rv_puts(": ");
			rv_puthex64(h);
			rv_putc('\n');
		}
	}
	return 0;
}
