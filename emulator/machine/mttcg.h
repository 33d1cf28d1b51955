/* mttcg.h - thread=multi (QEMU's MTTCG): every hart on a host thread of its own.
 *
 * One mutex is the big lock: device accesses (MMIO, the HTIF watch), interrupt-line updates
 * and a hart's sleep in WFI happen under it; guest RAM is reached without it. "Exclusive"
 * work runs with every hart stopped between batches (or asleep, or waiting for the lock):
 * the main thread holds it whenever it is not blocked in poll() with the VM running, so host
 * events, the monitor, savevm/loadvm, reset and the GDB stub see stopped harts; a hart takes
 * it to drop another hart's decoded code or write-TLB entries (cpu.h excl_begin). */
#ifndef STRATA_EMULATOR_MACHINE_MTTCG_H
#define STRATA_EMULATOR_MACHINE_MTTCG_H

#include <stdint.h>

struct vm_virt;

/* Starts a thread per hart (they wait until vm_mt_run); the calling thread becomes the main
 * thread, holding the exclusive section. 0 or -errno. */
int vm_mt_create(struct vm_virt *vm);
/* Ends and joins the hart threads (main thread). */
void vm_mt_destroy(struct vm_virt *vm);
/* The main thread while the VM runs: serves host events until the guest exits (returns 1)
 * or a stop, reset or quit is requested (returns 0); the harts are stopped again on return. */
int vm_mt_run(struct vm_virt *vm);

/* Main thread, owning the exclusive section: waits until every hart stands between
 * instructions (not inside one stopped for a device access) and keeps them there until
 * vm_mt_run goes on. Before a hart's state is saved, replaced or reset. */
void vm_mt_quiesce(struct vm_virt *vm);

/* The host thread id (gettid) of hart h's thread; 0 when the harts take turns on the
 * calling thread (thread=single). `info cpus`. */
long vm_mt_hart_tid(const struct vm_virt *vm, unsigned h);

/* run.c, shared with the hart threads (called under the big lock) */
void vm_virt_device_lines(struct vm_virt *vm);
void vm_virt_hart_lines(struct vm_virt *vm, unsigned h, uint64_t now);
/* Its timer lines only (MTIP from mtimecmp, STIP from stimecmp with Sstc): hart h's own thread,
 * also without the lock. */
void vm_virt_hart_timer_lines(struct vm_virt *vm, unsigned h, uint64_t now);
uint64_t vm_virt_hart_timer_ns(struct vm_virt *vm, unsigned h);
void vm_virt_take_powerdown(struct vm_virt *vm);

#endif
