/* csr.c - control and status registers (Zicsr, Zicntr, privileged 1.12, Sstc, PMP).
 * Unimplemented CSRs raise illegal-instruction (the caller raises it when we return -1). */
#include "emulator/cpu/cpu.h"

#define MISA_VALUE (2ULL << 62 | 1u << 0 | 1u << 2 | 1u << 3 | 1u << 5 | 1u << 8 | 1u << 12 | 1u << 18 | 1u << 20)
#define XLEN_FIELDS (2ULL << 32 | 2ULL << 34) /* UXL = SXL = 64 */
#define MSTATUS_WMASK                                                                                          \
	(RV_MS_SIE | RV_MS_MIE | RV_MS_SPIE | RV_MS_MPIE | RV_MS_SPP | RV_MS_MPP | RV_MS_FS | RV_MS_MPRV |      \
	 RV_MS_SUM | RV_MS_MXR | RV_MS_TVM | RV_MS_TW | RV_MS_TSR)
#define SSTATUS_RMASK (RV_MS_SIE | RV_MS_SPIE | RV_MS_SPP | RV_MS_FS | RV_MS_SUM | RV_MS_MXR | 3ULL << 32 | RV_MS_SD)
#define SSTATUS_WMASK (RV_MS_SIE | RV_MS_SPIE | RV_MS_SPP | RV_MS_FS | RV_MS_SUM | RV_MS_MXR)
#define S_INTS ((1ULL << RV_IRQ_SSI) | (1ULL << RV_IRQ_STI) | (1ULL << RV_IRQ_SEI))
#define ALL_INTS (S_INTS | (1ULL << RV_IRQ_MSI) | (1ULL << RV_IRQ_MTI) | (1ULL << RV_IRQ_MEI))
#define MEDELEG_MASK 0xb3ffULL
#define MENVCFG_STCE (1ULL << 63)
#define MENVCFG_PBMTE (1ULL << 62)
#define RV_HPM_LAST 18 /* hpmcounter3..18: QEMU 7.2's pmu-num=16 */

uint64_t rv_read_time(const struct rv_cpu *cpu)
{
	return cpu->read_time ? cpu->read_time(cpu->time_opaque) : cpu->instret;
}

void rv_mark_fs_dirty(struct rv_cpu *cpu)
{
	cpu->mstatus |= RV_MS_FS | RV_MS_SD;
}

static void set_mstatus(struct rv_cpu *cpu, uint64_t val)
{
	uint64_t old = cpu->mstatus;
	uint64_t s = (old & ~MSTATUS_WMASK) | (val & MSTATUS_WMASK);
	if (((s >> RV_MS_MPP_SHIFT) & 3) == 2) /* reserved MPP value: keep the old one */
		s = (s & ~RV_MS_MPP) | (old & RV_MS_MPP);
	s = (s & ~(RV_MS_SD | 0xfULL << 32)) | XLEN_FIELDS;
	if ((s & RV_MS_FS) == RV_MS_FS)
		s |= RV_MS_SD;
	cpu->mstatus = s;
	if ((old ^ s) & (RV_MS_MPRV | RV_MS_MPP | RV_MS_SUM | RV_MS_MXR))
		rv_tlb_switch(cpu);
}

static bool pmp_locked(const struct rv_cpu *cpu, int i)
{
	return cpu->pmpcfg[i] & 0x80;
}

static bool counter_allowed(const struct rv_cpu *cpu, unsigned idx)
{
	if (cpu->priv < RV_PRIV_M && !((cpu->mcounteren >> idx) & 1))
		return false;
	if (cpu->priv < RV_PRIV_S && !((cpu->scounteren >> idx) & 1))
		return false;
	return true;
}

static bool fs_off(const struct rv_cpu *cpu)
{
	return (cpu->mstatus & RV_MS_FS) == 0;
}

/* Reads a CSR; returns -1 if it does not exist or may not be read here. */
static int csr_read(struct rv_cpu *cpu, unsigned csr, uint64_t *v)
{
	if (csr >= 0xc00 && csr <= 0xc00 + RV_HPM_LAST) {
		if (!counter_allowed(cpu, csr - 0xc00))
			return -1;
		*v = csr == 0xc00 ? cpu->instret + cpu->cycle_delta
		   : csr == 0xc01 ? rv_read_time(cpu)
		   : csr == 0xc02 ? cpu->instret : cpu->hpmcounter[csr - 0xc00];
		return 0;
	}
	if (csr >= 0xb03 && csr <= 0xb00 + RV_HPM_LAST) { /* mhpmcounter3..18 */
		*v = cpu->hpmcounter[csr - 0xb00];
		return 0;
	}
	if (csr >= 0x323 && csr <= 0x33f) { /* mhpmevent3..31 */
		*v = cpu->hpmevent[csr - 0x320];
		return 0;
	}
	if (csr >= 0x3b0 && csr < 0x3b0 + RV_PMP_COUNT) {
		*v = cpu->pmpaddr[csr - 0x3b0];
		return 0;
	}
	if (csr >= 0x7a0 && csr <= 0x7a4)
		return rv_trig_csr_read(cpu, csr, v);
	switch (csr) {
	case 0x001: if (fs_off(cpu)) return -1; *v = cpu->fflags; return 0;
	case 0x002: if (fs_off(cpu)) return -1; *v = cpu->frm; return 0;
	case 0x003: if (fs_off(cpu)) return -1; *v = cpu->frm << 5 | cpu->fflags; return 0;
	case 0x100: *v = cpu->mstatus & SSTATUS_RMASK; return 0;
	case 0x104: *v = cpu->mie & cpu->mideleg; return 0;
	case 0x105: *v = cpu->stvec; return 0;
	case 0x106: *v = cpu->scounteren; return 0;
	case 0x10a: *v = cpu->senvcfg; return 0;
	case 0x140: *v = cpu->sscratch; return 0;
	case 0x141: *v = cpu->sepc; return 0;
	case 0x142: *v = cpu->scause; return 0;
	case 0x143: *v = cpu->stval; return 0;
	case 0x144: *v = rv_mip(cpu) & cpu->mideleg; return 0;
	case 0x14d:
		if (cpu->priv == RV_PRIV_S && !((cpu->mcounteren & 2) && (cpu->menvcfg & MENVCFG_STCE)))
			return -1;
		*v = cpu->stimecmp;
		return 0;
	case 0x180:
		if (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_TVM))
			return -1;
		*v = cpu->satp;
		return 0;
	case 0xf11: case 0xf12: case 0xf13: case 0xf15: *v = 0; return 0;
	case 0xf14: *v = cpu->mhartid; return 0;
	case 0x300: *v = cpu->mstatus; return 0;
	case 0x301: *v = MISA_VALUE; return 0;
	case 0x302: *v = cpu->medeleg; return 0;
	case 0x303: *v = cpu->mideleg; return 0;
	case 0x304: *v = cpu->mie; return 0;
	case 0x305: *v = cpu->mtvec; return 0;
	case 0x306: *v = cpu->mcounteren; return 0;
	case 0x30a: *v = cpu->menvcfg; return 0;
	case 0x320: *v = cpu->mcountinhibit; return 0;
	case 0x340: *v = cpu->mscratch; return 0;
	case 0x341: *v = cpu->mepc; return 0;
	case 0x342: *v = cpu->mcause; return 0;
	case 0x343: *v = cpu->mtval; return 0;
	case 0x344: *v = rv_mip(cpu); return 0;
	case 0x3a0: case 0x3a2: {
		uint64_t r = 0;
		int base = (int)(csr - 0x3a0) * 4;
		for (int i = 0; i < 8; i++)
			r |= (uint64_t)cpu->pmpcfg[base + i] << (8 * i);
		*v = r;
		return 0;
	}
	case 0xb00: *v = cpu->instret + cpu->cycle_delta; return 0;
	case 0xb02: *v = cpu->instret; return 0;
	default: return -1;
	}
}

static int csr_write(struct rv_cpu *cpu, unsigned csr, uint64_t v)
{
	if (csr >= 0xb03 && csr <= 0xb00 + RV_HPM_LAST) {
		cpu->hpmcounter[csr - 0xb00] = v;
		return 0;
	}
	if (csr >= 0x323 && csr <= 0x33f) {
		cpu->hpmevent[csr - 0x320] = v;
		return 0;
	}
	if (csr >= 0x3b0 && csr < 0x3b0 + RV_PMP_COUNT) {
		int i = (int)(csr - 0x3b0);
		bool next_tor_locked = i + 1 < RV_PMP_COUNT && pmp_locked(cpu, i + 1) &&
				       ((cpu->pmpcfg[i + 1] >> 3) & 3) == 1;
		if (!pmp_locked(cpu, i) && !next_tor_locked) {
			cpu->pmpaddr[i] = v & ((1ULL << 54) - 1);
			rv_pmp_update(cpu);
		}
		return 0;
	}
	if (csr >= 0x7a0 && csr <= 0x7a4)
		return rv_trig_csr_write(cpu, csr, v);
	switch (csr) {
	case 0x001: cpu->fflags = v & 0x1f; rv_mark_fs_dirty(cpu); return 0;
	case 0x002: cpu->frm = v & 7; rv_mark_fs_dirty(cpu); return 0;
	case 0x003: cpu->fflags = v & 0x1f; cpu->frm = (v >> 5) & 7; rv_mark_fs_dirty(cpu); return 0;
	case 0x100: set_mstatus(cpu, (cpu->mstatus & ~SSTATUS_WMASK) | (v & SSTATUS_WMASK)); return 0;
	case 0x104: cpu->mie = (cpu->mie & ~cpu->mideleg) | (v & cpu->mideleg & ALL_INTS); return 0;
	case 0x105: if ((v & 3) < 2) cpu->stvec = v; return 0;
	case 0x106: cpu->scounteren = v; return 0; /* every bit kept, as QEMU 7.2 */
	case 0x10a: cpu->senvcfg = v & 0xf1; return 0;
	case 0x140: cpu->sscratch = v; return 0;
	case 0x141: cpu->sepc = v & ~1ULL; return 0;
	case 0x142: cpu->scause = v; return 0;
	case 0x143: cpu->stval = v; return 0;
	case 0x144: {
		uint64_t m = cpu->mideleg & (1ULL << RV_IRQ_SSI);
		cpu->mip = (cpu->mip & ~m) | (v & m);
		return 0;
	}
	case 0x14d: cpu->stimecmp = v; rv_update_sstc(cpu); return 0;
	case 0x180: {
		unsigned mode = (unsigned)(v >> 60);
		if (mode != 0 && mode != 8 && mode != 9 && mode != 10)
			return 0; /* unsupported MODE: the write has no effect */
		cpu->satp = v & (0xfULL << 60 | 0xffffULL << 44 | ((1ULL << 44) - 1));
		rv_tlb_flush(cpu);
		return 0;
	}
	case 0x300: set_mstatus(cpu, v); return 0;
	case 0x301: return 0; /* misa is read-only here (WARL) */
	case 0x302: cpu->medeleg = v & MEDELEG_MASK; return 0;
	case 0x303: cpu->mideleg = v & S_INTS; return 0;
	case 0x304: cpu->mie = v & ALL_INTS; return 0;
	case 0x305: if ((v & 3) < 2) cpu->mtvec = v; return 0;
	case 0x306: cpu->mcounteren = v; return 0;
	case 0x30a:
		cpu->menvcfg = v & (MENVCFG_STCE | MENVCFG_PBMTE | 0xf1); /* PBMTE writable even without Svpbmt, as QEMU 7.2 */
		rv_update_sstc(cpu);
		rv_tlb_flush(cpu); /* PBMTE changes which leaves are valid */
		return 0;
	case 0x320: cpu->mcountinhibit = v; return 0;
	case 0x340: cpu->mscratch = v; return 0;
	case 0x341: cpu->mepc = v & ~1ULL; return 0;
	case 0x342: cpu->mcause = v; return 0;
	case 0x343: cpu->mtval = v; return 0;
	case 0x344: {
		uint64_t m = S_INTS;
		if (cpu->menvcfg & MENVCFG_STCE)
			m &= ~(1ULL << RV_IRQ_STI); /* driven by stimecmp */
		cpu->mip = (cpu->mip & ~m) | (v & m);
		return 0;
	}
	case 0x3a0: case 0x3a2: {
		int base = (int)(csr - 0x3a0) * 4;
		for (int i = 0; i < 8; i++) {
			uint8_t b = (uint8_t)(v >> (8 * i));
			if (pmp_locked(cpu, base + i))
				continue;
			if ((b & 3) == 2) /* W without R is reserved: keep the entry */
				continue;
			cpu->pmpcfg[base + i] = b & 0x9f;
		}
		rv_pmp_update(cpu);
		return 0;
	}
	/* The writing instruction's own increment is replaced by the write (Zicsr): the
	 * instruction retires after this, so store one less; mcycle goes on unchanged. */
	case 0xb00: cpu->cycle_delta = v - cpu->instret - 1; return 0;
	case 0xb02: cpu->cycle_delta += cpu->instret + 1 - v; cpu->instret = v - 1; return 0;
	default: return -1; /* read-only or nonexistent */
	}
}

int rv_csr_access(struct rv_cpu *cpu, unsigned csr, uint64_t *rd_val, uint64_t wval, int op, bool do_write,
		  bool do_read)
{
	if ((int)((csr >> 8) & 3) > cpu->priv)
		return -1;
	if (do_write && (csr >> 10) == 3)
		return -1;
	uint64_t old = 0;
	/* a write-only CSRRW still needs the CSR to exist */
	if (csr_read(cpu, csr, &old))
		return -1;
	if (do_read)
		*rd_val = old;
	if (!do_write)
		return 0;
	/* CSRRS/CSRRC of mip modify the software-writable SEIP bit, not the external line read
	 * with it (otherwise OpenSBI's csr_set(mip, SSIP) for an IPI latches a pending PLIC
	 * interrupt into SEIP for good) */
	uint64_t base = csr == 0x344 ? (old & ~(1ULL << RV_IRQ_SEI)) | (cpu->mip & (1ULL << RV_IRQ_SEI)) : old;
	uint64_t nv = op == 1 ? wval : op == 2 ? (base | wval) : (base & ~wval);
	if (csr_write(cpu, csr, nv))
		return -1;
	/* any CSR write may make an interrupt deliverable: end the batch */
	cpu->budget = 0;
	return 0;
}
