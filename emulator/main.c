/* main.c - strata-vm: builds the virt machine from the command line (options.c) and runs it.
 * The exit status is the guest's exit code (sifive_test or HTIF), 0 after quit; 1 on usage
 * or setup errors. */
#include "emulator/cpu/jit.h"
#include "emulator/gdbstub.h"
#include "emulator/host/loop.h"
#include "emulator/machine/savevm.h"
#include "emulator/monitor/monitor.h"
#include "emulator/net/net.h"
#include "emulator/nics.h"
#include "emulator/options.h"
#include "emulator/trace.h"
#include "bc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Opens every image in command-line order (as qemu-system does, if=none ones too), then
 * lists the disks in attach order: an if=virtio drive at its -drive, an if=none drive at the
 * -device naming it. On error prints one line and returns -1. */
static int attach_drives(struct vm_options *o)
{
	char err[1200];
	struct vm_virt_config *cfg = &o->cfg;
	for (int i = 0; i < o->ndrives; i++) {
		struct vm_drive *d = &o->drives[i];
		d->snapshot |= o->snapshot_all;
		if (vm_drive_open(d, err, sizeof(err))) {
			fprintf(stderr, "%s: -drive %s: %s\n", o->prog, d->spec, err);
			return -1;
		}
		if (bc_probed_raw(d->img)) /* qemu-system's warning, word for word */
			fprintf(stderr, "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
					"         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
					"         Specify the 'raw' format explicitly to remove the restrictions.\n",
				bc_filename(d->img));
	}
	for (int i = 0; i < o->norder; i++) {
		struct vm_drive *d = NULL;
		if (o->order[i] >= 0) {
			d = &o->drives[o->order[i]];
		} else {
			const char *id = o->blk_devs[-o->order[i] - 1];
			for (int k = 0; k < o->ndrives && !d; k++)
				if (o->drives[k].id && o->drives[k].if_none && !strcmp(o->drives[k].id, id))
					d = &o->drives[k];
			if (!d || d->used) {
				fprintf(stderr, "%s: -device virtio-blk-device,drive=%s: Property 'virtio-blk-device.drive' can't find value '%s'\n",
					o->prog, id, id);
				return -1;
			}
		}
		d->used = true;
		if (cfg->ndisks == VM_VIRT_VIRTIO_SLOTS) {
			fprintf(stderr, "%s: -drive %s: no free virtio-mmio slot (at most %d disks)\n", o->prog, d->spec,
				VM_VIRT_VIRTIO_SLOTS);
			return -1;
		}
		cfg->disks[cfg->ndisks++] = (struct vm_virt_disk){ d->img, d->readonly, d->discard, d->writethrough };
	}
	return 0;
}

/* Every drive for savevm (virt.h), named as QEMU names block backends: the id, else virtioN. */
static void list_drives(struct vm_options *o)
{
	static struct vm_virt_drive list[VM_MAX_DRIVES];
	static char names[VM_MAX_DRIVES][24];
	for (int i = 0, nvirtio = 0; i < o->ndrives; i++) {
		const struct vm_drive *d = &o->drives[i];
		const char *name = d->id;
		if (!name) {
			snprintf(names[i], sizeof(names[i]), "virtio%d", nvirtio);
			name = names[i];
		}
		if (!d->if_none)
			nvirtio++;
		list[i] = (struct vm_virt_drive){ name, d->img, d->readonly };
	}
	o->cfg.drives = list;
	o->cfg.ndrives = o->ndrives;
}

/* ---- -daemonize and -pidfile ---- */
static int ready_fd = -1; /* -daemonize: the parent waits on this pipe for the set-up result */

/* Forks; the parent waits until the child reports that the VM is set up and exits with the
 * child's verdict, so set-up errors still reach the terminal and the exit code. */
static int daemonize_start(const char *prog)
{
	int p[2];
	if (pipe(p)) {
		fprintf(stderr, "%s: cannot daemonize: %s\n", prog, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: cannot daemonize: %s\n", prog, strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		char status = 1;
		ssize_t n = read(p[0], &status, 1);
		_exit(n == 1 ? status : 1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	return 0;
}

static void daemonize_done(bool ok)
{
	if (ready_fd < 0)
		return;
	if (ok) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	char status = ok ? 0 : 1;
	ssize_t n = write(ready_fd, &status, 1);
	(void)n;
	close(ready_fd);
	ready_fd = -1;
}

static const char *pidfile_path;

static void pidfile_remove(void)
{
	if (pidfile_path)
		unlink(pidfile_path);
}

/* Writes our pid under a lock held for the process's life, as QEMU does: a second VM with
 * the same pid file fails instead of overwriting it. */
static int pidfile_create(const char *prog, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || lockf(fd, F_TLOCK, 0)) {
		fprintf(stderr, "%s: cannot create PID file: %s: %s\n", prog,
			fd < 0 ? "Cannot open pid file" : "Cannot lock pid file", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || write(fd, buf, (size_t)len) != len) {
		fprintf(stderr, "%s: cannot create PID file: Failed to write pid file: %s\n", prog, strerror(errno));
		close(fd);
		return -1;
	}
	pidfile_path = path;
	atexit(pidfile_remove);
	return 0; /* fd stays open: it holds the lock */
}

static void print_stats(struct vm_virt *vm, const struct timespec *t0)
{
	/* MIPS over the CPU time of the process: other load on the host does not skew it */
	struct timespec t1, cpu;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	double sec = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	double csec = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
	uint64_t blocks = 0, flushes = 0, instret = 0; /* summed over the harts */
	for (unsigned h = 0; h < vm->nharts; h++) {
		uint64_t b, f;
		rv_jit_stats(vm->harts[h], &b, &f);
		blocks += b;
		flushes += f;
		instret += vm->harts[h]->instret;
	}
	fprintf(stderr, "strata-vm: instret=%llu seconds=%.3f cpu_seconds=%.3f mips=%.1f jit_blocks=%llu jit_flushes=%llu\n",
		(unsigned long long)instret, sec, csec, csec > 0 ? (double)instret / csec / 1e6 : 0.0,
		(unsigned long long)blocks, (unsigned long long)flushes);
}

/* Runs the machine to its end; returns the exit code. */
static int run(struct vm_options *o, struct vm_virt *vm)
{
	char err[256];
	/* Without a code generator for this host the interpreter runs alone. */
	int jrc = 0;
	for (unsigned h = 0; h < vm->nharts && !jrc; h++) /* a JIT buffer per hart */
		jrc = o->jit_threshold ? rv_jit_init(vm->harts[h], o->jit_threshold) : 0;
	if (jrc < 0 && jrc != -ENOSYS)
		fprintf(stderr, "%s: warning: no executable memory for the JIT (%s); interpreting\n", o->prog,
			strerror(-jrc));
	struct vm_trace trace;
	if (o->trace_flags && vm_trace_open(&trace, &vm->cpu, o->trace_flags, o->trace_file, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", o->prog, err);
		return 1;
	}
	if (o->pidfile && pidfile_create(o->prog, o->pidfile)) {
		if (o->trace_flags)
			vm_trace_close(&trace);
		return 1;
	}
	if (o->gdb_spec && vm_gdb_start(vm, o->gdb_spec, err, sizeof(err))) {
		if (!err[0])
			snprintf(err, sizeof(err), "Could not open gdbserver on device '%s'", o->gdb_spec);
		fprintf(stderr, "%s: -gdb %s: %s\n", o->prog, o->gdb_spec, err);
		if (o->trace_flags)
			vm_trace_close(&trace);
		return 1;
	}
	daemonize_done(true);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o->start_paused)
		vm_virt_set_state(vm, VM_RUN_PRELAUNCH);
	int code = vm_virt_main(vm);
	vm_gdb_exit(code); /* an attached debugger learns the exit status */
	if (o->stats)
		print_stats(vm, &t0);
	if (o->trace_flags)
		vm_trace_close(&trace);
	return code;
}

/* The block engine's warnings (qcow2's corrupt mark), printed as qemu-system prints them. */
static void print_bc_warning(const char *line, void *opaque)
{
	(void)opaque;
	if (!strncmp(line, "error: ", 7)) /* qemu's error_report: the program name instead */
		fprintf(stderr, "strata-vm: "), line += 7;
	fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
	static struct vm_options o; /* large: drive table */
	bc_set_warning_handler(print_bc_warning, NULL);
	int prc = vm_options_parse(&o, argc, argv);
	if (prc)
		return prc > 0 ? 0 : 1;
	if (o.daemonize && o.con.nographic) {
		fprintf(stderr, "%s: -nographic cannot be used with -daemonize\n", o.prog);
		return 1;
	}
	if (o.bios_default && !o.cfg.dumpdtb) {
		o.cfg.bios = vm_default_bios();
		if (!o.cfg.bios) {
			fprintf(stderr, "%s: Unable to load the RISC-V firmware \"opensbi-riscv64-generic-fw_dynamic.bin\" "
					"(install Debian's opensbi package, or use -bios none|FILE)\n", o.prog);
			return 1;
		}
	}
	if (o.daemonize && daemonize_start(o.prog))
		return 1;

	int code = 1;
	static struct vm_virt vm; /* large (TLBs): keep it off the stack */
	char err[256];
	struct vm_loop *loop = vm_loop_new();
	struct vm_net *net = loop ? vm_net_new(loop) : NULL;
	if (!loop || !net) {
		fprintf(stderr, "%s: cannot create the event loop\n", o.prog);
		goto out;
	}
	if (attach_drives(&o) || vm_console_setup(&o.con, loop, &o.cfg.serial) || vm_nics_setup(&o, net))
		goto out;
	list_drives(&o);
	int crc = vm_virt_create(&vm, &o.cfg, loop, err, sizeof(err));
	if (crc) {
		fprintf(stderr, "%s: %s\n", o.prog, err);
		if (crc == -ECANCELED) /* dumpdtb done */
			code = 0;
		goto out;
	}
	if (vm_monitor_init(&vm, o.drives, o.ndrives) || vm_console_start(&o.con, &vm)) {
		vm_virt_destroy(&vm);
		goto out;
	}
	if (o.loadvm && vm_loadvm(&vm, o.loadvm, err, sizeof(err))) { /* savevm.h */
		fprintf(stderr, "%s: %s\n", o.prog, err);
		vm_virt_destroy(&vm);
		goto out;
	}
	code = run(&o, &vm);
	vm_monitor_cleanup();
	vm_virt_destroy(&vm);
	fflush(stdout);
out:
	daemonize_done(false);
	vm_console_close(); /* terminals back as they were */
	/* images are flushed and closed whatever the guest did (snapshot overlays vanish) */
	for (int i = 0; i < o.ndrives; i++) {
		if (o.drives[i].img && vm_drive_close(&o.drives[i]) < 0)
			fprintf(stderr, "%s: -drive %s: flush failed at exit\n", o.prog, o.drives[i].spec);
		vm_drive_free(&o.drives[i]);
	}
	vm_net_free(net); /* before the loop: slirp's timers live there */
	vm_loop_free(loop);
	return code;
}
