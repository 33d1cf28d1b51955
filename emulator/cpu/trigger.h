/* trigger.h - Sdtrig: the guest's address-match triggers (tselect, tdata1/2, tinfo) and the
 * debugger's watchpoints, which share the matching in the MMU's slow paths.
 *
 * While any execute trigger is armed the fetch cache is never filled, so every instruction
 * fetch goes through rv_fetch_slow (and no compiled block is entered); while any load/store
 * trigger or watchpoint is set the data TLB is never filled, so every access goes through
 * the slow paths. Both cost speed only while armed. */
#ifndef STRATA_EMULATOR_CPU_TRIGGER_H
#define STRATA_EMULATOR_CPU_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

struct rv_cpu;

#define RV_NTRIG 2  /* QEMU 7.2's count */
#define RV_NWATCH 8 /* debugger watchpoints */

enum { RV_WATCH_WRITE = 1, RV_WATCH_READ = 2, RV_WATCH_ACCESS = 3 };

struct rv_trig {
	unsigned sel;
	uint64_t tdata1[RV_NTRIG], tdata2[RV_NTRIG];
	bool exec_on, mem_on; /* some trigger (or watchpoint) of that kind is armed */
	/* debugger watchpoints (gdb Z2/Z3/Z4): an access that touches one is abandoned before
	 * any effect, pc left at its instruction, and the batch ends with watch_hit set */
	int nwatch;
	struct {
		uint64_t addr, len;
		int kind;
	} watch[RV_NWATCH];
	bool watch_hit;
	int watch_hit_kind;
	uint64_t watch_hit_addr;
};

void rv_trig_reset(struct rv_cpu *cpu);
/* tselect..tinfo (0x7a0..0x7a4); -1 when the CSR does not exist */
int rv_trig_csr_read(struct rv_cpu *cpu, unsigned csr, uint64_t *v);
int rv_trig_csr_write(struct rv_cpu *cpu, unsigned csr, uint64_t v);
/* savevm: whether tselect and tdata1[] are values the CSR writes could have left, and
 * loading them (the debugger's watchpoints stay). */
bool rv_trig_valid(uint64_t sel, const uint64_t tdata1[RV_NTRIG]);
void rv_trig_restore(struct rv_cpu *cpu, uint64_t sel, const uint64_t tdata1[RV_NTRIG],
		     const uint64_t tdata2[RV_NTRIG]);
/* Called before an instruction fetch at pc / a data access: true after raising a
 * breakpoint exception for a trigger that fired, or (data) when a watchpoint stops the
 * instruction (nothing raised; cpu->pc is still the instruction's). */
bool rv_trig_exec(struct rv_cpu *cpu, uint64_t pc);
bool rv_trig_mem(struct rv_cpu *cpu, uint64_t va, unsigned size, bool write);
/* Debugger watchpoints: 0, or -1 when full / not found. */
int rv_watch_insert(struct rv_cpu *cpu, uint64_t addr, uint64_t len, int kind);
int rv_watch_remove(struct rv_cpu *cpu, uint64_t addr, uint64_t len, int kind);

#endif
