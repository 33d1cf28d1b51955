/* snapshot_cmds.c - the monitor's one seam to savevm/loadvm/delvm (HMP savevm, loadvm, delvm,
 * info snapshots; QMP snapshot-save/-load/-delete). Until emulator/machine/savevm.h lands,
 * every call fails with the error QEMU 7.2 gives when no disk can take a VM snapshot. When it
 * lands, include it and make each function one call:
 *   vm_mon_savevm:        return vm_savevm(vm_mon_ctx.vm, name, err, errlen);
 *   vm_mon_snapshot_save: return vm_savevm_opts(vm_mon_ctx.vm, name, false, err, errlen);
 *   vm_mon_loadvm:        return vm_loadvm(vm_mon_ctx.vm, name, err, errlen);
 *   vm_mon_delvm:         return vm_delvm(vm_mon_ctx.vm, name, err, errlen);
 *   vm_mon_snapshots_info: return vm_snapshots_info(vm_mon_ctx.vm, text, err, errlen);
 * (messages come without QEMU's "Error: " prefix; hmp.c adds it; the functions stop and resume
 * the VM themselves). */
#include "emulator/machine/virt.h"
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

int vm_mon_snapshot_save(const char *name, char *err, size_t errlen)
{
	(void)name;
	return unavailable(err, errlen);
}

int vm_mon_loadvm(const char *name, char *err, size_t errlen)
{
	(void)name;
	return unavailable(err, errlen);
}

/* with no disk that holds snapshots there is nothing to delete: QEMU succeeds silently */
int vm_mon_delvm(const char *name, char *err, size_t errlen)
{
	(void)name, (void)err, (void)errlen;
	return 0;
}

int vm_mon_snapshots_info(char **text, char *err, size_t errlen)
{
	*text = NULL;
	return unavailable(err, errlen);
}

/* QEMU's loadvm and snapshot-load stop a running VM (run state restore-vm) before anything
 * else and start it again only when the load worked: after a failure the VM stays stopped. */
int vm_mon_load_stopped(const char *name, char *err, size_t errlen)
{
	struct vm_virt *vm = vm_mon_ctx.vm;
	bool was = vm_virt_running(vm);
	if (was) {
		vm_virt_stop(vm);
		vm_virt_set_state(vm, VM_RUN_RESTORE_VM);
	}
	int rc = vm_mon_loadvm(name, err, errlen);
	if (!rc && was)
		vm_virt_cont(vm);
	return rc;
}
