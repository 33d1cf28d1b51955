/* state.c - the hart's architectural state as a byte string for savevm: every register and
 * CSR, FP state, privilege, wfi, the LR reservation, instret/cycle and PMP, and since
 * version 2 mhpmcounter/mhpmevent3..31 and the Sdtrig triggers. Little-endian, fields in a
 * fixed order. Caches (TLBs, decoded and compiled code) are not state: loading drops them. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/trigger.h"

#include <errno.h>
#include <string.h>

struct wr {
	uint8_t *p;
	size_t n, cap;
};

static void w64(struct wr *w, uint64_t v)
{
	for (int i = 0; i < 8; i++, w->n++)
		if (w->n < w->cap)
			w->p[w->n] = (uint8_t)(v >> (8 * i));
}

struct rd {
	const uint8_t *p;
	size_t n, pos;
	bool bad;
};

static uint64_t r64(struct rd *r)
{
	uint64_t v = 0;
	if (r->n - r->pos < 8) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[r->pos++] << (8 * i);
	return v;
}

/* The CSRs in stream order (pointers into one hart, for both directions). */
#define HPM_FIRST 3 /* mhpmcounter3/mhpmevent3: the first that keep a value */
#define NCSR 28
static void csr_ptrs(struct rv_cpu *c, uint64_t *p[NCSR])
{
	uint64_t *list[NCSR] = {
		&c->pc,	      &c->instret,    &c->cycle_delta, &c->mstatus,	  &c->misa,	  &c->medeleg,
		&c->mideleg,  &c->mie,	      &c->mip,	       &c->mtvec,	  &c->mscratch,	  &c->mepc,
		&c->mcause,   &c->mtval,      &c->stvec,       &c->sscratch,	  &c->sepc,	  &c->scause,
		&c->stval,    &c->satp,	      &c->mcounteren,  &c->scounteren,	  &c->menvcfg,	  &c->senvcfg,
		&c->stimecmp, &c->mcountinhibit, &c->mhartid,  &c->resv_addr,
	};
	memcpy(p, list, sizeof(list));
}

size_t rv_cpu_save(const struct rv_cpu *cpu, uint8_t *buf, size_t cap)
{
	struct rv_cpu *c = (struct rv_cpu *)cpu; /* csr_ptrs only reads through them here */
	struct wr w = { buf, 0, cap };
	uint64_t *p[NCSR];
	csr_ptrs(c, p);
	for (int i = 0; i < 32; i++)
		w64(&w, cpu->x[i]);
	for (int i = 0; i < 32; i++)
		w64(&w, cpu->f[i]);
	for (int i = 0; i < NCSR; i++)
		w64(&w, *p[i]);
	w64(&w, cpu->fflags);
	w64(&w, cpu->frm);
	w64(&w, (uint64_t)cpu->priv);
	w64(&w, cpu->wfi);
	w64(&w, cpu->seip_ext);
	for (int i = 0; i < RV_PMP_COUNT; i++)
		w64(&w, cpu->pmpcfg[i]);
	for (int i = 0; i < RV_PMP_COUNT; i++)
		w64(&w, cpu->pmpaddr[i]);
	for (int i = HPM_FIRST; i < 32; i++) /* version 2 */
		w64(&w, cpu->hpmcounter[i]);
	for (int i = HPM_FIRST; i < 32; i++)
		w64(&w, cpu->hpmevent[i]);
	w64(&w, cpu->trig.sel);
	for (int i = 0; i < RV_NTRIG; i++) {
		w64(&w, cpu->trig.tdata1[i]);
		w64(&w, cpu->trig.tdata2[i]);
	}
	return w.n;
}

int rv_cpu_load(struct rv_cpu *cpu, const uint8_t *buf, size_t len, unsigned version)
{
	struct rd r = { buf, len, 0, false };
	uint64_t x[32], f[32], csr[NCSR], fflags, frm, priv, wfi, seip, pmpcfg[RV_PMP_COUNT], pmpaddr[RV_PMP_COUNT];
	uint64_t hpmc[32] = { 0 }, hpme[32] = { 0 }, tsel = 0, td1[RV_NTRIG] = { 0 }, td2[RV_NTRIG] = { 0 };
	uint64_t *p[NCSR];
	if (version != 1 && version != 2)
		return -EINVAL;
	csr_ptrs(cpu, p);
	for (int i = 0; i < 32; i++)
		x[i] = r64(&r);
	for (int i = 0; i < 32; i++)
		f[i] = r64(&r);
	for (int i = 0; i < NCSR; i++)
		csr[i] = r64(&r);
	fflags = r64(&r), frm = r64(&r), priv = r64(&r), wfi = r64(&r), seip = r64(&r);
	for (int i = 0; i < RV_PMP_COUNT; i++)
		pmpcfg[i] = r64(&r);
	for (int i = 0; i < RV_PMP_COUNT; i++)
		pmpaddr[i] = r64(&r);
	if (version >= 2) {
		for (int i = HPM_FIRST; i < 32; i++)
			hpmc[i] = r64(&r);
		for (int i = HPM_FIRST; i < 32; i++)
			hpme[i] = r64(&r);
		tsel = r64(&r);
		for (int i = 0; i < RV_NTRIG; i++)
			td1[i] = r64(&r), td2[i] = r64(&r);
	}
	/* everything checked before the hart changes */
	if (r.bad || r.pos != len || x[0] || fflags > 31 || frm > 7 || wfi > 1 || seip > 1 ||
	    (priv != RV_PRIV_U && priv != RV_PRIV_S && priv != RV_PRIV_M))
		return -EINVAL;
	for (int i = 0; i < RV_PMP_COUNT; i++)
		if (pmpcfg[i] > 0xff)
			return -EINVAL;
	if (version >= 2 && !rv_trig_valid(tsel, td1))
		return -EINVAL;
	memcpy(cpu->x, x, sizeof(x));
	memcpy(cpu->f, f, sizeof(f));
	for (int i = 0; i < NCSR; i++)
		*p[i] = csr[i];
	cpu->fflags = (uint32_t)fflags;
	cpu->frm = (uint32_t)frm;
	cpu->priv = (int)priv;
	cpu->wfi = wfi;
	cpu->seip_ext = seip;
	for (int i = 0; i < RV_PMP_COUNT; i++) {
		cpu->pmpcfg[i] = (uint8_t)pmpcfg[i];
		cpu->pmpaddr[i] = pmpaddr[i];
	}
	memcpy(cpu->hpmcounter, hpmc, sizeof(hpmc));
	memcpy(cpu->hpmevent, hpme, sizeof(hpme));
	if (version >= 2)
		rv_trig_restore(cpu, tsel, td1, td2);
	else
		rv_trig_reset(cpu); /* a version 1 stream has no triggers: as after reset */
	cpu->budget = 0;
	rv_pmp_update(cpu); /* and flushes: translations and the fetch cache belong to the old state */
	return 0;
}
