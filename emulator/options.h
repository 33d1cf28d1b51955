/* options.h - strata-vm's command line: one table of QEMU-style options (options.c) parsed
 * into struct vm_options; main.c builds and runs the machine from it. */
#ifndef STRATA_EMULATOR_OPTIONS_H
#define STRATA_EMULATOR_OPTIONS_H

#include "emulator/console.h"
#include "emulator/machine/drive.h"
#include "emulator/machine/virt.h"

#define VM_MAX_DRIVES 16

struct vm_options {
	struct vm_virt_config cfg;
	const char *prog;       /* argv[0]'s base name, the prefix of every message */
	const char *trace_flags, *trace_file, *gdb_spec;
	bool start_paused;      /* -S */
	bool stats;             /* --stats */
	unsigned jit_threshold; /* 0: interpret only */
	const char *pidfile;
	bool daemonize;
	const char *loadvm;     /* -loadvm NAME */
	bool bios_default;      /* no -bios, or -bios default: OpenSBI from Debian's package */
	/* drives and the disks' attach order: >= 0 an if=virtio drive, < 0 the -device -order-1 */
	struct vm_drive drives[VM_MAX_DRIVES];
	const char *blk_devs[VM_MAX_DRIVES];
	int order[2 * VM_MAX_DRIVES];
	int ndrives, ndevs, norder;
	bool snapshot_all;
	/* -nographic -display -serial -chardev -monitor -mon -qmp, in command-line order */
	struct vm_console_opts con;
};

/* Parses argv. Returns 0 to go on, 1 when done (help/version printed: exit 0), or -1 after
 * printing one error line (exit 1). */
int vm_options_parse(struct vm_options *o, int argc, char **argv);
/* Where Debian's opensbi package puts the generic fw_dynamic firmware, or NULL. */
const char *vm_default_bios(void);

#endif
