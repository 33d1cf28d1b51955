/* test_savevm.c - savevm/loadvm/delvm of the whole virt board, driven in-process (the emulator's
 * objects without main.o) on the guest tests/riscv/savevm/counter.c. Prints "ok - name" or
 * "not ok - name: why" lines; tests/vm/savevm.sh numbers them and adds the image checks.
 *   test_savevm all IMAGE ELF INFO_OUT    every behaviour below; INFO_OUT gets `info snapshots`
 *   test_savevm crash IMAGE ELF           savevm c1, c2, ... until killed ("saved cN" each)
 *   test_savevm load IMAGE ELF NAME       a fresh board loads NAME and the guest goes on
 *   test_savevm drives A.qcow2 ELF B.qcow2 R.raw INFO_OUT   several drives (d0 = A on the
 *                                         virtio disk, d1 = B not attached, r0 = R raw)
 *   test_savevm linux IMAGE KERNEL INITRD FIRMWARE CONSOLE   Linux (busybox shell as init,
 *                                         a `sleep 1` loop): saved, loaded while running, loaded
 *                                         on a fresh board; its timer must keep ticking
 *   test_savevm short IMAGE ELF NAME      a guest that counts to 300000 saved midway as NAME
 *   test_savevm bench IMAGE ELF RAM_MIB BLOB        savevm/loadvm times and VM-state size */
#include "emulator/chardev/chardev.h"
#include "emulator/cpu/jit.h"
#include "emulator/host/loop.h"
#include "emulator/machine/savevm.h"
#include "emulator/machine/virt.h"
#include "emulator/machine/vmstate.h"
#include "emulator/machine/crc32c.h"
#include "bc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MBOX_PA 0x80800000ULL
enum { MB_MAGIC, MB_COUNT, MB_MTICKS, MB_STICKS, MB_WRITES, MB_ITERS = 7 };
#define DISK_BYTES (128 * 512) /* the sectors the guest writes */

static int failures;
static double now_s(void);
static struct vm_virt_drive drive;

static void check(bool ok, const char *name, const char *why)
{
	if (ok)
		printf("ok - %s\n", name);
	else
		printf("not ok - %s: %s\n", name, why ? why : "");
	failures += !ok;
	fflush(stdout);
}

/* vm_virt_run as the main loop would call it: vm_virt_stop leaves stop_requested set for the
 * main loop to clear once the VM runs again. */
static int run_vm(struct vm_virt *vm, uint64_t insns)
{
	if (vm->state == VM_RUN_RUNNING)
		vm->stop_requested = false;
	return vm_virt_run(vm, insns);
}

static volatile uint64_t *mbox(struct vm_virt *vm)
{
	return (volatile uint64_t *)vm_bus_ram(&vm->bus, MBOX_PA, 64);
}

static int make_board(struct vm_virt *vm, struct bc_image *img, uint64_t ram_mib, const char *elf)
{
	char err[512];
	struct vm_virt_config cfg = { .ram_size = ram_mib << 20, .kernel = elf, .ndisks = 1, .drives = &drive,
				      .ndrives = 1 }; /* no serial back end: output dropped */
	cfg.disks[0] = (struct vm_virt_disk){ .img = img };
	drive = (struct vm_virt_drive){ "d0", img, false };
	if (vm_virt_create(vm, &cfg, NULL, err, sizeof(err))) {
		fprintf(stderr, "board: %s\n", err);
		return -1;
	}
	rv_jit_init(&vm->cpu, 16);
	mbox(vm)[MB_ITERS] = 1ULL << 40; /* the guest counts for as long as the test runs it */
	return 0;
}

/* Everything a load must bring back: the machine's stream (taken paused: mtime included) and
 * the disk sectors the guest writes. */
struct capture {
	uint8_t *stream;
	size_t len;
	uint8_t disk[DISK_BYTES];
};

static void capture(struct vm_virt *vm, struct bc_image *img, struct capture *c)
{
	char err[256];
	free(c->stream);
	c->stream = NULL;
	if (vm_state_save(vm, &c->stream, &c->len, err, sizeof(err)))
		fprintf(stderr, "capture: %s\n", err);
	if (bc_read(img, 0, c->disk, DISK_BYTES))
		fprintf(stderr, "capture: disk read failed\n");
}

static bool same(const struct capture *a, const struct capture *b)
{
	return a->stream && b->stream && a->len == b->len && !memcmp(a->stream, b->stream, a->len) &&
	       !memcmp(a->disk, b->disk, DISK_BYTES);
}

/* Runs until both timers ticked `n` more times (bounded: 400M instructions). */
static bool timers_fire(struct vm_virt *vm, uint64_t n)
{
	uint64_t m0 = mbox(vm)[MB_MTICKS], s0 = mbox(vm)[MB_STICKS];
	for (int i = 0; i < 400; i++) {
		run_vm(vm, 1000000);
		if (mbox(vm)[MB_MTICKS] >= m0 + n && mbox(vm)[MB_STICKS] >= s0 + n)
			return true;
	}
	return false;
}

static int open_image(const char *path, struct bc_image **img)
{
	struct bc_err e = { 0 };
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_RDWR };
	if (bc_open(img, path, &o, &e)) {
		fprintf(stderr, "%s: %s\n", path, e.msg);
		return -1;
	}
	return 0;
}

/* A snapshot whose VM state is `buf` (a stream as some other writer left it). */
static void plant(struct bc_image *img, const char *name, const uint8_t *buf, size_t len)
{
	struct bc_snapshot sn = { .icount = UINT64_MAX, .vm_state_size = len };
	struct bc_err e = { 0 };
	snprintf(sn.name, sizeof(sn.name), "%s", name);
	sn.date_sec = (uint32_t)time(NULL);
	if (bc_vmstate_write(img, 0, buf, len) || bc_snapshot_create(img, &sn, &e))
		fprintf(stderr, "plant %s: %s\n", name, e.msg);
}

static void put_crc(uint8_t *buf, size_t len)
{
	uint32_t c = buf[8] == 1 ? (uint32_t)crc32_z(0, buf, len - 4) : vm_crc32c(0, buf, len - 4);
	for (int i = 0; i < 4; i++)
		buf[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

/* loadvm of a bad snapshot fails with `want` in the message and changes nothing. */
static void refused(struct vm_virt *vm, struct bc_image *img, const char *name, const char *want, const char *what)
{
	struct capture before = { 0 }, after = { 0 };
	char err[512] = "";
	vm_virt_stop(vm);
	capture(vm, img, &before);
	int rc = vm_loadvm(vm, name, err, sizeof(err));
	capture(vm, img, &after);
	char label[160];
	snprintf(label, sizeof(label), "%s: refused with a clear message", what);
	check(rc < 0 && strstr(err, want), label, err);
	snprintf(label, sizeof(label), "%s: machine, RAM and disk unchanged", what);
	check(same(&before, &after) && vm->state == VM_RUN_PAUSED, label, NULL);
	free(before.stream);
	free(after.stream);
	vm_virt_cont(vm);
}

static void error_cases(struct vm_virt *vm, struct bc_image *img, const struct capture *a, const char *elf)
{
	char err[512] = "";
	uint8_t *buf = malloc(a->len);
	/* a corrupted stream (one byte in the middle), a newer format, a device refusing its
	 * section (CLINT msip = 2 with a valid CRC: the rollback path) */
	memcpy(buf, a->stream, a->len);
	buf[a->len / 2] ^= 0x40;
	plant(img, "corrupt", buf, a->len);
	memcpy(buf, a->stream, a->len);
	buf[8] = VM_STATE_FORMAT + 1;
	plant(img, "newer", buf, a->len);
	memcpy(buf, a->stream, a->len);
	uint8_t *p = memmem(buf, a->len, "S\x05\x00" "clint", 8); /* the section, not the device list */
	if (p) {
		p[8 + 8 + 4] = 2; /* after version, length and the hart count: hart 0's msip */
		put_crc(buf, a->len);
	}
	plant(img, "badclint", buf, a->len);
	memcpy(buf, a->stream, a->len); /* format 1 (zlib's CRC-32): snapshots of older builds */
	buf[8] = 1;
	put_crc(buf, a->len);
	plant(img, "format1", buf, a->len);
	free(buf);

	run_vm(vm, 2000000); /* RAM, registers and disk now differ from every snapshot */
	refused(vm, img, "corrupt", "VM state is corrupt (checksum mismatch)", "corrupted stream");
	refused(vm, img, "newer", "VM state format version 3 is newer than this strata-vm reads (2)", "newer format");
	refused(vm, img, "badclint", "VM state section 'clint' is invalid", "device rejects its section");
	refused(vm, img, "nope", "Snapshot 'nope' does not exist in one or more devices", "missing snapshot");
	vm_virt_stop(vm);
	struct capture c = { 0 };
	int rc = vm_loadvm(vm, "format1", err, sizeof(err));
	capture(vm, img, &c);
	check(rc == 0 && c.len == a->len && !memcmp(c.stream + 12, a->stream + 12, a->len - 16),
	      "a format-1 stream (zlib CRC-32) still loads, exactly", err);
	free(c.stream);
	vm_virt_cont(vm);

	/* another machine configuration: 128 MiB instead of 64 */
	struct vm_virt *big = calloc(1, sizeof(*big));
	if (make_board(big, img, 128, elf) == 0) {
		run_vm(big, 2000000);
		refused(big, img, "s1", "VM state is for a machine with 64 MiB of RAM, this machine has 128 MiB (-m)",
			"different -m");
		vm_virt_destroy(big);
	}
	free(big);
	for (const char *const *n = (const char *const[]){ "corrupt", "newer", "badclint", "format1", NULL }; *n; n++)
		vm_delvm(vm, *n, err, sizeof(err));
}

static int run_all(struct bc_image *img, const char *elf, const char *info_out)
{
	static struct vm_virt vm;
	struct capture a = { 0 }, b = { 0 };
	char err[512] = "";
	if (make_board(&vm, img, 64, elf))
		return 1;
	run_vm(&vm, 3000000);
	check(mbox(&vm)[MB_COUNT] > 0 && mbox(&vm)[MB_WRITES] > 0, "guest counts and writes the disk", NULL);

	vm_virt_stop(&vm);
	/* state the counter guest never touches: kept by savevm, put back by loadvm */
	vm.cpu.hpmcounter[3] = 0x1234567890ULL, vm.cpu.hpmevent[31] = 0x77;
	rv_trig_csr_write(&vm.cpu, 0x7a0, 1);
	rv_trig_csr_write(&vm.cpu, 0x7a1, 6ULL << 60 | 1); /* mcontrol6, load, no mode: not armed */
	rv_trig_csr_write(&vm.cpu, 0x7a2, 0x80001000);
	capture(&vm, img, &a);
	int rc = vm_savevm(&vm, "s1", err, sizeof(err));
	check(rc == 0, "savevm s1", err);
	capture(&vm, img, &b);
	check(same(&a, &b) && vm.state == VM_RUN_PAUSED, "savevm changes nothing; a paused VM stays paused", NULL);
	check(a.len < (8u << 20), "64 MiB guest: VM state under 8 MiB (zero pages skipped, zstd)", NULL);
	vm_virt_cont(&vm);

	uint64_t count = mbox(&vm)[MB_COUNT], pc = vm.cpu.pc;
	run_vm(&vm, 3000000);
	capture(&vm, img, &b);
	check(mbox(&vm)[MB_COUNT] > count && memcmp(a.disk, b.disk, DISK_BYTES), "guest goes on: RAM and disk change", NULL);

	vm_virt_stop(&vm);
	vm.cpu.hpmcounter[3] = 1, vm.cpu.hpmevent[31] = 2;
	rv_trig_csr_write(&vm.cpu, 0x7a2, 3);
	rv_trig_csr_write(&vm.cpu, 0x7a0, 0);
	rc = vm_loadvm(&vm, "s1", err, sizeof(err));
	check(rc == 0, "loadvm s1", err);
	check(vm.cpu.hpmcounter[3] == 0x1234567890ULL && vm.cpu.hpmevent[31] == 0x77 && vm.cpu.trig.sel == 1 &&
		      vm.cpu.trig.tdata1[1] == (6ULL << 60 | 1) && vm.cpu.trig.tdata2[1] == 0x80001000,
	      "loadvm: mhpmcounter3, mhpmevent31, tselect and tdata1/2 as saved", NULL);
	capture(&vm, img, &b);
	check(same(&a, &b), "loadvm: RAM, registers, CSRs, devices, mtime and disk exactly as saved", NULL);
	check(mbox(&vm)[MB_COUNT] == count && vm.cpu.pc == pc, "loadvm: counter and pc back", NULL);
	check(vm.state == VM_RUN_PAUSED, "loadvm on a paused VM leaves it paused", NULL);
	vm_virt_cont(&vm);
	check(timers_fire(&vm, 3), "after loadvm the M timer (mtimecmp) and S timer (stimecmp) keep firing", NULL);
	check(mbox(&vm)[MB_COUNT] > count, "after loadvm the guest counts on", NULL);

	rc = vm_savevm(&vm, "s2", err, sizeof(err));
	check(rc == 0 && vm.state == VM_RUN_RUNNING, "savevm of a running VM resumes it", err);
	run_vm(&vm, 2000000);
	rc = vm_loadvm(&vm, "s2", err, sizeof(err));
	check(rc == 0 && vm.state == VM_RUN_RUNNING && timers_fire(&vm, 3),
	      "loadvm into a running guest with timers armed: it runs on, timers fire", err);
	rc = vm_savevm(&vm, "s2", err, sizeof(err)); /* replaces s2 */
	check(rc == 0, "savevm s2 again replaces s2", err);
	rc = vm_savevm(&vm, NULL, err, sizeof(err));
	check(rc == 0, "savevm without a name (vm-YYYYMMDDhhmmss)", err);

	error_cases(&vm, img, &a, elf);

	char *text = NULL;
	rc = vm_snapshots_info(&vm, &text, err, sizeof(err));
	check(rc == 0 && text, "info snapshots", err);
	FILE *f = fopen(info_out, "w");
	if (f && text)
		fputs(text, f);
	if (f)
		fclose(f);
	free(text);
	vm_virt_destroy(&vm);

	/* as -loadvm does: a fresh board loads s1 */
	if (make_board(&vm, img, 64, elf))
		return 1;
	vm_virt_stop(&vm);
	rc = vm_loadvm(&vm, "s1", err, sizeof(err));
	capture(&vm, img, &b);
	check(rc == 0 && same(&a, &b), "a fresh board loads s1 exactly (-loadvm)", err);
	vm_virt_cont(&vm);
	check(timers_fire(&vm, 3), "fresh board: timers fire after the load", NULL);
	vm_virt_destroy(&vm);
	free(a.stream);
	free(b.stream);
	return failures != 0;
}

static int run_crash(struct bc_image *img, const char *elf)
{
	static struct vm_virt vm;
	char err[512], name[32];
	if (make_board(&vm, img, 64, elf))
		return 1;
	for (int i = 1; i <= 1000; i++) {
		run_vm(&vm, 500000);
		snprintf(name, sizeof(name), "c%d", i);
		if (vm_savevm(&vm, name, err, sizeof(err))) {
			fprintf(stderr, "savevm %s: %s\n", name, err);
			return 1;
		}
		printf("saved %s\n", name);
		fflush(stdout);
	}
	return 0;
}

static int run_load(struct bc_image *img, const char *elf, const char *name)
{
	static struct vm_virt vm;
	char err[512];
	if (make_board(&vm, img, 64, elf))
		return 1;
	int rc = vm_loadvm(&vm, name, err, sizeof(err));
	if (rc) {
		printf("loadvm %s: %s\n", name, err);
		return 1;
	}
	uint64_t count = mbox(&vm)[MB_COUNT];
	check(count > 0 && timers_fire(&vm, 2) && mbox(&vm)[MB_COUNT] > count, "the loaded guest runs on", NULL);
	vm_virt_destroy(&vm);
	return failures != 0;
}

static char events[256];
static void on_event(void *opaque, const char *name, const char *data)
{
	struct vm_virt *vm = opaque;
	(void)data;
	size_t n = strlen(events);
	snprintf(events + n, sizeof(events) - n, "%s%s(%s)", n ? " " : "", name, vm_runstate_name(vm->state));
}

static bool has_snapshot(struct bc_image *img, const char *name, uint64_t *vm_size)
{
	struct bc_snapshot *list = NULL;
	int n = 0;
	bool found = false;
	bc_snapshot_list(img, &list, &n, NULL);
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].name, name)) {
			found = true;
			if (vm_size)
				*vm_size = list[i].vm_state_size;
		}
	free(list);
	return found;
}

/* QEMU's drive rules with three drives: d0 (the disk, qcow2), d1 (qcow2, not attached to any
 * device: still part of the VM, as QEMU's block backends), r0 (raw). */
static int run_drives(struct bc_image *a, const char *elf, const char *bpath, const char *rpath, const char *info_out)
{
	static struct vm_virt vm;
	static struct vm_virt_drive list[3];
	struct bc_image *b, *r;
	struct bc_err e = { 0 };
	struct bc_open_opts ro = { .format = "raw", .flags = BC_OPEN_RDWR };
	char err[512] = "";
	if (open_image(bpath, &b) || bc_open(&r, rpath, &ro, &e) || make_board(&vm, a, 64, elf))
		return 1;
	list[0] = (struct vm_virt_drive){ "d0", a, false };
	list[1] = (struct vm_virt_drive){ "d1", b, false };
	list[2] = (struct vm_virt_drive){ "r0", r, false };
	vm.cfg.drives = list;
	vm.cfg.ndrives = 3;
	vm_virt_on_event(&vm, on_event, &vm);
	run_vm(&vm, 2000000);

	int rc = vm_savevm(&vm, "s1", err, sizeof(err));
	check(rc < 0 && !strcmp(err, "Device 'r0' is writable but does not support snapshots"),
	      "savevm with a writable raw drive: QEMU's message", err);
	rc = vm_loadvm(&vm, "s1", err, sizeof(err));
	check(rc < 0 && !strcmp(err, "Device 'r0' is writable but does not support snapshots"),
	      "loadvm with a writable raw drive: QEMU's message", err);
	check(!strcmp(events, ""), "refused before stopping the VM (no events)", events);

	list[2].readonly = true; /* a read-only drive is left out, as in QEMU */
	rc = vm_savevm(&vm, "s1", err, sizeof(err));
	uint64_t asize = 0, bsize = 1;
	check(rc == 0 && has_snapshot(a, "s1", &asize) && has_snapshot(b, "s1", &bsize) && asize > 0 && bsize == 0,
	      "savevm: VM state in d0 (the first drive), a disk snapshot on d1 too", err);
	check(!strcmp(events, "STOP(save-vm) RESUME(running)"), "savevm of a running VM: STOP in save-vm, RESUME",
	      events);
	rc = vm_savevm_opts(&vm, "s1", false, err, sizeof(err));
	check(rc < 0 && !strcmp(err, "Snapshot 's1' already exists in one or more devices"),
	      "savevm without overwrite (QMP) refuses an existing name", err);

	struct bc_snapshot only = { .name = "bonly", .icount = UINT64_MAX, .date_sec = (uint32_t)time(NULL) };
	bc_snapshot_create(b, &only, &e);
	rc = vm_loadvm(&vm, "bonly", err, sizeof(err));
	check(rc < 0 && !strcmp(err, "Snapshot 'bonly' does not exist in one or more devices"),
	      "loadvm of a snapshot on one drive only", err);
	events[0] = 0;
	run_vm(&vm, 1000000);
	rc = vm_loadvm(&vm, "s1", err, sizeof(err));
	check(rc == 0 && !strcmp(events, "STOP(restore-vm) RESUME(running)"), "loadvm: both drives, STOP in restore-vm, RESUME",
	      rc ? err : events);

	char *text = NULL;
	rc = vm_snapshots_info(&vm, &text, err, sizeof(err));
	FILE *f = fopen(info_out, "w");
	if (f && text)
		fputs(text, f);
	if (f)
		fclose(f);
	free(text);
	check(rc == 0, "info snapshots with a partial snapshot", err);
	vm_virt_destroy(&vm);
	bc_close(b);
	bc_close(r);
	return failures != 0;
}

/* ---- Linux ---- */

/* The guest's console is a file chardev (as -serial file:PATH); the shell loop is started from
 * the kernel command line (init arguments after "--"), so the guest needs no input. */
struct linux_run {
	const char *console;
	struct vm_loop *loop;
	struct vm_virt_config cfg;
};

static void lx_run(struct vm_virt *vm, uint64_t insns)
{
	run_vm(vm, insns);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	*len = 0;
	if (f) {
		buf = malloc(1 << 22);
		*len = buf ? fread(buf, 1, (1 << 22) - 1, f) : 0;
		if (buf)
			buf[*len] = 0;
		fclose(f);
	}
	return buf;
}

/* Occurrences of "tick " in the console output from byte `from`; *last_uptime gets the
 * uptime printed by the last one. */
static int ticks_since(const char *console, size_t from, double *last_uptime)
{
	size_t len;
	char *buf = slurp(console, &len);
	int n = 0;
	for (char *p = buf && from < len ? buf + from : NULL; p && (p = strstr(p, "tick ")); p += 5) {
		if (p[5] < '0' || p[5] > '9')
			continue;
		n++;
		if (last_uptime)
			*last_uptime = strtod(p + 5, NULL);
	}
	free(buf);
	return n;
}

static size_t console_len(const char *console)
{
	size_t len;
	free(slurp(console, &len));
	return len;
}

/* Runs the guest until `want` ticks appeared after `from` or `secs` of wall time passed. */
static bool run_ticks(struct vm_virt *vm, const char *console, size_t from, int want, double secs)
{
	double t0 = now_s();
	while (now_s() - t0 < secs) {
		lx_run(vm, 5000000);
		if (ticks_since(console, from, NULL) >= want)
			return true;
	}
	return false;
}

static int linux_board(struct vm_virt *vm, struct linux_run *L, struct bc_image *img)
{
	char err[512], spec[300];
	struct vm_chardev *chr = NULL;
	FILE *out = fopen(L->console, "w");
	if (out)
		fclose(out);
	snprintf(spec, sizeof(spec), "file:%s", L->console);
	L->loop = vm_loop_new();
	if (!out || !L->loop || vm_chr_new_legacy(L->loop, spec, "serial0", &chr, err, sizeof(err))) {
		fprintf(stderr, "console: %s\n", err);
		return -1;
	}
	L->cfg.serial = chr;
	L->cfg.disks[0] = (struct vm_virt_disk){ .img = img };
	drive = (struct vm_virt_drive){ "d0", img, false };
	if (vm_virt_create(vm, &L->cfg, L->loop, err, sizeof(err))) {
		fprintf(stderr, "board: %s\n", err);
		return -1;
	}
	rv_jit_init(&vm->cpu, 16);
	return 0;
}

static void linux_board_end(struct vm_virt *vm, struct linux_run *L)
{
	vm_virt_destroy(vm);
	vm_chr_free_all();
	vm_loop_free(L->loop);
}

static int run_linux(struct bc_image *img, const char *kernel, const char *initrd, const char *fw,
		     const char *console)
{
	static struct vm_virt vm;
	struct linux_run L = { .console = console };
	char err[512] = "";
	L.cfg = (struct vm_virt_config){
		.ram_size = 256ULL << 20, .bios = fw, .kernel = kernel, .initrd = initrd, .ndisks = 1,
		.drives = &drive, .ndrives = 1, .no_power_button = true,
		.append = "console=ttyS0 quiet rdinit=/bin/busybox -- sh -c \"/bin/busybox --install -s /bin; "
			  "mount -t proc proc /proc; while :; do echo tick $(cut -d' ' -f1 /proc/uptime); sleep 1; done\"" };
	if (linux_board(&vm, &L, img))
		return 1;
	check(run_ticks(&vm, console, 0, 2, 180), "Linux: a shell's `sleep 1` loop ticks", NULL);
	int rc = vm_savevm(&vm, "lx", err, sizeof(err));
	size_t at_save = console_len(console);
	double up_save = 0, up_before = 0, up_after = 0;
	ticks_since(console, 0, &up_save);
	check(rc == 0, "Linux: savevm of the running guest", err);
	run_ticks(&vm, console, at_save, 3, 30);
	ticks_since(console, 0, &up_before);
	rc = vm_loadvm(&vm, "lx", err, sizeof(err));
	size_t at_load = console_len(console);
	check(rc == 0, "Linux: loadvm into the running guest", err);
	check(run_ticks(&vm, console, at_load, 3, 30), "Linux: the timer keeps ticking after loadvm (3 more ticks)",
	      NULL);
	ticks_since(console, at_load, &up_after);
	char why[160];
	snprintf(why, sizeof(why), "uptime at save %.2f, before load %.2f, first ticks after %.2f", up_save, up_before,
		 up_after);
	check(up_after > up_save && up_after < up_before + 1, "Linux: guest time continues from the snapshot's", why);
	linux_board_end(&vm, &L);

	/* as -loadvm: a fresh board */
	if (linux_board(&vm, &L, img))
		return 1;
	rc = vm_loadvm(&vm, "lx", err, sizeof(err));
	check(rc == 0 && run_ticks(&vm, console, 0, 3, 30), "Linux: a fresh board loads lx and the timer ticks", err);
	linux_board_end(&vm, &L);
	return failures != 0;
}

/* For strata-vm -loadvm: the guest's own ending, printed after the load, is its output. */
static int run_short(struct bc_image *img, const char *elf, const char *name)
{
	static struct vm_virt vm;
	char err[512];
	if (make_board(&vm, img, 64, elf))
		return 1;
	mbox(&vm)[MB_ITERS] = 300000;
	run_vm(&vm, 1000000);
	int rc = vm_savevm(&vm, name, err, sizeof(err));
	if (rc)
		fprintf(stderr, "savevm %s: %s\n", name, err);
	else
		printf("saved %s at count %llu\n", name, (unsigned long long)mbox(&vm)[MB_COUNT]);
	vm_virt_destroy(&vm);
	return rc != 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The guest runs briefly (its own pages), then BLOB (the data bench/savevm.sh also hands to
 * QEMU through -device loader) is put in RAM at 0x81000000: the pages a booted system touched. */
static int run_bench(struct bc_image *img, const char *elf, uint64_t ram_mib, const char *blob)
{
	static struct vm_virt vm;
	char err[512];
	if (make_board(&vm, img, ram_mib, elf))
		return 1;
	run_vm(&vm, 1000000);
	FILE *f = fopen(blob, "rb");
	uint8_t *ram = vm_bus_ram(&vm.bus, 0x81000000ULL, 1);
	size_t room = ram ? (size_t)(VM_VIRT_RAM_BASE + vm.bus.ram_size - 0x81000000ULL) : 0;
	if (!f || !ram || fread(ram, 1, room, f) == 0) {
		fprintf(stderr, "bench: cannot load %s\n", blob);
		return 1;
	}
	fclose(f);
	rv_cpu_flush_code(&vm.cpu);
	double t0 = now_s();
	int rc = vm_savevm(&vm, "bench", err, sizeof(err));
	double t1 = now_s();
	if (!rc)
		rc = vm_loadvm(&vm, "bench", err, sizeof(err));
	double t2 = now_s();
	struct bc_snapshot *list = NULL;
	int n = 0;
	uint64_t size = 0;
	bc_snapshot_list(img, &list, &n, NULL);
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].name, "bench"))
			size = list[i].vm_state_size;
	free(list);
	if (rc) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	printf("savevm_s=%.3f loadvm_s=%.3f vmstate_bytes=%llu\n", t1 - t0, t2 - t1, (unsigned long long)size);
	vm_virt_destroy(&vm);
	return 0;
}

int main(int argc, char **argv)
{
	struct bc_image *img;
	if (argc < 4) {
		fprintf(stderr, "usage: test_savevm all|crash|load|bench IMAGE ELF [...]\n");
		return 2;
	}
	if (open_image(argv[2], &img))
		return 1;
	int rc = 2;
	if (!strcmp(argv[1], "all") && argc == 5)
		rc = run_all(img, argv[3], argv[4]);
	else if (!strcmp(argv[1], "crash"))
		rc = run_crash(img, argv[3]);
	else if (!strcmp(argv[1], "load") && argc == 5)
		rc = run_load(img, argv[3], argv[4]);
	else if (!strcmp(argv[1], "drives") && argc == 7)
		rc = run_drives(img, argv[3], argv[4], argv[5], argv[6]);
	else if (!strcmp(argv[1], "linux") && argc == 7)
		rc = run_linux(img, argv[3], argv[4], argv[5], argv[6]);
	else if (!strcmp(argv[1], "short") && argc == 5)
		rc = run_short(img, argv[3], argv[4]);
	else if (!strcmp(argv[1], "bench") && argc == 6)
		rc = run_bench(img, argv[3], strtoull(argv[4], NULL, 10), argv[5]);
	if (bc_close(img))
		rc = 1;
	return rc;
}
