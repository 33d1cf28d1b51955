/* savevm.h - QEMU's savevm/loadvm/delvm/info snapshots for the virt board: the VM state stream
 * (vmstate.h) goes into the VM-state area of the first writable drive that supports internal
 * snapshots, and every writable drive gets a disk snapshot of the same name at the same
 * instant (the VM is stopped meanwhile). Drives: vm->cfg.drives (virt.h). Messages are QEMU
 * 7.2's, without its "Error: " prefix; the monitor adds what HMP/QMP show. */
#ifndef STRATA_EMULATOR_MACHINE_SAVEVM_H
#define STRATA_EMULATOR_MACHINE_SAVEVM_H

#include <stdbool.h>
#include <stddef.h>

struct vm_virt;

/* HMP savevm: name NULL or "" picks QEMU's "vm-YYYYMMDDhhmmss"; a snapshot of that name is
 * replaced on every drive. 0 or -errno with err set. */
int vm_savevm(struct vm_virt *vm, const char *name, char *err, size_t errlen);
/* As vm_savevm; overwrite false refuses a name that exists (QMP snapshot-save). */
int vm_savevm_opts(struct vm_virt *vm, const char *name, bool overwrite, char *err, size_t errlen);
/* HMP loadvm: disks and machine back to the snapshot. The stream is checked before anything
 * changes; on error the VM is as it was (see docs/emulator.md for the one exception). */
int vm_loadvm(struct vm_virt *vm, const char *name, char *err, size_t errlen);
/* HMP delvm: deletes the first snapshot of that name on every writable drive. */
int vm_delvm(struct vm_virt *vm, const char *name, char *err, size_t errlen);
/* HMP `info snapshots`: *text (malloc'd, freed by the caller) is QEMU's output, lines ending
 * in "\n". -ENOENT with err set when no drive can hold snapshots (HMP prints err alone). */
int vm_snapshots_info(struct vm_virt *vm, char **text, char *err, size_t errlen);

#endif
