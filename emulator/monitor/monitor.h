/* monitor.h - QEMU's monitors on strata-vm: HMP (the human monitor, readline mode with the
 * "(qemu) " prompt) and QMP (JSON, capabilities negotiation, events), over any character
 * back end (emulator/chardev/chardev.h). Commands run on the CPU thread between instruction
 * batches (the back ends deliver input from the host event loop), so they see the machine
 * stopped at an instruction boundary. */
#ifndef STRATA_EMULATOR_MONITOR_MONITOR_H
#define STRATA_EMULATOR_MONITOR_MONITOR_H

#include <stdbool.h>

struct vm_virt;
struct vm_drive;
struct vm_chardev;

/* Called once by main after the board exists and before any back end is attached: the
 * machine to control and its -drive list (in command-line order, for info block, query-block
 * and commit). Registers for the board's events. 0 or -errno. */
int vm_monitor_init(struct vm_virt *vm, struct vm_drive *drives, int ndrives);
/* Runs a monitor on back end c (-monitor, -qmp, -mon chardev=ID[,mode=control][,pretty=on]).
 * 0, -EBUSY (the back end has a front end already) or -ENOMEM. */
int vm_monitor_attach(struct vm_chardev *c, bool qmp, bool pretty);
/* Frees every monitor (at exit, before the back ends go). */
void vm_monitor_cleanup(void);

#endif
