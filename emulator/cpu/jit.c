/* jit.c - the JIT's code buffer and its block driver: rv_jit_compile reads the block's
 * instructions ahead (for register eviction), then emits the prologue, each instruction and
 * the out-of-line exits (see jit.h for the model, jit-priv.h for the modules).
 */
#include "emulator/cpu/jit.h"
#include "emulator/host/hugemem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)

#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/ops.h"

#include <sys/mman.h>

/* ---- code buffer ---- */

int rv_jit_init(struct rv_cpu *cpu, unsigned threshold)
{
	struct rv_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->buf = vm_huge_map(JIT_BUF_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (!j->buf) { /* e.g. a policy forbidding writable executable memory */
		int err = errno;
		free(j);
		return -err;
	}
	const char *dump = getenv("STRATA_JIT_DUMP");
	if (dump && *dump)
		j->dump = fopen(dump, "w");
	cpu->jit = j;
	cpu->jc_base = j->buf;
	cpu->jit_threshold = threshold < 1 ? 1 : threshold > 254 ? 254 : threshold;
	return 0;
}

void rv_jit_destroy(struct rv_cpu *cpu)
{
	if (!cpu->jit)
		return;
	if (cpu->jit->dump)
		fclose(cpu->jit->dump);
	vm_huge_unmap(cpu->jit->buf, JIT_BUF_SIZE);
	free(cpu->jit);
	cpu->jit = NULL;
}

void rv_jit_stats(const struct rv_cpu *cpu, uint64_t *blocks, uint64_t *flushes)
{
	*blocks = cpu->jit ? cpu->jit->blocks : 0;
	*flushes = cpu->jit ? cpu->jit->flushes : 0;
}

/* Drops every block (the buffer is full). Only called between blocks. */
static void jit_flush(struct rv_cpu *cpu)
{
	rv_dpages_drop_blocks(cpu);
	cpu->jit->used = 0;
	cpu->jit->flushes++;
	rv_jc_bump(cpu); /* the jump cache points into the buffer */
}

/* A debugging aid: one perf-map line per block ("host-address size rv:pc", the format of
 * perf's /tmp/perf-PID.map) followed by the block's code in hex. */
static void jit_dump(struct rv_jit *j, uint64_t pc, const uint8_t *code, size_t len)
{
	fprintf(j->dump, "%lx %zx rv:%llx\n", (unsigned long)(uintptr_t)code, len, (unsigned long long)pc);
	for (size_t i = 0; i < len; i++)
		fprintf(j->dump, "%02x%s", code[i], i + 1 == len || i % 32 == 31 ? "\n" : "");
}

rv_block_fn rv_jit_compile(struct rv_cpu *cpu, uint64_t pc)
{
	struct rv_jit *j = cpu->jit;
	if (JIT_BUF_SIZE - j->used < JIT_BLOCK_ROOM)
		jit_flush(cpu);

	struct tctx t = { .cpu = cpu, .jit = j, .dp = cpu->fetch_dp, .entry_slot = (unsigned)(pc & 0xfff) >> 1 };
	jit_rc_reset(&t.rc);
	for (unsigned pg = (unsigned)(pc & 0xfff); t.nahead < RV_JIT_MAX_INSNS && pg < 4096;) {
		struct rv_insn *in = jit_slot_at(&t, pg);
		if (!in)
			break;
		jit_insn_regs(in, &t.rs[t.nahead], &t.rd[t.nahead]);
		t.ahead[t.nahead++] = in;
		bool branch = (in->op >= OP_BEQ && in->op <= OP_BGEU) || in->op == OP_JAL;
		if (branch && (int64_t)pg + in->imm == (int64_t)(pc & 0xfff)) {
			t.loop = true; /* a jump back to the entry */
			t.loop_end = t.nahead; /* the loop body: ahead[0 .. loop_end) */
		}
		if (in->op == OP_JAL || in->op == OP_JALR)
			break;
		pg += in->len;
	}
	jit_fuse_block(&t);
	t.start = j->buf + j->used + JIT_HEADER; /* the header: the block's length (jit.h) */
	t.b = (struct xbuf){ t.start, j->buf + JIT_BUF_SIZE, false };
	jit_emit_prologue(&t.b);
	j->body = (size_t)(t.b.p - t.start);
	t.body = t.b.p;
	if (t.loop)
		jit_rc_enter_loop(&t);

	unsigned pgoff = (unsigned)(pc & 0xfff), n = 0;
	int32_t off = 0;
	int more = 1;
	while (n < RV_JIT_MAX_INSNS && pgoff < 4096) {
		struct rv_insn *in = jit_slot_at(&t, pgoff);
		if (!in)
			break;
		t.cur = n;
		jit_bind_forward(&t, n);
		t.pin = t.rc.clock + 1;
		more = jit_emit_insn(&t, in, off, n);
		if (more < 0)
			break;
		unsigned len = in->len;
		if (more == 2) /* a branch over the next instruction took it in */
			len += t.ahead[++n]->len;
		n++;
		off += (int32_t)len;
		pgoff += len;
		if (!more)
			break;
	}
	if (n == 0 || t.b.full)
		return NULL;
	if (more) /* ran into the length limit, the page end or an instruction left to C */
		jit_emit_goto_from(&t, &t.rc, off, n);
	jit_emit_stubs(&t);
	if (t.b.full)
		return NULL;
	if (j->dump)
		jit_dump(j, pc, t.start, (size_t)(t.b.p - t.start));
	uint32_t len = n;
	memcpy(t.start - 4, &len, 4);
	j->used = (size_t)(t.b.p - j->buf + 15) & ~(size_t)15;
	j->blocks++;
	t.dp->jit[t.entry_slot] = t.start;
	return (rv_block_fn)(void *)t.start;
}


#else /* no code generator for this host */

int rv_jit_init(struct rv_cpu *cpu, unsigned threshold)
{
	(void)cpu;
	(void)threshold;
	return -ENOSYS;
}

void rv_jit_destroy(struct rv_cpu *cpu)
{
	(void)cpu;
}

rv_block_fn rv_jit_compile(struct rv_cpu *cpu, uint64_t pc)
{
	(void)cpu;
	(void)pc;
	return NULL;
}

void rv_jit_stats(const struct rv_cpu *cpu, uint64_t *blocks, uint64_t *flushes)
{
	(void)cpu;
	*blocks = *flushes = 0;
}

#endif
