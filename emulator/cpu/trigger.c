/* trigger.c - Sdtrig as QEMU 7.2 has it (debug=true): two triggers of type 2 (mcontrol) or
 * 6 (mcontrol6) matching an execute, load or store address exactly, whose only action is a
 * breakpoint exception (tval 0) before the instruction or access, in the modes selected by
 * the M/S/U bits (M included whatever mstatus.MIE is). tdata1 keeps only those bits (and
 * mcontrol6's VS/VU); a write of another type is ignored, as is a tselect out of range. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/trigger.h"

#define TD_TYPE(v) ((unsigned)((v) >> 60))
#define TD_LOAD 1u
#define TD_STORE 2u
#define TD_EXEC 4u
#define TD_U 8u
#define TD_S 16u
#define TD_M 64u
#define TD_KEEP2 0x5fULL
#define TD_KEEP6 (0x5fULL | 3ULL << 23)

static void rearm(struct rv_cpu *cpu)
{
	struct rv_trig *t = &cpu->trig;
	t->exec_on = false;
	t->mem_on = t->nwatch > 0;
	for (int i = 0; i < RV_NTRIG; i++) {
		uint64_t d = t->tdata1[i];
		if (!(d & (TD_M | TD_S | TD_U)))
			continue;
		t->exec_on |= (d & TD_EXEC) != 0;
		t->mem_on |= (d & (TD_LOAD | TD_STORE)) != 0;
	}
	rv_tlb_flush(cpu); /* cached translations would bypass the checks */
}

void rv_trig_reset(struct rv_cpu *cpu)
{
	struct rv_trig *t = &cpu->trig;
	t->sel = 0;
	for (int i = 0; i < RV_NTRIG; i++) {
		t->tdata1[i] = 2ULL << 60;
		t->tdata2[i] = 0;
	}
	rearm(cpu);
}

int rv_trig_csr_read(struct rv_cpu *cpu, unsigned csr, uint64_t *v)
{
	struct rv_trig *t = &cpu->trig;
	if (!(cpu->ext & RV_EXT_SDTRIG))
		return -1;
	switch (csr) {
	case 0x7a0: *v = t->sel; return 0;
	case 0x7a1: *v = t->tdata1[t->sel]; return 0;
	case 0x7a2: *v = t->tdata2[t->sel]; return 0;
	case 0x7a3: *v = 0; return 0;
	case 0x7a4: *v = 1u << 2 | 1u << 6; return 0; /* tinfo: types 2 and 6 */
	default: return -1;
	}
}

int rv_trig_csr_write(struct rv_cpu *cpu, unsigned csr, uint64_t v)
{
	struct rv_trig *t = &cpu->trig;
	if (!(cpu->ext & RV_EXT_SDTRIG))
		return -1;
	switch (csr) {
	case 0x7a0:
		if (v < RV_NTRIG)
			t->sel = (unsigned)v;
		return 0;
	case 0x7a1:
		if (TD_TYPE(v) == 2)
			t->tdata1[t->sel] = 2ULL << 60 | (v & TD_KEEP2);
		else if (TD_TYPE(v) == 6)
			t->tdata1[t->sel] = 6ULL << 60 | (v & TD_KEEP6);
		else
			return 0;
		rearm(cpu);
		return 0;
	case 0x7a2: t->tdata2[t->sel] = v; return 0;
	case 0x7a3: return 0;
	case 0x7a4: return -1; /* read-only */
	default: return -1;
	}
}

bool rv_trig_valid(uint64_t sel, const uint64_t tdata1[RV_NTRIG])
{
	if (sel >= RV_NTRIG)
		return false;
	for (int i = 0; i < RV_NTRIG; i++) {
		uint64_t d = tdata1[i], keep = TD_TYPE(d) == 2 ? TD_KEEP2 : TD_KEEP6;
		if ((TD_TYPE(d) != 2 && TD_TYPE(d) != 6) || (d & ~(0xfULL << 60) & ~keep))
			return false;
	}
	return true;
}

void rv_trig_restore(struct rv_cpu *cpu, uint64_t sel, const uint64_t tdata1[RV_NTRIG],
		     const uint64_t tdata2[RV_NTRIG])
{
	struct rv_trig *t = &cpu->trig;
	t->sel = (unsigned)sel;
	for (int i = 0; i < RV_NTRIG; i++) {
		t->tdata1[i] = tdata1[i];
		t->tdata2[i] = tdata2[i];
	}
	rearm(cpu);
}

static bool mode_on(const struct rv_cpu *cpu, uint64_t d)
{
	return cpu->priv == RV_PRIV_M ? (d & TD_M) : cpu->priv == RV_PRIV_S ? (d & TD_S) : (d & TD_U);
}

bool rv_trig_exec(struct rv_cpu *cpu, uint64_t pc)
{
	struct rv_trig *t = &cpu->trig;
	for (int i = 0; i < RV_NTRIG; i++) {
		uint64_t d = t->tdata1[i];
		if ((d & TD_EXEC) && mode_on(cpu, d) && t->tdata2[i] == pc) {
			rv_raise(cpu, RV_EXC_BREAKPOINT, 0);
			return true;
		}
	}
	return false;
}

bool rv_trig_mem(struct rv_cpu *cpu, uint64_t va, unsigned size, bool write)
{
	struct rv_trig *t = &cpu->trig;
	for (int i = 0; i < RV_NTRIG; i++) {
		uint64_t d = t->tdata1[i];
		/* a match is an access any byte of which is at tdata2 */
		if ((d & (write ? TD_STORE : TD_LOAD)) && mode_on(cpu, d) && t->tdata2[i] - va < size) {
			rv_raise(cpu, RV_EXC_BREAKPOINT, 0);
			return true;
		}
	}
	for (int i = 0; i < t->nwatch; i++) {
		int kind = t->watch[i].kind;
		if (!(kind & (write ? RV_WATCH_WRITE : RV_WATCH_READ)))
			continue;
		if (va < t->watch[i].addr + t->watch[i].len && t->watch[i].addr < va + size) {
			/* stop before the instruction, as QEMU does for RISC-V (gdb steps over it
			 * with the watchpoints removed): nothing raised, pc stays at it */
			t->watch_hit = true;
			t->watch_hit_kind = kind;
			t->watch_hit_addr = t->watch[i].addr;
			cpu->budget = 0;
			return true;
		}
	}
	return false;
}

int rv_watch_insert(struct rv_cpu *cpu, uint64_t addr, uint64_t len, int kind)
{
	struct rv_trig *t = &cpu->trig;
	if (t->nwatch == RV_NWATCH)
		return -1;
	t->watch[t->nwatch].addr = addr;
	t->watch[t->nwatch].len = len ? len : 1;
	t->watch[t->nwatch].kind = kind;
	t->nwatch++;
	rearm(cpu);
	return 0;
}

int rv_watch_remove(struct rv_cpu *cpu, uint64_t addr, uint64_t len, int kind)
{
	struct rv_trig *t = &cpu->trig;
	for (int i = 0; i < t->nwatch; i++) {
		if (t->watch[i].addr == addr && t->watch[i].len == (len ? len : 1) && t->watch[i].kind == kind) {
			t->watch[i] = t->watch[--t->nwatch];
			rearm(cpu);
			return 0;
		}
	}
	return -1;
}
