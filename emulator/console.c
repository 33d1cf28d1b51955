/* console.c - console options to character back ends, with QEMU's defaults:
 *   -nographic, no -serial and no monitor option: serial0 and the monitor share stdio through
 *     the mux ("mon:stdio", Ctrl-C to the guest); -nographic with -serial: the monitor alone on
 *     stdio; with a monitor option: serial0 alone on stdio.
 *   -display none: serial0 and the monitor on "vc" (nothing, there is no screen).
 *   neither: as -nographic (strata-vm has no graphical console).
 * Monitor back ends are labelled compat_monitorN, serial ones serialN, as QEMU's. */
#include "emulator/console.h"
#include "emulator/chardev/chardev.h"
#include "emulator/host/loop.h"
#include "emulator/machine/virt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct con_mon {
	struct vm_chardev *chr;
	bool qmp, pretty;
};

static struct console {
	const char *prog;
	const char *where_opt, *where_val; /* the option being set up (error/info prefix) */
	struct vm_virt *vm;
	bool exit_directly;
	/* monitors to attach once the board exists */
	struct con_mon mon[VM_CONSOLE_MAX];
	int nmon;
} con;

static const char *const takes_value[] = { "-serial", "-chardev", "-monitor", "-mon", "-qmp", "-qmp-pretty",
					   "-display", NULL };

int vm_console_option(struct vm_console_opts *o, const char *a, const char *v)
{
	if (!strcmp(a, "-nographic")) {
		o->nographic = true;
		return 1;
	}
	int k = 0;
	while (takes_value[k] && strcmp(takes_value[k], a))
		k++;
	if (!takes_value[k])
		return 0;
	if (!v) {
		fprintf(stderr, "%s: %s: requires an argument\n", o->prog, a);
		return -1;
	}
	if (!strcmp(a, "-display")) {
		if (strcmp(v, "none") != 0 && strncmp(v, "none,", 5) != 0) {
			fprintf(stderr, "%s: -display %s: strata-vm has no graphical display (only -display none)\n",
				o->prog, v);
			return -1;
		}
		o->display_none = true;
		return 2;
	}
	if (o->n == VM_CONSOLE_MAX * 2) {
		fprintf(stderr, "%s: %s %s: too many console options\n", o->prog, a, v);
		return -1;
	}
	o->opt[o->n] = a;
	o->val[o->n++] = v;
	return 2;
}

static void print_located(const char *msg)
{
	if (con.where_opt)
		fprintf(stderr, "%s: %s %s: %s\n", con.prog, con.where_opt, con.where_val, msg);
	else
		fprintf(stderr, "%s: %s\n", con.prog, msg);
}

/* ---- host hooks ---- */

/* Ctrl-A s: "save disk data back to file (if -snapshot)" */
static void host_flush(void *opaque)
{
	(void)opaque;
	vm_monitor_commit_all();
}

static void host_quit(void *opaque)
{
	(void)opaque;
	if (con.vm && !con.exit_directly)
		vm_virt_quit(con.vm, 0);
	else
		exit(0); /* before the board exists, or under the GDB stub's own loop */
}

static void host_info(void *opaque, const char *msg, bool located)
{
	(void)opaque;
	if (located)
		print_located(msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* QEMU names the sender by its command line's first word. */
static void pid_name(int pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		snprintf(buf, len, "<unknown process>");
	else
		buf[n] = 0;
}

static void host_terminate(void *opaque, int signo, int pid)
{
	(void)opaque;
	if (pid) {
		char name[256];
		pid_name(pid, name, sizeof(name));
		fprintf(stderr, "%s: terminating on signal %d from pid %d (%s)\n", con.prog, signo, pid, name);
	} else {
		fprintf(stderr, "%s: terminating on signal %d\n", con.prog, signo);
	}
	if (con.vm) /* QMP clients learn why the VM went away, as from QEMU */
		vm_virt_emit(con.vm, "SHUTDOWN", "{\"guest\": false, \"reason\": \"host-signal\"}");
	host_quit(NULL);
}

/* ---- setup ---- */

static int monitor_backend(struct vm_loop *loop, const char *spec, bool qmp, bool pretty, int *counter)
{
	char label[32], err[512];
	struct vm_chardev *c;
	snprintf(label, sizeof(label), "compat_monitor%d", (*counter)++);
	/* only -monitor takes "none" (it never gets here); for -qmp it is no back end, as QEMU says */
	int rc = strcmp(spec, "none") ? vm_chr_new_legacy(loop, spec, label, &c, err, sizeof(err)) : -EINVAL;
	if (!strcmp(spec, "none"))
		snprintf(err, sizeof(err), "'none' is not a valid char driver");
	if (rc) {
		print_located(err);
		if (rc == -EINVAL && !strstr(err, "Invalid parameter") && !strstr(err, "expects")) {
			snprintf(err, sizeof(err), "parse error: %s", spec);
			print_located(err);
		}
		return -1;
	}
	if (c && con.nmon < VM_CONSOLE_MAX)
		con.mon[con.nmon++] = (struct con_mon){ c, qmp, pretty };
	return 0;
}

/* -mon chardev=ID[,mode=readline|control][,pretty=on|off] */
static int mon_option(const char *v)
{
	char buf[512], id[128] = "";
	bool qmp = false, pretty = false;
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		const char *key = eq ? (*eq = 0, t) : "chardev", *val = eq ? eq + 1 : t;
		char msg[300];
		if (!strcmp(key, "chardev")) {
			snprintf(id, sizeof(id), "%s", val);
		} else if (!strcmp(key, "mode") && (!strcmp(val, "readline") || !strcmp(val, "control"))) {
			qmp = !strcmp(val, "control");
		} else if (!strcmp(key, "pretty") && (!strcmp(val, "on") || !strcmp(val, "off"))) {
			pretty = !strcmp(val, "on");
		} else if (!strcmp(key, "mode") || !strcmp(key, "pretty")) {
			snprintf(msg, sizeof(msg), "Parameter '%s' does not accept value '%s'", key, val);
			print_located(msg);
			return -1;
		} else {
			snprintf(msg, sizeof(msg), "Invalid parameter '%s'", key);
			print_located(msg);
			return -1;
		}
	}
	struct vm_chardev *c = vm_chr_find(id);
	if (!c) {
		char msg[200];
		snprintf(msg, sizeof(msg), "chardev \"%s\" not found", id);
		print_located(msg);
		return -1;
	}
	if (con.nmon < VM_CONSOLE_MAX)
		con.mon[con.nmon++] = (struct con_mon){ c, qmp, pretty };
	return 0;
}

static int serial_backend(struct vm_loop *loop, const char *spec, int index, struct vm_chardev **out)
{
	char label[32], err[512];
	snprintf(label, sizeof(label), "serial%d", index);
	int rc = vm_chr_new_legacy(loop, spec, label, out, err, sizeof(err));
	if (rc) {
		if (rc != -ENXIO && err[0]) /* QEMU says nothing more for a missing chardev:ID */
			print_located(err);
		snprintf(err, sizeof(err), "could not connect serial device to character backend '%s'", spec);
		print_located(err);
		return -1;
	}
	return 0;
}

int vm_console_setup(struct vm_console_opts *o, struct vm_loop *loop, struct vm_chardev **serial0)
{
	con.prog = o->prog;
	con.exit_directly = o->exit_directly;
	struct vm_chr_host h = { .quit = host_quit, .info = host_info, .terminate = host_terminate,
				 .flush = host_flush };
	vm_chr_set_host(&h);
	if (vm_chr_install_signals(loop))
		fprintf(stderr, "%s: warning: cannot install signal handlers\n", o->prog);
	vm_chr_signals_die(o->exit_directly);
	bool any_serial = false, any_monitor = false;
	for (int i = 0; i < o->n; i++) {
		any_serial |= !strcmp(o->opt[i], "-serial");
		any_monitor |= !strcmp(o->opt[i], "-monitor") || !strcmp(o->opt[i], "-mon") ||
			       !strncmp(o->opt[i], "-qmp", 4);
	}
	bool textmode = o->nographic || !o->display_none;
	int counter = 0, rc = 0, nserial = 0;
	*serial0 = NULL;
	/* -chardev and the monitors' back ends first, in command-line order, as QEMU */
	for (int i = 0; i < o->n && !rc; i++) {
		const char *a = o->opt[i], *v = o->val[i];
		con.where_opt = a, con.where_val = v;
		char err[512];
		struct vm_chardev *c;
		if (!strcmp(a, "-chardev")) {
			if (vm_chr_new_opts(loop, v, &c, err, sizeof(err))) {
				print_located(err);
				rc = -1;
			}
		} else if (!strcmp(a, "-monitor") && strcmp(v, "none") != 0) {
			rc = monitor_backend(loop, v, false, false, &counter);
		} else if (!strncmp(a, "-qmp", 4)) {
			rc = monitor_backend(loop, v, true, !strcmp(a, "-qmp-pretty"), &counter);
		} else if (!strcmp(a, "-mon")) {
			rc = mon_option(v);
		}
	}
	if (!rc && !any_monitor && textmode && any_serial) { /* -nographic -serial X: monitor on stdio */
		con.where_opt = NULL;
		rc = monitor_backend(loop, "stdio", false, false, &counter);
	}
	for (int i = 0; i < o->n && !rc; i++) {
		if (strcmp(o->opt[i], "-serial") != 0)
			continue;
		con.where_opt = o->opt[i], con.where_val = o->val[i];
		struct vm_chardev *c = NULL;
		rc = serial_backend(loop, o->val[i], nserial, &c);
		if (!rc && nserial++ == 0)
			*serial0 = c;
	}
	if (!rc && !any_serial) {
		con.where_opt = NULL;
		const char *dflt = !textmode ? "vc" : any_monitor ? "stdio" : "mon:stdio";
		rc = serial_backend(loop, dflt, 0, serial0);
		if (!rc && !any_monitor && textmode && *serial0 && con.nmon < VM_CONSOLE_MAX)
			con.mon[con.nmon++] = (struct con_mon){ *serial0, false, false }; /* shares the mux */
	}
	if (!rc && !any_monitor && !textmode) {
		con.where_opt = NULL;
		rc = monitor_backend(loop, "vc", false, false, &counter);
	}
	con.where_opt = NULL;
	return rc;
}

int vm_console_start(struct vm_console_opts *o, struct vm_virt *vm)
{
	(void)o;
	con.vm = vm;
	for (int i = 0; i < con.nmon; i++) {
		int rc = vm_monitor_attach(con.mon[i].chr, con.mon[i].qmp, con.mon[i].pretty);
		if (rc) {
			fprintf(stderr, "%s: cannot attach the monitor to chardev '%s': %s\n", con.prog,
				vm_chr_label(con.mon[i].chr), strerror(-rc));
			return -1;
		}
	}
	return 0;
}

void vm_console_close(void)
{
	con.vm = NULL;
	vm_chr_free_all();
}
