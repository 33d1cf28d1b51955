/* Sdtrig as QEMU 7.2 (debug=true) has it: tselect/tinfo/tdata1/tdata2 and the execute, load
 * and store address-match triggers of type 6 (mcontrol6) and type 2 (mcontrol), which raise a
 * breakpoint exception (cause 3) in the modes their M/S/U bits select. */
#include "rvtest.h"

#define T_EXEC 4u
#define T_STORE 2u
#define T_LOAD 1u
#define T_U 8u
#define T_S 16u
#define T_M 64u
#define TYPE(t) ((uint64_t)(t) << 60)

static volatile uint64_t var[4];
static volatile int hits;

static void handler(struct rv_frame *f)
{
	rv_puts("  trap cause=");
	rv_putdec((int64_t)f->cause);
	rv_puts(f->epc == f->tval ? " tval=epc" : " tval=");
	if (f->epc != f->tval)
		rv_puthex64(f->tval);
	rv_puts(" mpp=");
	rv_putdec((int64_t)((f->status >> 11) & 3));
	rv_putc('\n');
	hits++;
	if (f->cause == 3) {
		/* a trigger fired before the instruction: turn it off and retry the instruction */
		RV_CSR_WRITE(0x7a1, TYPE(2));
		return;
	}
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

__attribute__((noinline)) static uint64_t target(uint64_t a)
{
	return a * 3 + 1;
}

static uint64_t do_load(uint64_t a)
{
	return var[a];
}

static uint64_t do_store(uint64_t a)
{
	var[a] = 0x77;
	return var[a];
}

static uint64_t do_call(uint64_t a)
{
	return target(a);
}

static void arm(uint64_t tdata1, uint64_t tdata2)
{
	RV_CSR_WRITE(0x7a1, TYPE(2));
	RV_CSR_WRITE(0x7a2, tdata2);
	RV_CSR_WRITE(0x7a1, tdata1);
}

static void run(const char *what, int mode, uint64_t (*fn)(uint64_t), uint64_t arg)
{
	rv_puts(what);
	rv_puts(":\n");
	uint64_t r = mode == 3 ? fn(arg) : rv_run_in_mode(mode, fn, arg);
	rv_puts("  result=");
	rv_puthex64(r);
	rv_puts(" tdata1 after=");
	rv_puthex64(RV_CSR_READ(0x7a1));
	rv_putc('\n');
	RV_CSR_WRITE(0x7a1, TYPE(2));
}

static void show(const char *what, uint64_t v)
{
	rv_puts(what);
	rv_puts("=");
	rv_puthex64(v);
	rv_putc('\n');
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(handler);
	for (uint64_t i = 0; i < 4; i++) {
		RV_CSR_WRITE(0x7a0, i);
		rv_puts("tselect ");
		rv_putdec((int64_t)i);
		show(" reads back", RV_CSR_READ(0x7a0));
	}
	RV_CSR_WRITE(0x7a0, 0);
	show("tinfo", RV_CSR_READ(0x7a4));
	show("tdata1 at reset", RV_CSR_READ(0x7a1));
	show("tdata2 at reset", RV_CSR_READ(0x7a2));
	RV_CSR_WRITE(0x7a1, TYPE(6) | T_S | T_EXEC);
	show("tdata1 mcontrol6 S exec", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(2) | T_S | T_LOAD | T_STORE);
	show("tdata1 mcontrol S load/store", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, ~0ULL);
	show("tdata1 all ones", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(3) | 1 << 10 | T_S);
	show("tdata1 type 3", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(5));
	show("tdata1 type 5", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, 0);
	show("tdata1 0", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(2) | ((1ULL << 60) - 1));
	show("tdata1 type 2 all bits", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(6) | ((1ULL << 60) - 1));
	show("tdata1 type 6 all bits", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(6) | 1u << 12 | T_S | T_LOAD);
	show("tdata1 type 6 action 1", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(2) | 2u << 7 | T_S | T_LOAD);
	show("tdata1 type 2 match 2", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a1, TYPE(2));
	RV_CSR_WRITE(0x7a0, 1);
	show("trigger 1 tdata1", RV_CSR_READ(0x7a1));
	RV_CSR_WRITE(0x7a2, 0x55);
	RV_CSR_WRITE(0x7a0, 0);
	show("trigger 0 tdata2 (1's written)", RV_CSR_READ(0x7a2));
	RV_CSR_WRITE(0x7a3, 0x1234);
	show("tdata3", RV_CSR_READ(0x7a3));

	for (int type = 6; type >= 2; type -= 4) {
		rv_puts(type == 6 ? "== mcontrol6\n" : "== mcontrol\n");
		arm(TYPE(type) | T_S | T_EXEC, (uint64_t)target);
		run("S exec match", 1, do_call, 5);
		arm(TYPE(type) | T_U | T_EXEC, (uint64_t)target);
		run("S exec, U-only trigger", 1, do_call, 5);
		arm(TYPE(type) | T_U | T_EXEC, (uint64_t)target);
		run("U exec, U trigger", 0, do_call, 6);
		arm(TYPE(type) | T_S | T_LOAD, (uint64_t)&var[1]);
		run("S load match", 1, do_load, 1);
		arm(TYPE(type) | T_S | T_LOAD, (uint64_t)&var[1]);
		run("S load other address", 1, do_load, 2);
		arm(TYPE(type) | T_S | T_LOAD, (uint64_t)&var[2]);
		run("S store, load trigger", 1, do_store, 2);
		arm(TYPE(type) | T_S | T_STORE, (uint64_t)&var[2]);
		run("S store match", 1, do_store, 2);
		arm(TYPE(type) | T_U | T_STORE | T_LOAD, (uint64_t)&var[3]);
		run("U store match", 0, do_store, 3);
		arm(TYPE(type) | T_M | T_EXEC, (uint64_t)target);
		run("M exec, M trigger (MIE=0)", 3, do_call, 7);
		arm(TYPE(type) | T_M | T_LOAD, (uint64_t)&var[0]);
		run("M load, M trigger (MIE=0)", 3, do_load, 0);
	}
	rv_puts("hits=");
	rv_putdec(hits);
	rv_putc('\n');
	return 0;
}
