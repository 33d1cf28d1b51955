/* snapshot_cmds.c - the monitor's one seam to savevm/loadvm/delvm (HMP savevm, loadvm, delvm,
 * info snapshots; QMP snapshot-save/-load/-delete), on emulator/machine/savevm.h. Messages come
 * without QEMU's "Error: " prefix (hmp.c adds it); the savevm functions stop and resume the VM
 * themselves. */
#include "emulator/machine/savevm.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"

#include <stdbool.h>

int vm_mon_savevm(const char *name, char *err, size_t errlen)
{
	return vm_savevm(vm_mon_ctx.vm, name, err, errlen);
}

/* QMP's snapshot-save refuses an existing tag; HMP's savevm replaces it */
int vm_mon_snapshot_save(const char *name, char *err, size_t errlen)
{
	return vm_savevm_opts(vm_mon_ctx.vm, name, false, err, errlen);
}

int vm_mon_loadvm(const char *name, char *err, size_t errlen)
{
	return vm_loadvm(vm_mon_ctx.vm, name, err, errlen);
}

int vm_mon_delvm(const char *name, char *err, size_t errlen)
{
	return vm_delvm(vm_mon_ctx.vm, name, err, errlen);
}

int vm_mon_snapshots_info(char **text, char *err, size_t errlen)
{
	return vm_snapshots_info(vm_mon_ctx.vm, text, err, errlen);
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
