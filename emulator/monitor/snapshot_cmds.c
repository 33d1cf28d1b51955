/* snapshot_cmds.c - the monitor's one seam to savevm/loadvm/delvm (HMP savevm, loadvm, delvm,
 * info snapshots; QMP snapshot-save/-load/-delete). Until emulator/machine/savevm.h lands,
 * every call fails with the error QEMU 7.2 gives when no disk can take a VM snapshot. When it
 * lands, each function becomes one call:
 *   vm_savevm(vm_mon_ctx.vm, name, err, errlen), vm_loadvm(...), vm_delvm(...),
 *   vm_snapshots_info(vm_mon_ctx.vm, text, err, errlen). */
#include "emulator/monitor/mon_int.h"

#include <errno.h>
#include <stdio.h>

static int unavailable(char *err, size_t errlen)
{
	snprintf(err, errlen, "no block device can store vmstate for snapshot");
	return -ENOTSUP;
}

int vm_mon_savevm(const char *name, char *err, size_t errlen)
{
	(void)name;
	return unavailable(err, errlen);
}

int vm_mon_loadvm(const char *name, char *err, size_t errlen)
{
	(void)name;
	return unavailable(err, errlen);
}

int vm_mon_delvm(const char *name, char *err, size_t errlen)
{
	(void)name;
	return unavailable(err, errlen);
}

int vm_mon_snapshots_info(char **text, char *err, size_t errlen)
{
	*text = NULL;
	return unavailable(err, errlen);
}
