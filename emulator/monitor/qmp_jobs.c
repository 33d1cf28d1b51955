/* qmp_jobs.c - QMP's snapshot jobs (snapshot-save, snapshot-load, snapshot-delete), query-jobs
 * and job-dismiss. A job runs to its end inside the command (the VM stopped around
 * save/load, with STOP/RESUME events), and reports QEMU 7.2's JOB_STATUS_CHANGE sequence:
 * created, running, then after the reply waiting, pending, concluded (or aborting,
 * concluded on failure); job-dismiss ends it with "null". */
#include "emulator/machine/virt.h"
#include "emulator/monitor/qmp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct qmp_arg vm_qmp_job_dismiss_args[] = { { "id", 's', false }, { NULL, 0, false } };
const struct qmp_arg vm_qmp_snapshot_save_args[] = { { "job-id", 's', false }, { "tag", 's', false },
						     { "vmstate", 's', false }, { "devices", 'a', false },
						     { NULL, 0, false } };
const struct qmp_arg vm_qmp_snapshot_delete_args[] = { { "job-id", 's', false }, { "tag", 's', false },
						       { "devices", 'a', false }, { NULL, 0, false } };

static void set_status(struct vm_mon_job *j, const char *status)
{
	char data[300];
	snprintf(j->status, sizeof(j->status), "%s", status);
	/* the id was checked to hold only [A-Za-z0-9._-]: no escaping needed */
	snprintf(data, sizeof(data), "{\"status\": \"%s\", \"id\": \"%s\"}", status, j->id);
	vm_mon_event("JOB_STATUS_CHANGE", data);
}

static struct vm_mon_job *find_job(const char *id)
{
	for (struct vm_mon_job *j = vm_mon_ctx.jobs; j; j = j->next)
		if (!strcmp(j->id, id))
			return j;
	return NULL;
}

static bool id_ok(const char *id)
{
	if (!isalpha((unsigned char)id[0]) || strlen(id) >= sizeof(((struct vm_mon_job *)0)->id))
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static struct vm_mon_job *new_job(struct qmp_call *c, const char *type)
{
	const char *id = vm_json_get(c->args, "job-id")->str;
	if (!id_ok(id)) {
		snprintf(c->err, sizeof(c->err), "Invalid job ID '%s'", id);
		return NULL;
	}
	if (find_job(id)) {
		snprintf(c->err, sizeof(c->err), "Job ID '%s' already in use", id);
		return NULL;
	}
	struct vm_mon_job *j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(c->err, sizeof(c->err), "Out of memory");
		return NULL;
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->type, sizeof(j->type), "%s", type);
	j->next = vm_mon_ctx.jobs;
	vm_mon_ctx.jobs = j;
	set_status(j, "created");
	set_status(j, "running");
	return j;
}

/* Every device named must be a drive of this machine (QEMU's node names; strata-vm also
 * takes the drive id). */
static int check_devices(struct qmp_call *c, char *err, size_t errlen)
{
	const struct vm_json *devs = vm_json_get(c->args, "devices");
	const struct vm_json *vmstate = vm_json_get(c->args, "vmstate");
	for (size_t i = 0; i < devs->n; i++) {
		if (!vm_mon_drive(devs->items[i]->str, NULL)) {
			snprintf(err, errlen, "No block device node '%s'", devs->items[i]->str);
			return -1;
		}
	}
	if (vmstate && !vm_mon_drive(vmstate->str, NULL)) {
		snprintf(err, errlen, "No block device node '%s'", vmstate->str);
		return -1;
	}
	return 0;
}

/* savevm stops the VM around a save itself, after its checks. A load stops a running VM
 * first, devices checked after that, and starts it again only on success (QEMU's order; see
 * vm_mon_load_stopped). */
static int run_job(struct qmp_call *c, const char *type, int (*op)(const char *name, char *err, size_t errlen),
		   bool stop_first)
{
	struct vm_mon_job *j = new_job(c, type);
	if (!j)
		return -1;
	struct vm_virt *vm = vm_mon_ctx.vm;
	bool was = stop_first && vm_virt_running(vm);
	if (was) {
		vm_virt_stop(vm);
		vm_virt_set_state(vm, VM_RUN_RESTORE_VM);
	}
	char err[512];
	int rc = check_devices(c, err, sizeof(err));
	if (!rc)
		rc = op(vm_json_get(c->args, "tag")->str, err, sizeof(err));
	if (!rc && was)
		vm_virt_cont(vm);
	if (rc)
		j->error = strdup(err);
	c->job = j;
	vm_jw_obj(c->w, "return");
	vm_jw_obj_end(c->w);
	return 0;
}

int vm_qmp_snapshot_save(struct qmp_call *c)
{
	return run_job(c, "snapshot-save", vm_mon_snapshot_save, false);
}

int vm_qmp_snapshot_load(struct qmp_call *c)
{
	return run_job(c, "snapshot-load", vm_mon_loadvm, true);
}

int vm_qmp_snapshot_delete(struct qmp_call *c)
{
	return run_job(c, "snapshot-delete", vm_mon_delvm, false);
}

void vm_mon_job_finish(struct vm_mon_job *j)
{
	if (j->error) {
		set_status(j, "aborting");
	} else {
		set_status(j, "waiting");
		set_status(j, "pending");
	}
	set_status(j, "concluded");
}

int vm_qmp_query_jobs(struct qmp_call *c)
{
	vm_jw_arr(c->w, "return");
	for (struct vm_mon_job *j = vm_mon_ctx.jobs; j; j = j->next) {
		vm_jw_obj(c->w, NULL);
		vm_jw_int(c->w, "current-progress", 1);
		vm_jw_str(c->w, "status", j->status);
		vm_jw_int(c->w, "total-progress", 1);
		vm_jw_str(c->w, "type", j->type);
		vm_jw_str(c->w, "id", j->id);
		if (j->error)
			vm_jw_str(c->w, "error", j->error);
		vm_jw_obj_end(c->w);
	}
	vm_jw_arr_end(c->w);
	return 0;
}

static void unlink_job(struct vm_mon_job *j)
{
	for (struct vm_mon_job **p = &vm_mon_ctx.jobs; *p; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			break;
		}
	}
	set_status(j, "null");
	free(j->error);
	free(j);
}

int vm_qmp_job_dismiss(struct qmp_call *c)
{
	struct vm_mon_job *j = find_job(vm_json_get(c->args, "id")->str);
	if (!j) {
		snprintf(c->err, sizeof(c->err), "Job not found");
		return -1;
	}
	if (strcmp(j->status, "concluded")) {
		snprintf(c->err, sizeof(c->err), "Job '%s' in state '%s' cannot accept command verb 'dismiss'", j->id,
			 j->status);
		return -1;
	}
	unlink_job(j);
	vm_jw_obj(c->w, "return");
	vm_jw_obj_end(c->w);
	return 0;
}

void vm_mon_jobs_dismiss_all(void)
{
	while (vm_mon_ctx.jobs)
		unlink_job(vm_mon_ctx.jobs);
}
