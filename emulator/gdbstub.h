/* gdbstub.h - GDB remote serial protocol server for one hart (-s, -S, -gdb tcp::PORT). */
#ifndef STRATA_EMULATOR_GDBSTUB_H
#define STRATA_EMULATOR_GDBSTUB_H

#include "emulator/machine/virt.h"

/* Listens on `spec` (tcp::PORT or tcp:HOST:PORT), waits for a debugger when `wait` (-S),
 * and runs the VM under its control until the guest exits. 0 or -errno (message in err). */
int vm_gdb_serve(struct vm_virt *vm, const char *spec, bool wait, char *err, size_t errlen);

#endif
