/* gdbstub.h - GDB remote serial protocol server for the hart (-s, -gdb DEV, HMP gdbserver).
 *
 * The stub is a character-device front end on the host event loop, as QEMU's: the guest runs
 * and the monitor answers while no debugger is attached; a debugger connecting stops the VM
 * (run state "paused"), a breakpoint or single step leaves it in "debug". */
#ifndef STRATA_EMULATOR_GDBSTUB_H
#define STRATA_EMULATOR_GDBSTUB_H

#include <stddef.h>

struct vm_virt;

/* Starts the stub on `device` (a legacy chardev spelling: tcp::PORT, tcp:HOST:PORT get
 * QEMU's server=on,wait=off,nodelay=on; unix:PATH,server,nowait, ...), or stops it with
 * "none". One stub at a time: a second start while one listens fails as QEMU 7.2's does.
 * 0 or -errno with the reason in err (possibly empty). */
int vm_gdb_start(struct vm_virt *vm, const char *device, char *err, size_t errlen);
/* The process ends with `code`: an attached debugger gets the exit packet. */
void vm_gdb_exit(int code);

#endif
