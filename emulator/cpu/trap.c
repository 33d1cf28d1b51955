/* trap.c - exception and interrupt entry, delegation, xRET. */
#include "emulator/cpu/cpu.h"

void rv_set_priv(struct rv_cpu *cpu, int priv)
{
	cpu->priv = priv;
	rv_tlb_switch(cpu); /* entries are kept per privilege (mmu.c) */
}

void rv_take_trap(struct rv_cpu *cpu, uint64_t cause, bool irq, uint64_t tval)
{
	uint64_t deleg = irq ? cpu->mideleg : cpu->medeleg;
	uint64_t epc = cpu->pc;
	uint64_t mcause = cause | (irq ? 1ULL << 63 : 0);

	if (cpu->trace_trap)
		cpu->trace_trap(cpu, mcause, epc, tval);
	cpu->wfi = false;
	if (cpu->priv <= RV_PRIV_S && ((deleg >> cause) & 1)) {
		uint64_t s = cpu->mstatus;
		s = (s & ~RV_MS_SPIE) | ((s & RV_MS_SIE) ? RV_MS_SPIE : 0);
		s &= ~(RV_MS_SIE | RV_MS_SPP);
		if (cpu->priv == RV_PRIV_S)
			s |= RV_MS_SPP;
		cpu->mstatus = s;
		cpu->scause = mcause;
		cpu->sepc = epc;
		cpu->stval = tval;
		uint64_t base = cpu->stvec & ~3ULL;
		cpu->pc = (irq && (cpu->stvec & 1)) ? base + 4 * cause : base;
		rv_set_priv(cpu, RV_PRIV_S);
	} else {
		uint64_t s = cpu->mstatus;
		s = (s & ~RV_MS_MPIE) | ((s & RV_MS_MIE) ? RV_MS_MPIE : 0);
		s &= ~(RV_MS_MIE | RV_MS_MPP);
		s |= (uint64_t)cpu->priv << RV_MS_MPP_SHIFT;
		cpu->mstatus = s;
		cpu->mcause = mcause;
		cpu->mepc = epc;
		cpu->mtval = tval;
		uint64_t base = cpu->mtvec & ~3ULL;
		cpu->pc = (irq && (cpu->mtvec & 1)) ? base + 4 * cause : base;
		rv_set_priv(cpu, RV_PRIV_M);
	}
}

void rv_raise(struct rv_cpu *cpu, uint64_t cause, uint64_t tval)
{
	rv_take_trap(cpu, cause, false, tval);
}

void rv_mret(struct rv_cpu *cpu)
{
	uint64_t s = cpu->mstatus;
	int mpp = (int)((s >> RV_MS_MPP_SHIFT) & 3);
	s = (s & ~RV_MS_MIE) | ((s & RV_MS_MPIE) ? RV_MS_MIE : 0);
	s |= RV_MS_MPIE;
	s &= ~RV_MS_MPP; /* MPP := U, the least-privileged mode */
	if (mpp != RV_PRIV_M)
		s &= ~RV_MS_MPRV;
	cpu->mstatus = s;
	cpu->pc = cpu->mepc;
	rv_set_priv(cpu, mpp);
}

void rv_sret(struct rv_cpu *cpu)
{
	uint64_t s = cpu->mstatus;
	int spp = (s & RV_MS_SPP) ? RV_PRIV_S : RV_PRIV_U;
	s = (s & ~RV_MS_SIE) | ((s & RV_MS_SPIE) ? RV_MS_SIE : 0);
	s |= RV_MS_SPIE;
	s &= ~(RV_MS_SPP | RV_MS_MPRV);
	cpu->mstatus = s;
	cpu->pc = cpu->sepc;
	rv_set_priv(cpu, spp);
}

/* Standard priority among simultaneously pending interrupts. */
static const int irq_order[] = { RV_IRQ_MEI, RV_IRQ_MSI, RV_IRQ_MTI, RV_IRQ_SEI, RV_IRQ_SSI, RV_IRQ_STI };

bool rv_irq_wake(const struct rv_cpu *cpu)
{
	return (rv_mip(cpu) & cpu->mie) != 0;
}

bool rv_check_interrupts(struct rv_cpu *cpu)
{
	uint64_t pend = rv_mip(cpu) & cpu->mie;
	if (!pend)
		return false;
	uint64_t m = pend & ~cpu->mideleg, s = pend & cpu->mideleg;
	bool m_on = cpu->priv < RV_PRIV_M || (cpu->mstatus & RV_MS_MIE);
	bool s_on = cpu->priv < RV_PRIV_S || (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_SIE));
	uint64_t sel = (m_on && m) ? m : (s_on && s) ? s : 0;
	if (!sel)
		return false;
	for (unsigned i = 0; i < sizeof(irq_order) / sizeof(irq_order[0]); i++) {
		if ((sel >> irq_order[i]) & 1) {
			rv_take_trap(cpu, (uint64_t)irq_order[i], true, 0);
			return true;
		}
	}
	return false;
}

void rv_set_irq(struct rv_cpu *cpu, int irq, bool level)
{
	if (irq == RV_IRQ_SEI) {
		cpu->seip_ext = level;
		return;
	}
	if (level)
		cpu->mip |= 1ULL << irq;
	else
		cpu->mip &= ~(1ULL << irq);
}

void rv_update_sstc_at(struct rv_cpu *cpu, uint64_t now)
{
	if (cpu->menvcfg >> 63)
		rv_set_irq(cpu, RV_IRQ_STI, now >= cpu->stimecmp);
}

void rv_update_sstc(struct rv_cpu *cpu)
{
	if (cpu->menvcfg >> 63)
		rv_update_sstc_at(cpu, rv_read_time(cpu));
}
