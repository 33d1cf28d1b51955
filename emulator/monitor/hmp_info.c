/* hmp_info.c - HMP's `info` subcommands in QEMU 7.2's layout. */
#include "bc.h"
#include "emulator/chardev/chardev.h"
#include "emulator/machine/drive.h"
#include "emulator/machine/mttcg.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef void (*info_fn)(const char *arg, struct vm_mon_text *out);

static void info_status(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	const struct vm_virt *vm = vm_mon_ctx.vm;
	vm_mon_printf(out, "VM status: %s", vm->state == VM_RUN_RUNNING ? "running" : "paused");
	if (vm->state != VM_RUN_RUNNING && vm->state != VM_RUN_PAUSED)
		vm_mon_printf(out, " (%s)", vm_runstate_name(vm->state));
	vm_mon_printf(out, "\n");
}

/* QEMU's rom list layout, sorted by address: the mask ROM's reset vector and fw_dynamic_info
 * (mem=rom), then what was loaded into RAM. */
static void info_roms(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	const struct vm_virt *vm = vm_mon_ctx.vm;
	const struct vm_virt_rom *order[VM_VIRT_MAX_ROMS];
	int n = 0;
	for (int i = 0; i < vm->nroms; i++) {
		int j = n++;
		while (j > 0 && order[j - 1]->addr > vm->roms[i].addr) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &vm->roms[i];
	}
	for (int i = 0; i < n; i++)
		vm_mon_printf(out, "addr=%016llx size=0x%06llx mem=%s name=\"%s\"\n", (unsigned long long)order[i]->addr,
			      (unsigned long long)order[i]->size, order[i]->in_rom ? "rom" : "ram", order[i]->name);
}

static void info_version(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	vm_mon_printf(out, "%d.%d.%d%s\n", VM_MON_MAJOR, VM_MON_MINOR, VM_MON_MICRO, VM_MON_PACKAGE);
}

static void info_name(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	if (vm_mon_ctx.vm->cfg.name) /* without -name QEMU prints nothing */
		vm_mon_printf(out, "%s\n", vm_mon_ctx.vm->cfg.name);
}

static const char *cache_mode(const struct vm_drive *d)
{
	if (d->unsafe)
		return d->direct ? "writeback, direct, ignore flushes" : "writeback, ignore flushes";
	if (d->writethrough)
		return d->direct ? "writethrough, direct" : "writethrough";
	return d->direct ? "writeback, direct" : "writeback";
}

static void info_block(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	bool first = true;
	for (int i = 0; i < vm_mon_ctx.ndrives; i++) {
		struct vm_drive *d = &vm_mon_ctx.drives[i];
		char name[64];
		if (!d->img)
			continue;
		if (!first)
			vm_mon_printf(out, "\n");
		first = false;
		vm_mon_printf(out, "%s (#block%d): %s (%s%s)\n", vm_mon_drive_name(i, name, sizeof(name)), 100 + i,
			      bc_filename(d->img), bc_format_name(d->img), d->readonly ? ", read-only" : "");
		if (d->used)
			vm_mon_printf(out, "    Attached to:      /machine/peripheral-anon/device[%d]\n", i);
		vm_mon_printf(out, "    Cache mode:       %s\n", cache_mode(d));
		if (bc_backing(d->img) && !d->snapshot)
			vm_mon_printf(out, "    Backing file:     %s (chain depth: 1)\n", bc_filename(bc_backing(d->img)));
	}
}

static const struct vm_virtio_blk *drive_blk(const struct vm_drive *d)
{
	struct vm_virt *vm = vm_mon_ctx.vm;
	for (int s = 0; s < VM_VIRT_VIRTIO_SLOTS; s++)
		if (d->img && vm->blk[s].img == d->img)
			return &vm->blk[s];
	return NULL;
}

static void info_blockstats(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	for (int i = 0; i < vm_mon_ctx.ndrives; i++) {
		const struct vm_drive *d = &vm_mon_ctx.drives[i];
		const struct vm_virtio_blk *b = drive_blk(d);
		char name[64];
		if (!d->img)
			continue;
		vm_mon_printf(out,
			      "%s: rd_bytes=%llu wr_bytes=%llu rd_operations=%llu wr_operations=%llu flush_operations=%llu "
			      "wr_total_time_ns=0 rd_total_time_ns=0 flush_total_time_ns=0 rd_merged=0 wr_merged=0 "
			      "idle_time_ns=0\n",
			      vm_mon_drive_name(i, name, sizeof(name)), b ? (unsigned long long)b->rd_bytes : 0ULL,
			      b ? (unsigned long long)b->wr_bytes : 0ULL, b ? (unsigned long long)b->rd_ops : 0ULL,
			      b ? (unsigned long long)b->wr_ops : 0ULL, b ? (unsigned long long)b->flush_ops : 0ULL);
	}
}

static void hart_registers(const struct rv_cpu *c, unsigned hart, struct vm_mon_text *out)
{
	static const char *const xn[32] = { "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
					    "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5",
					    "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6" };
	static const char *const fn[32] = { "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0",
					    "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5",
					    "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11" };
	/* QEMU 7.2 enables the H extension and lists its CSRs; strata-vm has none: they read 0 */
	struct { const char *n; uint64_t v; } csr[] = {
		{ "mhartid", c->mhartid }, { "mstatus", c->mstatus }, { "hstatus", 0 },	   { "vsstatus", 0 },
		{ "mip", rv_mip(c) },	   { "mie", c->mie },	      { "mideleg", c->mideleg }, { "hideleg", 0 },
		{ "medeleg", c->medeleg }, { "hedeleg", 0 },	      { "mtvec", c->mtvec },	 { "stvec", c->stvec },
		{ "vstvec", 0 },	   { "mepc", c->mepc },	      { "sepc", c->sepc },	 { "vsepc", 0 },
		{ "mcause", c->mcause },   { "scause", c->scause },   { "vscause", 0 },		 { "mtval", c->mtval },
		{ "stval", c->stval },	   { "htval", 0 },	      { "mtval2", 0 },		 { "mscratch", c->mscratch },
		{ "sscratch", c->sscratch }, { "satp", c->satp },
	};
	vm_mon_printf(out, "\nCPU#%u\n V      =   0\n pc       %016llx\n", hart, (unsigned long long)c->pc);
	for (size_t i = 0; i < sizeof(csr) / sizeof(csr[0]); i++)
		vm_mon_printf(out, " %-8s %016llx\n", csr[i].n, (unsigned long long)csr[i].v);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 32; i++) {
			char name[16];
			snprintf(name, sizeof(name), "%s%d/%s", pass ? "f" : "x", i, pass ? fn[i] : xn[i]);
			vm_mon_printf(out, " %-8s %016llx", name, (unsigned long long)(pass ? c->f[i] : c->x[i]));
			if ((i & 3) == 3)
				vm_mon_printf(out, "\n");
		}
	}
}

/* No argument: hart 0 (the monitor's CPU); -a: every hart; N: hart N (checked by vm_hmp_info). */
static void info_registers(const char *arg, struct vm_mon_text *out)
{
	const struct vm_virt *vm = vm_mon_ctx.vm;
	bool all = !strcmp(arg, "-a");
	unsigned one = all || !*arg ? 0 : (unsigned)strtoul(arg, NULL, 10);
	for (unsigned h = 0; h < vm->nharts; h++)
		if (all || h == one)
			hart_registers(vm->harts[h], h, out);
}

static void info_cpus(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	/* as QEMU 7.2: each hart's host thread (this one for all under thread=single); hart 0 is
	 * the monitor's current CPU */
	for (unsigned h = 0; h < vm_mon_ctx.vm->nharts; h++) {
		long tid = vm_mt_hart_tid(vm_mon_ctx.vm, h);
		vm_mon_printf(out, "%c CPU #%u: thread_id=%ld\n", h ? ' ' : '*', h,
			      tid ? tid : (long)syscall(SYS_gettid));
	}
}

static void info_snapshots(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	char *text = NULL, err[512];
	if (vm_mon_snapshots_info(&text, err, sizeof(err))) {
		vm_mon_printf(out, "%s\n", err);
		return;
	}
	vm_mon_printf(out, "%s", text);
	free(text);
}

/* QEMU 7.2's place of each of our device types in its list (newest first), its type name
 * there, and its properties as `info qtree` prints them for the virt board's defaults. */
static int qtree_rank(const struct vm_device *d)
{
	static const char *const order[] = { "serial", "virtio-mmio", "riscv.sifive.test", "riscv.sifive.plic",
					     "riscv.aclint.swi" };
	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		if (!strcmp(d->type, order[i]))
			return i;
	return -1;
}

static void qtree_dev(const struct vm_device *d, struct vm_mon_text *out)
{
	unsigned long long base = d->base;
	switch (qtree_rank(d)) {
	case 0: /* QEMU maps its serial-mm's region itself: sysbus shows it unmapped */
		vm_mon_printf(out, "  dev: serial-mm, id \"\"\n    gpio-out \"sysbus-irq\" 1\n    regshift = 0 (0x0)\n"
			      "    endianness = 2 (0x2)\n    mmio ffffffffffffffff/0000000000000008\n");
		return;
	case 1: { /* force-legacy: the board's choice (a modern-only device ignores it) */
		const struct vm_virtio_mmio *t = d->opaque;
		vm_mon_printf(out, "  dev: virtio-mmio, id \"\"\n    gpio-out \"sysbus-irq\" 1\n"
			      "    format_transport_address = true\n    force-legacy = %s\n    ioeventfd = false\n"
			      "    mmio %016llx/0000000000000200\n    bus: virtio-mmio-bus.%llu\n      type virtio-mmio-bus\n",
			      t->legacy || (t->dev && t->dev->modern_only) ? "true" : "false", base, (base - VM_VIRT_VIRTIO_BASE) / 0x1000);
		return;
	}
	case 2:
		vm_mon_printf(out, "  dev: riscv.sifive.test, id \"\"\n    mmio %016llx/0000000000001000\n", base);
		return;
	case 3:
		vm_mon_printf(out, "  dev: riscv.sifive.plic, id \"\"\n    gpio-in \"\" 96\n    gpio-out \"\" 2\n"
			      "    hart-config = \"MS\"\n    hartid-base = 0 (0x0)\n    num-sources = 96 (0x60)\n"
			      "    num-priorities = 7 (0x7)\n    priority-base = 4 (0x4)\n"
			      "    pending-base = 4096 (0x1000)\n    enable-base = 8192 (0x2000)\n"
			      "    enable-stride = 128 (0x80)\n    context-base = 2097152 (0x200000)\n"
			      "    context-stride = 4096 (0x1000)\n    aperture-size = 6291456 (0x600000)\n"
			      "    mmio %016llx/0000000000600000\n", base);
		return;
	case 4: /* our CLINT is QEMU's two ACLINT devices: the timer listed first */
		vm_mon_printf(out, "  dev: riscv.aclint.mtimer, id \"\"\n    gpio-out \"\" 1\n    hartid-base = 0 (0x0)\n"
			      "    num-harts = 1 (0x1)\n    timecmp-base = 0 (0x0)\n    time-base = 32760 (0x7ff8)\n"
			      "    aperture-size = 32768 (0x8000)\n    timebase-freq = 10000000 (0x989680)\n"
			      "    mmio %016llx/0000000000008000\n", base + 0x4000);
		vm_mon_printf(out, "  dev: riscv.aclint.swi, id \"\"\n    gpio-out \"\" 1\n    hartid-base = 0 (0x0)\n"
			      "    num-harts = 1 (0x1)\n    sswi = 0 (0x0)\n    mmio %016llx/0000000000004000\n", base);
		return;
	default:
		vm_mon_printf(out, "  dev: %s, id \"\"\n", d->type);
		if (d->irq)
			vm_mon_printf(out, "    gpio-out \"sysbus-irq\" 1\n");
		if (d->size)
			vm_mon_printf(out, "    mmio %016llx/%016llx\n", base, (unsigned long long)d->size);
	}
}

/* QEMU's order: serial, the virtio-mmio slots from the highest, test, PLIC, ACLINT, then the
 * hart array; devices QEMU's virt lacks come first. See docs/emulator.md for what differs. */
static void info_qtree(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	const struct vm_virt *vm = vm_mon_ctx.vm;
	vm_mon_printf(out, "bus: main-system-bus\n  type System\n");
	for (int rank = -1; rank <= 4; rank++) {
		for (int i = 0; i < vm->ndevs; i++) { /* virtio slots: added from the highest */
			if (qtree_rank(&vm->devs[i]) == rank)
				qtree_dev(&vm->devs[i], out);
		}
	}
	vm_mon_printf(out, "  dev: riscv.hart_array, id \"\"\n    num-harts = 1 (0x1)\n    hartid-base = 0 (0x0)\n"
		      "    cpu-type = \"rv64-riscv-cpu\"\n    resetvec = 4096 (0x1000)\n");
}

static int cmp_dev(const void *a, const void *b)
{
	const struct vm_device *x = *(const struct vm_device *const *)a, *y = *(const struct vm_device *const *)b;
	return x->base < y->base ? -1 : x->base > y->base;
}

static void info_mtree(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	const struct vm_virt *vm = vm_mon_ctx.vm;
	const struct vm_device *sorted[VM_VIRT_MAX_DEVICES];
	int n = 0;
	for (int i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].size)
			sorted[n++] = &vm->devs[i];
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_dev);
	vm_mon_printf(out, "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n");
	for (int i = 0; i < vm->bus.nroms; i++) /* below every device on this board */
		vm_mon_printf(out, "    %016llx-%016llx (prio 0, rom): %s\n", (unsigned long long)vm->bus.roms[i].base,
			      (unsigned long long)(vm->bus.roms[i].base + vm->bus.roms[i].size - 1), vm->bus.roms[i].name);
	bool ram_done = false;
	for (int i = 0; i <= n; i++) {
		if (!ram_done && (i == n || sorted[i]->base > VM_VIRT_RAM_BASE)) {
			vm_mon_printf(out, "    %016llx-%016llx (prio 0, ram): riscv_virt_board.ram\n",
				      (unsigned long long)VM_VIRT_RAM_BASE,
				      (unsigned long long)(VM_VIRT_RAM_BASE + vm->cfg.ram_size - 1));
			ram_done = true;
		}
		if (i < n)
			vm_mon_printf(out, "    %016llx-%016llx (prio 0, i/o): %s\n", (unsigned long long)sorted[i]->base,
				      (unsigned long long)(sorted[i]->base + sorted[i]->size - 1), sorted[i]->type);
	}
	vm_mon_printf(out, "\n");
}

static void chardev_line(void *opaque, const char *label, const char *filename)
{
	vm_mon_printf(opaque, "%s: filename=%s\n", label, filename);
}

static void info_chardev(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	vm_chr_foreach(chardev_line, out);
}

static const struct {
	const char *name, *params, *help;
	info_fn fn;
} infos[] = {
	{ "block", "[-n] [-v] [device]",
	  "show info of one block device or all block devices (-n: show named nodes; -v: show details)", info_block },
	{ "blockstats", "", "show block device statistics", info_blockstats },
	{ "chardev", "", "show the character devices", info_chardev },
	{ "cpus", "", "show infos for each CPU", info_cpus },
	{ "mtree", "[-f][-d][-o][-D]",
	  "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, valid with -f only);-o: "
	  "dump region owners/parents;-D: dump disabled regions",
	  info_mtree },
	{ "name", "", "show the current VM name", info_name },
	{ "network", "", "show the network state", vm_hmp_info_network },
	{ "qtree", "", "show device tree", info_qtree },
	{ "registers", "[-a|vcpu]",
	  "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to query; show the "
	  "current CPU's registers if no argument is specified)",
	  info_registers },
	{ "roms", "", "show roms", info_roms },
	{ "snapshots", "", "show the currently saved VM snapshots", info_snapshots },
	{ "status", "", "show the current VM status (running|paused)", info_status },
	{ "usernet", "", "show user network stack connection states", vm_hmp_info_usernet },
	{ "version", "", "show the version of QEMU", info_version },
};

void vm_hmp_info_help(struct vm_mon_text *out)
{
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		vm_mon_printf(out, "info %s %s -- %s\n", infos[i].name, infos[i].params, infos[i].help);
}

/* `info registers N`: QEMU's messages for a hart that is not there and for what is no number */
static bool registers_arg_ok(const char *arg, struct vm_mon_text *out)
{
	if (!isdigit((unsigned char)*arg)) {
		vm_mon_printf(out, "invalid char '%c' in expression\nTry \"help info registers\" for more information\n", *arg);
		return false;
	}
	unsigned long n = strtoul(arg, NULL, 10);
	if (n >= vm_mon_ctx.vm->nharts) {
		vm_mon_printf(out, "CPU#%lu not available\n", n);
		return false;
	}
	return true;
}

void vm_hmp_info(const char *args, struct vm_mon_text *out, const char *typed)
{
	char word[64] = "";
	(void)typed;
	sscanf(args, "%63s", word);
	if (!word[0]) {
		vm_hmp_info_help(out);
		return;
	}
	const char *rest = args + strspn(args, " \t");
	rest += strlen(word);
	rest += strspn(rest, " \t");
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
		if (strcmp(word, infos[i].name))
			continue;
		/* the subcommands without parameters take none (registers takes -a or a cpu index) */
		bool takes = infos[i].params[0] != 0;
		if (*rest && !takes) {
			vm_mon_printf(out, "%s: extraneous characters at the end of line\n"
					   "Try \"help info %s\" for more information\n", word, word);
			return;
		}
		if (*rest && infos[i].fn == info_registers && strcmp(rest, "-a") && !registers_arg_ok(rest, out))
			return;
		infos[i].fn(rest, out);
		return;
	}
	vm_mon_printf(out, "unknown command: 'info %s'\n", word);
}
