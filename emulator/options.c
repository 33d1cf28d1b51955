/* options.c - the option table of strata-vm. Spellings, argument rules and messages are
 * qemu-system's ("-foo: invalid option", "-m: requires an argument"); an option QEMU has but
 * strata-vm does not support is an error, never silently ignored. */
#include "emulator/options.h"
#include "emulator/cpu/isa.h"
#include "emulator/host/parse.h"
#include "emulator/machine/smp.h"
#include "bc.h"
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*opt_fn)(struct vm_options *o, const char *opt, const char *arg);

struct opt {
	const char *name;
	bool has_arg;
	opt_fn fn;
};

static int fail(const struct vm_options *o, const char *opt, const char *arg, const char *msg)
{
	if (!opt)
		fprintf(stderr, "%s: %s\n", o->prog, msg);
	else if (arg)
		fprintf(stderr, "%s: %s %s: %s\n", o->prog, opt, arg, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", o->prog, opt, msg);
	return -1;
}

const char *vm_default_bios(void)
{
	/* Debian's opensbi package, and qemu-system-data's link to it */
	static const char *const paths[] = {
		"/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin",
		"/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

static int opt_help(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt, (void)arg;
	printf("usage: %s [options]\n\n"
	       "Standard options:\n"
	       "-h or -help        display this help and exit\n"
	       "-version           display version information and exit\n"
	       "-machine virt[,dumpdtb=FILE][,accel=tcg][,powerbutton=on|off]  (-M) the QEMU-compatible virt board\n"
	       "-accel tcg[,thread=single|multi]  software emulation (the only accelerator); several harts\n"
	       "                   run on a host thread each (multi, the default) or take turns on one\n"
	       "                   host thread, deterministically (single)\n"
	       "-cpu rv64|max[,EXT=on|off...]  the hart: RV64GC, QEMU 7.2's rv64 (zba, zbb, zbc, zbs on;\n"
	       "                   Zfh, Zfhmin, zbkb, zbkc, zbkx, svinval, zicond, zicbom, zicboz off) or max\n"
	       "-smp [cpus=]N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]  N harts (1..8)\n"
	       "-m [size=]MEGS[M|G]  guest RAM (default 128 MiB)\n"
	       "-name NAME         the guest's name (info name, query-name)\n"
	       "-bios default|none|FILE  firmware (default: OpenSBI fw_dynamic from Debian's opensbi package)\n"
	       "-kernel FILE       kernel: ELF, RISC-V Image or gzip-compressed Image\n"
	       "-initrd FILE       initial ram disk (placed as QEMU does, /chosen/linux,initrd-*)\n"
	       "-append CMDLINE    kernel command line\n"
	       "-drive file=F[,format=..][,if=virtio|none][,id=..][,readonly=on][,cache=..][,snapshot=on][,discard=unmap]\n"
	       "-device virtio-blk-device,drive=ID\n"
	       "-object secret,id=ID,data=D|file=F[,format=raw|base64][,keyid=ID2,iv=IV]  a secret (encryption passphrase)\n"
	       "-netdev user,id=ID[,net=ADDR[/MASK]][,host=][,dhcpstart=][,dns=][,hostname=][,domainname=]\n"
	       "        [,restrict=on|off][,ipv4=on|off][,ipv6=on|off][,hostfwd=[tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT]\n"
	       "-device virtio-net-device,netdev=ID[,mac=MAC][,mrg_rxbuf=on|off][,csum=on|off]\n"
	       "-nic user[,model=virtio-net-device][,mac=MAC][,user options], -net nic[,macaddr=MAC] -net user[,...]\n"
	       "-object filter-dump,id=ID,netdev=ID,file=FILE[,maxlen=N]   a pcap file of a netdev's frames\n"
	       "-global virtio-mmio.force-legacy=on|off\n"
	       "-snapshot          write to temporary files instead of disk image files\n"
	       "-loadvm NAME       start from the snapshot NAME (savevm)\n"
	       "-nographic         no display: serial and monitor on stdio (Ctrl-A h for help)\n"
	       "-display none      no display\n"
	       "-serial DEV, -monitor DEV, -qmp DEV, -chardev BACKEND,id=ID,..., -mon chardev=ID[,mode=control]\n"
	       "-S                 freeze the CPU at startup (cont from the monitor)\n"
	       "-s, -gdb DEV      GDB stub (tcp::PORT, unix:PATH,server,nowait, ...)\n"
	       "-d in_asm,int,exec, -D FILE  trace log\n"
	       "-no-reboot         exit instead of rebooting\n"
	       "-no-shutdown       stop before shutdown\n"
	       "-pidfile FILE      write the process id to FILE\n"
	       "-daemonize         daemonize after initializing\n"
	       "--jit=on|off|eager, --stats  strata-vm only: translation mode, run statistics at exit\n",
	       o->prog);
	return 1;
}

static int opt_version(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt, (void)arg;
	printf("%s emulator version " STRATA_VERSION " (Strata, qemu-system-riscv64 7.2 compatible)\n"
	       "Copyright (c) 2026 the Strata developers\n",
	       o->prog);
	return 1;
}

/* -M virt[,dumpdtb=FILE][,accel=tcg][,powerbutton=on|off] */
static int opt_machine(struct vm_options *o, const char *opt, const char *arg)
{
	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		printf("Supported machines are:\nvirt                 RISC-V VirtIO board (default)\n");
		return 1;
	}
	char *copy = strdup(arg), *save = NULL;
	int rc = 0;
	for (char *p = strtok_r(copy, ",", &save); p && !rc; p = strtok_r(NULL, ",", &save)) {
		if (p == copy && !strchr(p, '=')) {
			if (strcmp(p, "virt"))
				rc = fail(o, NULL, NULL, "unsupported machine type\nUse -machine help to list supported machines");
		} else if (!strncmp(p, "type=", 5) && !strcmp(p + 5, "virt")) {
		} else if (!strncmp(p, "dumpdtb=", 8)) {
			o->cfg.dumpdtb = strdup(p + 8); /* as QEMU: write the device tree and exit (kept for the process's life) */
		} else if (!strncmp(p, "powerbutton=", 12)) {
			/* strata-vm's own: the virtio-input power button system_powerdown presses */
			int on = vm_parse_bool(p + 12);
			if (on < 0)
				rc = fail(o, NULL, NULL, "Parameter 'powerbutton' expects 'on' or 'off'");
			o->cfg.no_power_button = on == 0;
		} else if (!strcmp(p, "accel=tcg")) {
		} else if (!strncmp(p, "accel=", 6)) {
			rc = fail(o, opt, arg, "invalid accelerator (strata-vm emulates in software: accel=tcg)");
		} else {
			char msg[96];
			snprintf(msg, sizeof(msg), "Property 'virt-machine.%.*s' not found", (int)strcspn(p, "="), p);
			rc = fail(o, NULL, NULL, msg);
		}
	}
	free(copy);
	return rc;
}

static int opt_accel(struct vm_options *o, const char *opt, const char *arg)
{
	if (strcmp(arg, "tcg") && strncmp(arg, "tcg,", 4)) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "invalid accelerator %.*s (not supported: strata-vm emulates in software, use -accel tcg)",
			 (int)strcspn(arg, ","), arg);
		return fail(o, opt, arg, msg);
	}
	/* thread=single: several harts take turns on one thread, deterministically; thread=multi
	 * (the default with several harts, as QEMU's): a host thread per hart (machine/mttcg.c) */
	for (const char *p = strchr(arg, ','); p; p = strchr(p + 1, ',')) {
		if (strncmp(p + 1, "thread=", 7))
			continue;
		const char *v = p + 8;
		size_t n = strcspn(v, ",");
		if (n == 5 && !strncmp(v, "multi", 5)) {
			o->cfg.accel_thread = VM_THREAD_MULTI;
		} else if (n == 6 && !strncmp(v, "single", 6)) {
			o->cfg.accel_thread = VM_THREAD_SINGLE;
		} else {
			char msg[96];
			snprintf(msg, sizeof(msg), "Invalid 'thread' setting %.*s", (int)n, v);
			return fail(o, opt, arg, msg);
		}
	}
	return 0;
}

static int opt_enable_kvm(struct vm_options *o, const char *opt, const char *arg)
{
	(void)arg;
	return fail(o, opt, NULL, "KVM is not supported: strata-vm emulates in software (-accel tcg)");
}

/* -cpu rv64|max[,<ext>=on|off...] with QEMU 7.2's property names (emulator/cpu/isa.c) */
static int opt_cpu(struct vm_options *o, const char *opt, const char *arg)
{
	char msg[256];
	(void)opt;
	if (rv_cpu_model_parse(arg, &o->cfg.cpu_ext_on, &o->cfg.cpu_ext_off, msg, sizeof(msg)))
		return fail(o, NULL, NULL, msg);
	return 0;
}

/* -smp N | cpus=N[,sockets=,cores=,threads=,maxcpus=] (emulator/machine/smp.c) */
static int opt_smp(struct vm_options *o, const char *opt, const char *arg)
{
	char msg[256], warn[160];
	(void)opt;
	if (vm_smp_parse(arg, VM_MAX_HARTS, &o->cfg.harts, msg, sizeof(msg), warn, sizeof(warn)))
		return fail(o, NULL, NULL, msg);
	if (warn[0])
		fprintf(stderr, "%s: warning: %s\n", o->prog, warn);
	return 0;
}

/* -m [size=]N[suffix]: MiB without a suffix, as QEMU */
static int opt_mem(struct vm_options *o, const char *opt, const char *arg)
{
	const char *s = !strncmp(arg, "size=", 5) ? arg + 5 : arg;
	char buf[64];
	uint64_t v;
	size_t n = strlen(s);
	bool bare = n && n < sizeof(buf) - 1 && strspn(s, "0123456789") == n;
	snprintf(buf, sizeof(buf), bare ? "%sM" : "%s", s);
	if (bc_parse_size(buf, &v))
		return fail(o, opt, arg, "Parameter 'size' expects a non-negative number below 2^64\n"
					 "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
					 "and exabytes, respectively.");
	if (v == 0)
		v = 128ULL << 20; /* QEMU: 0 means the machine's default */
	if (v < (16ULL << 20) || v > (64ULL << 30) || (v & 0xfff))
		return fail(o, opt, arg, "RAM size must be a multiple of 4 KiB between 16 MiB and 64 GiB");
	o->cfg.ram_size = v;
	return 0;
}

static int opt_bios(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	o->bios_default = !strcmp(arg, "default");
	o->cfg.bios = strcmp(arg, "none") && !o->bios_default ? arg : NULL;
	return 0;
}

static int opt_kernel(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	o->cfg.kernel = arg;
	return 0;
}

static int opt_initrd(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	o->cfg.initrd = arg;
	return 0;
}

static int opt_append(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	o->cfg.append = arg;
	return 0;
}

static int opt_name(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	/* -name NAME or -name guest=NAME[,process=..][,debug-threads=..] */
	if (!strncmp(arg, "guest=", 6)) {
		static char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg + 6, ","), arg + 6);
		o->cfg.name = name;
	} else {
		o->cfg.name = arg;
	}
	return 0;
}

static int opt_drive(struct vm_options *o, const char *opt, const char *arg)
{
	char err[512];
	if (o->ndrives == VM_MAX_DRIVES)
		return fail(o, opt, arg, "too many -drive options");
	struct vm_drive *d = &o->drives[o->ndrives];
	if (vm_drive_parse(d, arg, err, sizeof(err)))
		return fail(o, opt, arg, err);
	if (!d->if_none)
		o->order[o->norder++] = o->ndrives;
	o->ndrives++;
	return 0;
}

static int opt_nic(struct vm_options *o, const char *opt, const char *arg);

/* -object secret,id=ID,data=...|file=...: secrets for encrypted drives (encrypt.key-secret);
 * -object filter-dump,...: a netdev's pcap, handled with the network options (emulator/nics.c).
 * Other types get the secret parser's "invalid object type" error. */
static int opt_object(struct vm_options *o, const char *opt, const char *arg)
{
	struct bc_err e = { 0 };

	if (!strncmp(arg, "filter-dump", 11) && (arg[11] == ',' || !arg[11]))
		return opt_nic(o, opt, arg);

	if (bc_secret_object_add(arg, &e) < 0)
		return fail(o, opt, arg, e.msg);
	return 0;
}

/* -device virtio-blk-device,drive=ID (the only -device for now) */
/* ---- networking: -netdev, -nic, -net and -device virtio-net-device (emulator/nics.c) ---- */
static int opt_netdev(struct vm_options *o, const char *opt, const char *arg)
{
	if (o->nnetdevs == VM_MAX_NETDEVS)
		return fail(o, opt, arg, "too many -netdev options");
	o->netdevs[o->nnetdevs++] = arg;
	return 0;
}

static int opt_nic(struct vm_options *o, const char *opt, const char *arg)
{
	if (o->nnic_specs == (int)(sizeof(o->nic_specs) / sizeof(o->nic_specs[0])))
		return fail(o, opt, arg, "too many network options");
	o->nic_specs[o->nnic_specs++] = (struct vm_nic_spec){ opt, arg, o->norder };
	return 0;
}

static int opt_device(struct vm_options *o, const char *opt, const char *arg)
{
	static const char prefix[] = "virtio-blk-device,";
	if (!strncmp(arg, "virtio-net-device", 17) && (arg[17] == ',' || !arg[17]))
		return opt_nic(o, opt, arg);
	size_t model = strcspn(arg, ",");
	if (model != sizeof(prefix) - 2 || strncmp(arg, prefix, model)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "'%.*s' is not a valid device model name", (int)model, arg);
		return fail(o, opt, arg, msg); /* QEMU's words; virtio-blk and virtio-net are ours */
	}
	const char *d = strstr(arg, ",drive=");
	if (!d)
		return fail(o, opt, arg, "drive property not set");
	if (o->ndevs == VM_MAX_DRIVES)
		return fail(o, opt, arg, "too many virtio-blk-device options");
	d++;
	o->blk_devs[o->ndevs++] = d + 6;
	o->order[o->norder++] = -o->ndevs;
	return 0;
}

static int opt_global(struct vm_options *o, const char *opt, const char *arg)
{
	if (!strcmp(arg, "virtio-mmio.force-legacy=false") || !strcmp(arg, "virtio-mmio.force-legacy=off"))
		o->cfg.virtio_modern = true;
	else if (!strcmp(arg, "virtio-mmio.force-legacy=true") || !strcmp(arg, "virtio-mmio.force-legacy=on"))
		o->cfg.virtio_modern = false;
	else
		return fail(o, opt, arg, "only virtio-mmio.force-legacy is supported");
	return 0;
}

/* console options keep their command-line order; emulator/console.c reads them */
static int opt_console(struct vm_options *o, const char *opt, const char *arg)
{
	return vm_console_option(&o->con, opt, arg) < 0 ? -1 : 0;
}

static int opt_flag(struct vm_options *o, const char *opt, const char *arg)
{
	(void)arg;
	if (!strcmp(opt, "-no-reboot"))
		o->cfg.no_reboot = true;
	else if (!strcmp(opt, "-no-shutdown"))
		o->cfg.no_shutdown = true;
	else if (!strcmp(opt, "-snapshot"))
		o->snapshot_all = true; /* every disk gets a throw-away overlay */
	else if (!strcmp(opt, "-S"))
		o->start_paused = true;
	else if (!strcmp(opt, "-s"))
		o->gdb_spec = "tcp::1234";
	else if (!strcmp(opt, "-daemonize"))
		o->daemonize = o->con.display_none = true; /* no terminal: default consoles on "vc" (none) */
	else if (!strcmp(opt, "--stats"))
		o->stats = true; /* strata-vm only: instructions and guest MIPS on stderr at exit */
	/* -nodefaults, -no-user-config: strata-vm has no default devices or config files */
	return 0;
}

static int opt_string(struct vm_options *o, const char *opt, const char *arg)
{
	if (!strcmp(opt, "-pidfile"))
		o->pidfile = arg;
	else if (!strcmp(opt, "-loadvm"))
		o->loadvm = arg;
	else if (!strcmp(opt, "-d"))
		o->trace_flags = arg;
	else if (!strcmp(opt, "-D"))
		o->trace_file = arg;
	else if (!strcmp(opt, "-gdb"))
		o->gdb_spec = arg;
	return 0;
}

/* --jit=on|off|eager (strata-vm only): eager compiles every jump target at its first arrival */
static int opt_jit(struct vm_options *o, const char *opt, const char *arg)
{
	(void)opt;
	if (!strcmp(arg, "on"))
		o->jit_threshold = 16;
	else if (!strcmp(arg, "off"))
		o->jit_threshold = 0;
	else if (!strcmp(arg, "eager"))
		o->jit_threshold = 1;
	else {
		fprintf(stderr, "%s: bad --jit mode '%s' (on, off or eager)\n", o->prog, arg);
		return -1;
	}
	return 0;
}

static const struct opt options[] = {
	{ "-h", false, opt_help },	       { "-help", false, opt_help },
	{ "-version", false, opt_version },    { "-M", true, opt_machine },
	{ "-machine", true, opt_machine },     { "-accel", true, opt_accel },
	{ "-enable-kvm", false, opt_enable_kvm }, { "-cpu", true, opt_cpu },
	{ "-smp", true, opt_smp },	       { "-m", true, opt_mem },
	{ "-name", true, opt_name },	       { "-bios", true, opt_bios },
	{ "-kernel", true, opt_kernel },       { "-append", true, opt_append },
	{ "-initrd", true, opt_initrd },
	{ "-drive", true, opt_drive },	       { "-device", true, opt_device },
	{ "-object", true, opt_object },
	{ "-global", true, opt_global },       { "-snapshot", false, opt_flag },
	{ "-loadvm", true, opt_string },       { "-nographic", false, opt_console },
	{ "-display", true, opt_console },     { "-serial", true, opt_console },
	{ "-monitor", true, opt_console },     { "-chardev", true, opt_console },
	{ "-mon", true, opt_console },	       { "-qmp", true, opt_console },
	{ "-qmp-pretty", true, opt_console },
	{ "-S", false, opt_flag },	       { "-s", false, opt_flag },
	{ "-gdb", true, opt_string },	       { "-d", true, opt_string },
	{ "-D", true, opt_string },	       { "-no-reboot", false, opt_flag },
	{ "-no-shutdown", false, opt_flag },   { "-pidfile", true, opt_string },
	{ "-daemonize", false, opt_flag },     { "-nodefaults", false, opt_flag },
	{ "-no-user-config", false, opt_flag }, { "--stats", false, opt_flag },
	{ "-netdev", true, opt_netdev },       { "-nic", true, opt_nic },
	{ "-net", true, opt_nic },
};

int vm_options_parse(struct vm_options *o, int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	memset(o, 0, sizeof(*o));
	o->prog = slash ? slash + 1 : argv[0];
	o->con.prog = o->prog;
	o->cfg.ram_size = 128ULL << 20;
	o->bios_default = true;
	o->jit_threshold = 16;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "--jit=", 6)) {
			if (opt_jit(o, a, a + 6))
				return -1;
			continue;
		}
		/* QEMU takes every option with one dash or two */
		const char *name = a[0] == '-' && a[1] == '-' && strcmp(a, "--stats") ? a + 1 : a;
		if (!strcmp(name, "-help") || !strcmp(name, "-h"))
			name = "-h";
		if (!strcmp(name, "-version"))
			name = "-version";
		const struct opt *op = NULL;
		for (size_t k = 0; k < sizeof(options) / sizeof(options[0]) && !op; k++)
			if (!strcmp(options[k].name, name))
				op = &options[k];
		if (!op) {
			fprintf(stderr, "%s: %s: invalid option\n", o->prog, a);
			return -1;
		}
		const char *arg = NULL;
		if (op->has_arg) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s: requires an argument\n", o->prog, a);
				return -1;
			}
			arg = argv[++i];
		}
		int rc = op->fn(o, op->name, arg);
		if (rc)
			return rc;
	}
	/* checked after parsing, as QEMU does, so the order of options does not matter */
	if (!o->cfg.kernel && o->cfg.append)
		return fail(o, NULL, NULL, "-append only allowed with -kernel option");
	if (!o->cfg.kernel && o->cfg.initrd)
		return fail(o, NULL, NULL, "-initrd only allowed with -kernel option");
	return 0;
}
