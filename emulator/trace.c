/* trace.c - see trace.h. Tracing installs hooks on the CPU; without -d the hooks are NULL
 * and cost one predictable branch per instruction. */
#include "emulator/trace.h"
#include "emulator/disasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *priv_name(int p)
{
	return p == RV_PRIV_M ? "M" : p == RV_PRIV_S ? "S" : "U";
}

static void trace_insn(struct rv_cpu *cpu, uint64_t pc, uint32_t raw, int len)
{
	struct vm_trace *t = cpu->trace_opaque;
	char text[64];
	vm_disasm(raw, pc, text, sizeof(text));
	if (t->exec)
		fprintf(t->log, "exec %s pc=%016llx insn=%0*x %s\n", priv_name(cpu->priv), (unsigned long long)pc,
			len == 2 ? 4 : 8, raw, text);
	if (t->in_asm) {
		size_t h = (size_t)((pc >> 1) * 0x9e3779b97f4a7c15ULL) & t->seen_mask;
		while (t->seen[h] != ~0ULL && t->seen[h] != pc)
			h = (h + 1) & t->seen_mask;
		if (t->seen[h] == ~0ULL) {
			t->seen[h] = pc;
			fprintf(t->log, "in_asm pc=%016llx insn=%0*x %s\n", (unsigned long long)pc, len == 2 ? 4 : 8, raw,
				text);
		}
	}
}

static void trace_trap(struct rv_cpu *cpu, uint64_t cause, uint64_t epc, uint64_t tval)
{
	struct vm_trace *t = cpu->trace_opaque;
	fprintf(t->log, "int %s cause=%016llx epc=%016llx tval=%016llx\n", priv_name(cpu->priv),
		(unsigned long long)cause, (unsigned long long)epc, (unsigned long long)tval);
}

int vm_trace_open(struct vm_trace *t, struct rv_cpu *cpu, const char *flags, const char *file, char *err,
		  size_t errlen)
{
	memset(t, 0, sizeof(*t));
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", flags);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "in_asm"))
			t->in_asm = true;
		else if (!strcmp(tok, "exec"))
			t->exec = true;
		else if (!strcmp(tok, "int"))
			t->intr = true;
		else {
			snprintf(err, errlen, "unknown -d item '%s' (in_asm, int, exec)", tok);
			return -EINVAL;
		}
	}
	t->log = file ? fopen(file, "w") : stderr;
	if (!t->log) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -errno;
	}
	if (t->in_asm) {
		t->seen_mask = (1u << 20) - 1; /* a bounded table: tracing a huge program saturates it */
		t->seen = malloc((t->seen_mask + 1) * sizeof(uint64_t));
		if (!t->seen) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		memset(t->seen, 0xff, (t->seen_mask + 1) * sizeof(uint64_t));
	}
	cpu->trace_opaque = t;
	if (t->in_asm || t->exec)
		cpu->trace = trace_insn;
	if (t->intr)
		cpu->trace_trap = trace_trap;
	return 0;
}

void vm_trace_close(struct vm_trace *t)
{
	if (t->log && t->log != stderr)
		fclose(t->log);
	free(t->seen);
	t->seen = NULL;
}
