/* hmp.c - the human monitor's command table and line parser. Texts, argument errors and
 * help lines are QEMU 7.2's; handlers call the same machine verbs as QMP (qmp.c). */
#include "emulator/gdbstub.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* args: "" none, "s" one string, "s?" optional string, "F" /fmt then expression (the handler
 * parses), "S" the rest of the line */
struct hmp_cmd {
	const char *name, *params, *help, *args;
	void (*fn)(const char *arg, struct vm_mon_text *out, const char *typed);
};

static void cmd_help(const char *arg, struct vm_mon_text *out, const char *typed);

static void cmd_info(const char *arg, struct vm_mon_text *out, const char *typed)
{
	vm_hmp_info(arg, out, typed);
}

static void cmd_stop(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)arg, (void)out, (void)typed;
	vm_virt_stop(vm_mon_ctx.vm);
}

static void cmd_cont(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)arg, (void)out, (void)typed;
	vm_virt_cont(vm_mon_ctx.vm);
}

static void cmd_reset(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)arg, (void)out, (void)typed;
	vm_virt_system_reset(vm_mon_ctx.vm);
}

static void cmd_powerdown(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)arg, (void)out, (void)typed;
	vm_virt_system_powerdown(vm_mon_ctx.vm);
}

static void cmd_quit(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)arg, (void)out, (void)typed;
	vm_mon_event("SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	vm_virt_quit(vm_mon_ctx.vm, 0);
}

static void cmd_commit(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)typed;
	vm_hmp_commit(arg, out);
}

static void snapshot_err(int rc, const char *err, struct vm_mon_text *out)
{
	if (rc)
		vm_mon_printf(out, "Error: %s\n", err);
}

static void cmd_savevm(const char *arg, struct vm_mon_text *out, const char *typed)
{
	char err[512];
	(void)typed;
	snapshot_err(vm_mon_savevm(arg, err, sizeof(err)), err, out);
}

static void cmd_loadvm(const char *arg, struct vm_mon_text *out, const char *typed)
{
	char err[512];
	(void)typed;
	snapshot_err(vm_mon_load_stopped(arg, err, sizeof(err)), err, out);
}

static void cmd_delvm(const char *arg, struct vm_mon_text *out, const char *typed)
{
	char err[512];
	(void)typed;
	snapshot_err(vm_mon_delvm(arg, err, sizeof(err)), err, out);
}

static void cmd_x(const char *arg, struct vm_mon_text *out, const char *typed)
{
	vm_hmp_memdump(arg, false, out, typed);
}

static void cmd_xp(const char *arg, struct vm_mon_text *out, const char *typed)
{
	vm_hmp_memdump(arg, true, out, typed);
}

static void cmd_print(const char *arg, struct vm_mon_text *out, const char *typed)
{
	vm_hmp_print(arg, out, typed);
}

/* QEMU's hmp_gdbserver: the stub's error (if any) on its own line, then the result. */
static void cmd_gdbserver(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)typed;
	const char *dev = arg && *arg ? arg : "tcp::1234";
	char err[512];
	if (vm_gdb_start(vm_mon_ctx.vm, dev, err, sizeof(err))) {
		if (err[0])
			vm_mon_printf(out, "%s\n", err);
		vm_mon_printf(out, "Could not open gdbserver on device '%s'\n", dev);
	} else if (!strcmp(dev, "none")) {
		vm_mon_printf(out, "Disabled gdbserver\n");
	} else {
		vm_mon_printf(out, "Waiting for gdb connection on device '%s'\n", dev);
	}
}

static const struct hmp_cmd cmds[] = {
	{ "commit", "device|all", "commit changes to the disk images (if -snapshot is used) or backing files", "B",
	  cmd_commit },
	{ "cont|c", "", "resume emulation", "", cmd_cont },
	{ "delvm", "tag", "delete a VM snapshot from its tag", "s", cmd_delvm },
	{ "gdbserver", "[device]", "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", "s?",
	  cmd_gdbserver },
	{ "help|?", "[cmd]", "show the help", "S", cmd_help },
	{ "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
	  "redirect TCP or UDP connections from host to guest (requires -net user)", "S", vm_hmp_hostfwd_add },
	{ "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport", "remove host-to-guest TCP or UDP redirection",
	  "S", vm_hmp_hostfwd_remove },
	{ "info", "[subcommand]", "show various information about the system state", "S", cmd_info },
	{ "loadvm", "tag", "restore a VM snapshot from its tag", "s", cmd_loadvm },
	{ "print|p", "/fmt expr", "print expression value (use $reg for CPU register access)", "F", cmd_print },
	{ "quit|q", "", "quit the emulator", "", cmd_quit },
	{ "savevm", "tag", "save a VM snapshot. If no tag is provided, a new snapshot is created", "s?", cmd_savevm },
	{ "set_link", "name on|off", "change the link status of a network adapter", "S", vm_hmp_set_link },
	{ "stop|s", "", "stop emulation", "", cmd_stop },
	{ "system_powerdown", "", "send system power down event", "", cmd_powerdown },
	{ "system_reset", "", "reset the system", "", cmd_reset },
	{ "x", "/fmt addr", "virtual memory dump starting at 'addr'", "F", cmd_x },
	{ "xp", "/fmt addr", "physical memory dump starting at 'addr'", "F", cmd_xp },
};

static bool name_matches(const char *names, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = names;;) {
		const char *bar = strchr(p, '|');
		size_t k = bar ? (size_t)(bar - p) : strlen(p);
		if (k == n && !strncmp(p, word, n))
			return true;
		if (!bar)
			return false;
		p = bar + 1;
	}
}

static const struct hmp_cmd *find_cmd(const char *word)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (name_matches(cmds[i].name, word))
			return &cmds[i];
	return NULL;
}

static void help_line(struct vm_mon_text *out, const struct hmp_cmd *c)
{
	vm_mon_printf(out, "%s %s -- %s\n", c->name, c->params, c->help);
}

static void cmd_help(const char *arg, struct vm_mon_text *out, const char *typed)
{
	(void)typed;
	char word[64] = "";
	sscanf(arg, "%63s", word);
	if (!word[0]) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			help_line(out, &cmds[i]);
		return;
	}
	if (!strcmp(word, "info")) {
		const char *rest = arg + strspn(arg, " \t") + 4;
		rest += strspn(rest, " \t");
		if (!*rest)
			vm_hmp_info_help(out);
		return;
	}
	const struct hmp_cmd *c = find_cmd(word);
	if (c)
		help_line(out, c);
	else
		vm_mon_printf(out, "unknown command: '%s'\n", word);
}

static const char *skip_space(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* One word argument ("s"): QEMU's get_str without quotes. */
static bool one_word(const char *p, char *word, size_t len, const char **rest)
{
	size_t n = 0;
	p = skip_space(p);
	while (*p && !isspace((unsigned char)*p) && n + 1 < len)
		word[n++] = *p++;
	word[n] = 0;
	*rest = skip_space(p);
	return n > 0;
}

void vm_hmp_execute(const char *line, struct vm_mon_text *out)
{
	const char *p = skip_space(line);
	char word[64];
	size_t n = 0;
	while (*p && *p != '/' && !isspace((unsigned char)*p) && n + 1 < sizeof(word)) /* x/4xw: as QEMU */
		word[n++] = *p++;
	word[n] = 0;
	if (!n)
		return;
	const struct hmp_cmd *c = find_cmd(word);
	if (!c) {
		vm_mon_printf(out, "unknown command: '%s'\n", word);
		return;
	}
	const char *args = skip_space(p);
	char arg[1024] = "";
	const char *rest = args;
	if (!strcmp(c->args, "")) {
		rest = args;
	} else if (!strcmp(c->args, "s") || !strcmp(c->args, "s?") || !strcmp(c->args, "B")) {
		if (!one_word(args, arg, sizeof(arg), &rest) && c->args[1] != '?') {
			vm_mon_printf(out, "%s: %s expected\nTry \"help %s\" for more information\n", c->name,
				      c->args[0] == 'B' ? "block device name" : "string", word);
			return;
		}
	} else {
		c->fn(args, out, word); /* F, S: the handler parses the rest itself */
		return;
	}
	if (*rest) {
		vm_mon_printf(out, "%s: extraneous characters at the end of line\nTry \"help %s\" for more information\n",
			      c->name, word);
		return;
	}
	c->fn(arg, out, word);
}
