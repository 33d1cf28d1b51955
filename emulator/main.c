/* main.c - strata-vm command line, QEMU-compatible where it overlaps:
 *   strata-vm -M virt -bios none|FIRMWARE -kernel prog.elf -nographic [-m MiB] [-append CMDLINE]
 *             [-d in_asm,int,exec]
 *             [-D logfile] [-s] [-S] [-gdb tcp::PORT] [--jit=on|off|eager] [--stats]
 *             [-drive file=F[,format=..][,if=virtio|none][,id=..][,readonly=on][,cache=..][,snapshot=on]]
 *             [-device virtio-blk-device,drive=ID] [-snapshot] [-global virtio-mmio.force-legacy=on|off]
 * The exit status is the guest's exit code (sifive_test or HTIF); 1 on usage or load errors. */
#include "emulator/host/loop.h"
#include "emulator/machine/drive.h"
#include "emulator/machine/virt.h"
#include "emulator/trace.h"
#include "emulator/gdbstub.h"
#include "emulator/chardev/chardev.h"
#include "emulator/monitor/monitor.h"
#include "emulator/cpu/jit.h"
#include "bc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: strata-vm -M virt[,dumpdtb=FILE] -bios none|FIRMWARE -kernel FILE [-nographic] [-m MiB] [-append CMDLINE]\n"
		   "                 [-d in_asm,int,exec] [-D logfile] [-s] [-S] [-gdb tcp::PORT]\n"
		   "                 [--jit=on|off|eager] [--stats]\n"
		   "                 [-drive file=FILE[,format=raw|qcow2|vmdk|vdi][,if=virtio|none][,id=ID][,readonly=on]\n"
		   "                         [,cache=writeback|writethrough|none|directsync|unsafe][,snapshot=on][,discard=unmap]]\n"
		   "                 [-device virtio-blk-device,drive=ID] [-snapshot]\n"
		   "                 [-global virtio-mmio.force-legacy=on|off]\n");
}

/* -device virtio-blk-device,drive=ID (the only device): the id, or NULL if not that form. */
static const char *blk_device_drive(const char *v)
{
	static const char prefix[] = "virtio-blk-device,";
	if (strncmp(v, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	const char *d = strstr(v, "drive=");
	return d ? d + 6 : NULL;
}

/* Opens every image in command-line order (as qemu-system does, if=none ones too), then
 * lists the disks in attach order: an if=virtio drive at its -drive, an if=none drive at the
 * -device naming it. On error prints one line and returns -1. */
static int attach_drives(struct vm_drive *drives, int ndrives, char **devs, int *order, int norder,
			 bool snapshot_all, struct vm_virt_config *cfg)
{
	char err[1200];
	for (int i = 0; i < ndrives; i++) {
		struct vm_drive *d = &drives[i];
		d->snapshot |= snapshot_all;
		if (vm_drive_open(d, err, sizeof(err))) {
			fprintf(stderr, "strata-vm: -drive %s: %s\n", d->spec, err);
			return -1;
		}
		if (bc_probed_raw(d->img)) /* qemu-system's warning, word for word */
			fprintf(stderr, "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
					"         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
					"         Specify the 'raw' format explicitly to remove the restrictions.\n",
				d->file);
	}
	for (int i = 0; i < norder; i++) {
		struct vm_drive *d = NULL;
		if (order[i] >= 0) {
			d = &drives[order[i]];
		} else {
			const char *id = devs[-order[i] - 1];
			for (int k = 0; k < ndrives && !d; k++)
				if (drives[k].id && drives[k].if_none && !strcmp(drives[k].id, id))
					d = &drives[k];
			if (!d || d->used) {
				fprintf(stderr, "strata-vm: -device virtio-blk-device,drive=%s: Property 'virtio-blk-device.drive' can't find value '%s'\n", id, id);
				return -1;
			}
		}
		d->used = true;
		if (cfg->ndisks == VM_VIRT_VIRTIO_SLOTS) {
			fprintf(stderr, "strata-vm: -drive %s: no free virtio-mmio slot (at most %d disks)\n", d->spec, VM_VIRT_VIRTIO_SLOTS);
			return -1;
		}
		cfg->disks[cfg->ndisks++] = (struct vm_virt_disk){ d->img, d->readonly, d->discard, d->writethrough };
	}
	return 0;
}

/* -monitor SPEC / -qmp SPEC / -qmp-pretty SPEC: a back end each, then its monitor. */
struct mon_opt {
	const char *spec;
	bool qmp, pretty;
};

static int start_monitors(struct vm_virt *vm, struct vm_loop *loop, struct vm_drive *drives, int ndrives,
			  const struct mon_opt *mons, int nmons)
{
	char err[512];
	if (vm_monitor_init(vm, drives, ndrives)) {
		fprintf(stderr, "strata-vm: cannot start the monitor\n");
		return -1;
	}
	for (int i = 0; i < nmons; i++) {
		struct vm_chardev *chr = NULL;
		char label[32];
		snprintf(label, sizeof(label), "compat_monitor%d", i);
		if (vm_chr_new_legacy(loop, mons[i].spec, label, &chr, err, sizeof(err))) {
			fprintf(stderr, "strata-vm: -%s %s: %s\n", mons[i].qmp ? "qmp" : "monitor", mons[i].spec, err);
			return -1;
		}
		if (chr && vm_monitor_attach(chr, mons[i].qmp, mons[i].pretty)) {
			fprintf(stderr, "strata-vm: -%s %s: the back end is in use\n", mons[i].qmp ? "qmp" : "monitor",
				mons[i].spec);
			return -1;
		}
	}
	return 0;
}

static int parse_size_mib(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'G' || *end == 'g')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	if (*end || v == 0 || v > 65536)
		return -EINVAL;
	*out = (uint64_t)v << 20;
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_virt_config cfg = { .ram_size = 128ULL << 20, .console_out = stdout, .console_in = -1 };
	const char *trace_flags = NULL, *trace_file = NULL, *gdb_spec = NULL;
	bool gdb_wait = false, stats = false;
	unsigned jit_threshold = 16; /* 0: interpret only */
	static struct vm_drive drives[16];
	static char *devs[16];
	static int order[32];
	int ndrives = 0, ndevs = 0, norder = 0;
	bool snapshot_all = false;
	struct mon_opt mons[4];
	int nmons = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-nographic")) {
			takes = false;
		} else if (!strcmp(a, "-no-reboot")) {
			cfg.no_reboot = true;
			takes = false;
		} else if (!strcmp(a, "--stats")) {
			stats = true; /* strata-vm only: instructions and guest MIPS on stderr at exit */
			takes = false;
		} else if (!strncmp(a, "--jit=", 6)) {
			/* strata-vm only: eager compiles every jump target at its first arrival */
			const char *m = a + 6;
			if (!strcmp(m, "on"))
				jit_threshold = 16;
			else if (!strcmp(m, "off"))
				jit_threshold = 0;
			else if (!strcmp(m, "eager"))
				jit_threshold = 1;
			else {
				fprintf(stderr, "strata-vm: bad --jit mode '%s' (on, off or eager)\n", m);
				return 1;
			}
			takes = false;
		} else if (!strcmp(a, "-snapshot")) {
			snapshot_all = true; /* every disk gets a throw-away overlay */
			takes = false;
		} else if (!strcmp(a, "-s")) {
			gdb_spec = "tcp::1234";
			takes = false;
		} else if (!strcmp(a, "-S")) {
			gdb_wait = true;
			takes = false;
		} else if (!v) {
			fprintf(stderr, "strata-vm: option %s needs an argument\n", a);
			return 1;
		} else if (!strcmp(a, "-M") || !strcmp(a, "-machine")) {
			if (!strncmp(v, "virt,dumpdtb=", 13)) {
				cfg.dumpdtb = v + 13; /* as QEMU: write the device tree and exit */
			} else if (strcmp(v, "virt") != 0) {
				fprintf(stderr, "strata-vm: unsupported machine '%s' (only virt)\n", v);
				return 1;
			}
		} else if (!strcmp(a, "-bios")) {
			cfg.bios = strcmp(v, "none") ? v : NULL;
		} else if (!strcmp(a, "-append")) {
			cfg.append = v;
		} else if (!strcmp(a, "-kernel")) {
			cfg.kernel = v;
		} else if (!strcmp(a, "-m")) {
			if (parse_size_mib(v, &cfg.ram_size)) {
				fprintf(stderr, "strata-vm: bad memory size '%s'\n", v);
				return 1;
			}
		} else if (!strcmp(a, "-smp")) {
			if (strcmp(v, "1") != 0) {
				fprintf(stderr, "strata-vm: only one hart is supported\n");
				return 1;
			}
		} else if (!strcmp(a, "-d")) {
			trace_flags = v;
		} else if (!strcmp(a, "-D")) {
			trace_file = v;
		} else if (!strcmp(a, "-gdb")) {
			gdb_spec = v;
		} else if (!strcmp(a, "-drive")) {
			char err[512];
			if (ndrives == 16) {
				fprintf(stderr, "strata-vm: too many -drive options\n");
				return 1;
			}
			if (vm_drive_parse(&drives[ndrives], v, err, sizeof(err))) {
				fprintf(stderr, "strata-vm: -drive %s: %s\n", v, err);
				return 1;
			}
			if (!drives[ndrives].if_none)
				order[norder++] = ndrives;
			ndrives++;
		} else if (!strcmp(a, "-device")) {
			const char *id = blk_device_drive(v);
			if (!id || ndevs == 16) {
				fprintf(stderr, "strata-vm: -device %s: only virtio-blk-device,drive=ID is supported\n", v);
				return 1;
			}
			devs[ndevs++] = (char *)id;
			order[norder++] = -ndevs;
		} else if (!strcmp(a, "-global")) {
			if (!strcmp(v, "virtio-mmio.force-legacy=false") || !strcmp(v, "virtio-mmio.force-legacy=off")) {
				cfg.virtio_modern = true;
			} else if (!strcmp(v, "virtio-mmio.force-legacy=true") || !strcmp(v, "virtio-mmio.force-legacy=on")) {
				cfg.virtio_modern = false;
			} else {
				fprintf(stderr, "strata-vm: -global %s: only virtio-mmio.force-legacy is supported\n", v);
				return 1;
			}
		} else if (!strcmp(a, "-monitor") || !strcmp(a, "-qmp") || !strcmp(a, "-qmp-pretty")) {
			/* ---- monitors (monitor branch): attached once the board exists ---- */
			if (nmons == 4) {
				fprintf(stderr, "strata-vm: too many monitors\n");
				return 1;
			}
			mons[nmons++] = (struct mon_opt){ v, a[1] == 'q', !strcmp(a, "-qmp-pretty") };
		} else if (!strcmp(a, "-serial") || !strcmp(a, "-display")) {
			/* console is always the UART on stdio; accepted for QEMU compatibility */
		} else {
			fprintf(stderr, "strata-vm: unknown option '%s'\n", a);
			usage(stderr);
			return 1;
		}
		if (takes)
			i++;
	}
	if (!cfg.kernel && !cfg.bios && !cfg.dumpdtb) {
		usage(stderr);
		return 1;
	}
	if (isatty(STDIN_FILENO) || !gdb_spec)
		cfg.console_in = STDIN_FILENO;

	int code = 1;
	struct vm_loop *loop = NULL;
	static struct vm_virt vm; /* large (TLBs): keep it off the stack */
	char err[256];
	if (attach_drives(drives, ndrives, devs, order, norder, snapshot_all, &cfg))
		goto out_drives;
	loop = vm_loop_new();
	if (!loop) {
		fprintf(stderr, "strata-vm: cannot create the event loop\n");
		goto out_drives;
	}
	int crc = vm_virt_create(&vm, &cfg, loop, err, sizeof(err));
	if (crc) {
		fprintf(stderr, "strata-vm: %s\n", err);
		if (crc == -ECANCELED) /* dumpdtb done */
			code = 0;
		goto out_drives;
	}
	/* Without a code generator for this host the interpreter runs alone. */
	int jrc = jit_threshold ? rv_jit_init(&vm.cpu, jit_threshold) : 0;
	if (jrc < 0 && jrc != -ENOSYS)
		fprintf(stderr, "strata-vm: warning: no executable memory for the JIT (%s); interpreting\n", strerror(-jrc));
	struct vm_trace trace;
	if (trace_flags && vm_trace_open(&trace, &vm.cpu, trace_flags, trace_file, err, sizeof(err))) {
		fprintf(stderr, "strata-vm: %s\n", err);
		vm_virt_destroy(&vm);
		goto out_drives;
	}
	if (start_monitors(&vm, loop, drives, ndrives, mons, nmons)) {
		vm_virt_destroy(&vm);
		goto out_drives;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (gdb_spec) {
		int rc = vm_gdb_serve(&vm, gdb_spec, gdb_wait, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "strata-vm: %s\n", err);
			code = 1;
		} else {
			code = vm.exit.code;
		}
	} else {
		code = vm_virt_main(&vm);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stats) {
		/* MIPS over the CPU time of the process: other load on the host does not skew it */
		struct timespec cpu;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		double csec = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
		uint64_t blocks, flushes;
		rv_jit_stats(&vm.cpu, &blocks, &flushes);
		fprintf(stderr, "strata-vm: instret=%llu seconds=%.3f cpu_seconds=%.3f mips=%.1f jit_blocks=%llu jit_flushes=%llu\n",
			(unsigned long long)vm.cpu.instret, sec, csec, csec > 0 ? (double)vm.cpu.instret / csec / 1e6 : 0.0,
			(unsigned long long)blocks, (unsigned long long)flushes);
	}
	if (trace_flags)
		vm_trace_close(&trace);
	vm_monitor_cleanup();
	vm_virt_destroy(&vm);
	fflush(stdout);
out_drives:
	vm_chr_free_all();
	vm_loop_free(loop);
	/* images are flushed and closed whatever the guest did (snapshot overlays vanish) */
	for (int i = 0; i < ndrives; i++) {
		if (drives[i].img && vm_drive_close(&drives[i]) < 0)
			fprintf(stderr, "strata-vm: -drive %s: flush failed at exit\n", drives[i].spec);
		vm_drive_free(&drives[i]);
	}
	return code;
}
