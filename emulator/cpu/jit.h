/* jit.h - translation of hot guest code into host (x86-64) code.
 *
 * The unit is a block: straight-line guest code from a jump target up to the next
 * unconditional jump, at most RV_JIT_MAX_INSNS instructions, never crossing its 4 KiB page.
 * Conditional branches leave the block when taken and fall through inside it. A block lives
 * in the decoded page of its physical page (rv_dpage.jit[slot]) and dies with it: any write
 * to the page drops the decoded page, so self-modifying code needs nothing more. Blocks use
 * only offsets from their entry pc, never the virtual address they were compiled at, so a
 * page mapped at two addresses shares them.
 *
 * Guest registers are cached in host registers within a block and written back at every
 * exit, so struct rv_cpu holds them between blocks; loads and stores inline the host-TLB
 * hit path.
 * Anything the block cannot finish itself (a TLB miss, MMIO, FS off) is a side exit: the
 * block stops before that instruction and the interpreter executes it. Taken branches and
 * jumps to a compiled block in the same page go there directly while the budget allows.
 */
#ifndef STRATA_EMULATOR_CPU_JIT_H
#define STRATA_EMULATOR_CPU_JIT_H

#include "emulator/cpu/cpu.h"

#include <string.h>

#define RV_JIT_MAX_INSNS 64

/* A compiled block: runs from pc (cpu->fetch_page holds pc's page) for at most `budget`
 * instructions (budget >= rv_jit_block_insns(fn): it chains on to other blocks only while
 * at least RV_JIT_MAX_INSNS are left), sets cpu->pc and returns
 * (retired << 1) | side_exit. On a side exit cpu->pc is an instruction the interpreter must
 * execute next; otherwise it is a jump target (or a trap vector: a trap raised by a helper
 * has already been taken). */
typedef uint64_t (*rv_block_fn)(struct rv_cpu *cpu, uint64_t pc, int64_t budget);

/* The most instructions block fn retires by itself (its length), kept in the 4 bytes before
 * its code: a batch's last few instructions run compiled when the block fits in them. */
static inline unsigned rv_jit_block_insns(rv_block_fn fn)
{
	uint32_t n;
	memcpy(&n, (const uint8_t *)(const void *)fn - 4, 4);
	return n;
}

/* Sets up the code buffer; threshold = arrivals at a jump target before it is compiled
 * (1..254). Returns 0, -ENOSYS on hosts without a code generator, or another negative errno
 * when no executable buffer can be had; the CPU then interprets. */
int rv_jit_init(struct rv_cpu *cpu, unsigned threshold);
void rv_jit_destroy(struct rv_cpu *cpu);

/* Compiles the block at pc, which must be in the current fetch page, and records it in the
 * decoded page. Returns NULL if the instruction at pc cannot start a block. */
rv_block_fn rv_jit_compile(struct rv_cpu *cpu, uint64_t pc);

/* Blocks compiled and code-buffer flushes so far (for --stats). */
void rv_jit_stats(const struct rv_cpu *cpu, uint64_t *blocks, uint64_t *flushes);

#endif
