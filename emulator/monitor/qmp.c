/* qmp.c - the QMP dispatcher: QEMU 7.2's request checks and error texts, capabilities
 * negotiation, argument validation against a small schema per command, and the commands
 * that need no jobs (qmp_jobs.c has snapshot-save/-load/-delete and the job verbs). */
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"
#include "emulator/monitor/qmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_version(struct vm_jw *w, const char *key)
{
	vm_jw_obj(w, key);
	vm_jw_obj(w, "qemu");
	vm_jw_int(w, "micro", VM_MON_MICRO);
	vm_jw_int(w, "minor", VM_MON_MINOR);
	vm_jw_int(w, "major", VM_MON_MAJOR);
	vm_jw_obj_end(w);
	vm_jw_str(w, "package", VM_MON_PACKAGE);
	vm_jw_obj_end(w);
}

void vm_qmp_greeting(struct vm_jw *w)
{
	vm_jw_obj(w, NULL);
	vm_jw_obj(w, "QMP");
	put_version(w, "version");
	vm_jw_arr(w, "capabilities");
	vm_jw_str(w, NULL, "oob");
	vm_jw_arr_end(w);
	vm_jw_obj_end(w);
	vm_jw_obj_end(w);
}

static void empty_return(struct qmp_call *c)
{
	vm_jw_obj(c->w, "return");
	vm_jw_obj_end(c->w);
}

static int q_capabilities(struct qmp_call *c)
{
	if (c->q->negotiated) {
		c->err_class = "CommandNotFound";
		snprintf(c->err, sizeof(c->err), "Capabilities negotiation is already complete, command ignored");
		return -1;
	}
	struct vm_json *en = vm_json_get(c->args, "enable");
	for (size_t i = 0; en && i < en->n; i++) {
		snprintf(c->err, sizeof(c->err), "Capability '%s' not available", en->items[i]->str);
		return -1;
	}
	c->q->negotiated = true;
	empty_return(c);
	return 0;
}

static int q_status(struct qmp_call *c)
{
	const struct vm_virt *vm = vm_mon_ctx.vm;
	vm_jw_obj(c->w, "return");
	vm_jw_str(c->w, "status", vm_runstate_name(vm->state));
	vm_jw_bool(c->w, "singlestep", false);
	vm_jw_bool(c->w, "running", vm->state == VM_RUN_RUNNING);
	vm_jw_obj_end(c->w);
	return 0;
}

static int q_version(struct qmp_call *c)
{
	put_version(c->w, "return");
	return 0;
}

static int q_name(struct qmp_call *c)
{
	vm_jw_obj(c->w, "return");
	if (vm_mon_ctx.vm->cfg.name)
		vm_jw_str(c->w, "name", vm_mon_ctx.vm->cfg.name);
	vm_jw_obj_end(c->w);
	return 0;
}

static int q_stop(struct qmp_call *c)
{
	vm_virt_stop(vm_mon_ctx.vm);
	empty_return(c);
	return 0;
}

static int q_cont(struct qmp_call *c)
{
	vm_virt_cont(vm_mon_ctx.vm);
	empty_return(c);
	return 0;
}

static int q_reset(struct qmp_call *c)
{
	vm_virt_system_reset(vm_mon_ctx.vm);
	empty_return(c);
	return 0;
}

static int q_powerdown(struct qmp_call *c)
{
	vm_virt_system_powerdown(vm_mon_ctx.vm);
	empty_return(c);
	return 0;
}

static int q_quit(struct qmp_call *c)
{
	vm_mon_event("SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	vm_mon_jobs_dismiss_all();
	vm_virt_quit(vm_mon_ctx.vm, 0);
	empty_return(c);
	return 0;
}

static int q_hmp(struct qmp_call *c)
{
	struct vm_mon_text t = { 0 }, crlf = { 0 };
	vm_hmp_execute(vm_json_get(c->args, "command-line")->str, &t);
	for (size_t i = 0; i < t.len; i++)
		vm_mon_printf(&crlf, t.buf[i] == '\n' ? "\r\n" : "%c", t.buf[i]);
	vm_jw_strn(c->w, "return", crlf.buf ? crlf.buf : "", crlf.len);
	vm_mon_text_free(&t);
	vm_mon_text_free(&crlf);
	return 0;
}

static int q_commands(struct qmp_call *c);

static const struct qmp_arg no_args[] = { { NULL, 0, false } };
static const struct qmp_arg caps_args[] = { { "enable", 'a', true }, { NULL, 0, false } };
static const struct qmp_arg hmp_args[] = { { "command-line", 's', false }, { "cpu-index", 'i', true },
					   { NULL, 0, false } };

static const struct qmp_cmd cmds[] = {
	{ "qmp_capabilities", caps_args, q_capabilities },
	{ "query-status", no_args, q_status },
	{ "query-version", no_args, q_version },
	{ "query-name", no_args, q_name },
	{ "query-commands", no_args, q_commands },
	{ "query-block", no_args, vm_qmp_query_block },
	{ "query-jobs", no_args, vm_qmp_query_jobs },
	{ "job-dismiss", vm_qmp_job_dismiss_args, vm_qmp_job_dismiss },
	{ "snapshot-save", vm_qmp_snapshot_save_args, vm_qmp_snapshot_save },
	{ "snapshot-load", vm_qmp_snapshot_save_args, vm_qmp_snapshot_load },
	{ "snapshot-delete", vm_qmp_snapshot_delete_args, vm_qmp_snapshot_delete },
	{ "stop", no_args, q_stop },
	{ "cont", no_args, q_cont },
	{ "system_reset", no_args, q_reset },
	{ "system_powerdown", no_args, q_powerdown },
	{ "quit", no_args, q_quit },
	{ "human-monitor-command", hmp_args, q_hmp },
};

static int q_commands(struct qmp_call *c)
{
	vm_jw_arr(c->w, "return");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		vm_jw_obj(c->w, NULL);
		vm_jw_str(c->w, "name", cmds[i].name);
		vm_jw_obj_end(c->w);
	}
	vm_jw_arr_end(c->w);
	return 0;
}

static bool type_ok(const struct vm_json *v, char t)
{
	switch (t) {
	case 's': return v->type == VM_JSON_STRING;
	case 'i': return v->type == VM_JSON_INT || v->type == VM_JSON_UINT;
	case 'b': return v->type == VM_JSON_BOOL;
	case 'a': return v->type == VM_JSON_ARRAY;
	default: return true;
	}
}

static const char *type_word(char t)
{
	return t == 's' ? "string" : t == 'i' ? "integer" : t == 'b' ? "boolean" : "array";
}

/* QEMU's visitor order: the schema's members (missing, wrong type), then leftovers. */
static int check_args(const struct qmp_cmd *cmd, const struct vm_json *args, char *err, size_t errlen)
{
	for (const struct qmp_arg *a = cmd->args; a->name; a++) {
		const struct vm_json *v = vm_json_get(args, a->name);
		if (!v) {
			if (a->optional)
				continue;
			snprintf(err, errlen, "Parameter '%s' is missing", a->name);
			return -1;
		}
		if (!type_ok(v, a->type)) {
			snprintf(err, errlen, "Invalid parameter type for '%s', expected: %s", a->name, type_word(a->type));
			return -1;
		}
		for (size_t i = 0; a->type == 'a' && i < v->n; i++) {
			if (v->items[i]->type != VM_JSON_STRING) {
				snprintf(err, errlen, "Invalid parameter type for '%s[%zu]', expected: string", a->name, i);
				return -1;
			}
		}
	}
	for (size_t i = 0; args && i < args->n; i++) {
		const struct qmp_arg *a = cmd->args;
		while (a->name && strcmp(a->name, args->keys[i]))
			a++;
		if (!a->name) {
			snprintf(err, errlen, "Parameter '%s' is unexpected", args->keys[i]);
			return -1;
		}
	}
	return 0;
}

static void send_error(struct vm_qmp *q, const struct vm_json *id, const char *cls, const char *desc,
		       void (*send)(void *, struct vm_jw *), void *opaque)
{
	struct vm_jw w;
	vm_jw_init(&w, q->pretty);
	vm_jw_obj(&w, NULL);
	if (id)
		vm_jw_value(&w, "id", id);
	vm_jw_obj(&w, "error");
	vm_jw_str(&w, "class", cls);
	vm_jw_str(&w, "desc", desc);
	vm_jw_obj_end(&w);
	vm_jw_obj_end(&w);
	send(opaque, &w);
	vm_jw_free(&w);
}

/* The request's shape: an object with a string "execute", an object "arguments", an "id". */
static int check_request(const struct vm_json *req, char *err, size_t errlen)
{
	if (req->type != VM_JSON_OBJECT) {
		snprintf(err, errlen, "QMP input must be a JSON object");
		return -1;
	}
	for (size_t i = 0; i < req->n; i++) {
		const char *k = req->keys[i];
		const struct vm_json *v = req->items[i];
		if (!strcmp(k, "execute") || !strcmp(k, "exec-oob")) {
			if (v->type != VM_JSON_STRING) {
				snprintf(err, errlen, "QMP input member '%s' must be a string", k);
				return -1;
			}
		} else if (!strcmp(k, "arguments")) {
			if (v->type != VM_JSON_OBJECT) {
				snprintf(err, errlen, "QMP input member 'arguments' must be an object");
				return -1;
			}
		} else if (strcmp(k, "id") != 0) {
			snprintf(err, errlen, "QMP input member '%s' is unexpected", k);
			return -1;
		}
	}
	if (!vm_json_get(req, "execute") && !vm_json_get(req, "exec-oob")) {
		snprintf(err, errlen, "QMP input lacks member 'execute'");
		return -1;
	}
	return 0;
}

void vm_qmp_handle(struct vm_qmp *q, const char *text, size_t len, void (*send)(void *opaque, struct vm_jw *w),
		   void *opaque)
{
	char err[512];
	struct vm_json *req = NULL;
	if (vm_json_parse(text, len, &req, err, sizeof(err))) {
		send_error(q, NULL, "GenericError", err, send, opaque);
		return;
	}
	const struct vm_json *id = vm_json_get(req, "id");
	if (check_request(req, err, sizeof(err))) {
		send_error(q, req->type == VM_JSON_OBJECT ? id : NULL, "GenericError", err, send, opaque);
		goto out;
	}
	const struct vm_json *ex = vm_json_get(req, "execute");
	if (!ex) {
		send_error(q, id, "GenericError", "An exec-oob command can only be used when OOB is enabled", send, opaque);
		goto out;
	}
	const struct qmp_cmd *cmd = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, ex->str))
			cmd = &cmds[i];
	if (!q->negotiated && (!cmd || cmd->fn != q_capabilities)) {
		send_error(q, id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'", send,
			   opaque);
		goto out;
	}
	if (!cmd) {
		snprintf(err, sizeof(err), "The command %s has not been found", ex->str);
		send_error(q, id, "CommandNotFound", err, send, opaque);
		goto out;
	}
	const struct vm_json *args = vm_json_get(req, "arguments");
	if (check_args(cmd, args, err, sizeof(err))) {
		send_error(q, id, "GenericError", err, send, opaque);
		goto out;
	}
	struct vm_jw w;
	vm_jw_init(&w, q->pretty);
	vm_jw_obj(&w, NULL);
	struct qmp_call c = { .q = q, .args = args, .w = &w, .err_class = "GenericError" };
	if (cmd->fn(&c)) {
		send_error(q, id, c.err_class, c.err, send, opaque);
	} else {
		if (id)
			vm_jw_value(&w, "id", id);
		vm_jw_obj_end(&w);
		send(opaque, &w);
	}
	vm_jw_free(&w);
	if (c.job)
		vm_mon_job_finish(c.job); /* the job's last states follow the reply, as in QEMU */
out:
	vm_json_free(req);
}
