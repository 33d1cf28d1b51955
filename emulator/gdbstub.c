/* gdbstub.c - placeholder until the remote protocol lands: refuses politely. */
#include "emulator/gdbstub.h"

#include <errno.h>

int vm_gdb_serve(struct vm_virt *vm, const char *spec, bool wait, char *err, size_t errlen)
{
	(void)vm, (void)wait;
	snprintf(err, errlen, "gdb stub (%s) is not implemented yet", spec);
	return -ENOSYS;
}
