/* qmp_int.h - what the QMP dispatcher shares with the files of its commands. */
#ifndef STRATA_EMULATOR_MONITOR_QMP_INT_H
#define STRATA_EMULATOR_MONITOR_QMP_INT_H

#include "emulator/monitor/mon_int.h"

/* an argument: type 's' string, 'i' integer, 'b' boolean, 'a' array of strings */
struct qmp_arg {
	const char *name;
	char type;
	bool optional;
};

struct qmp_call {
	struct vm_qmp *q;
	const struct vm_json *args; /* NULL: none given */
	struct vm_jw *w;            /* a handler that succeeds writes the "return" member here */
	char err[512];              /* a handler that fails fills these and writes nothing */
	const char *err_class;
	struct vm_mon_job *job;     /* a job whose last state changes follow the reply */
};

struct qmp_cmd {
	const char *name;
	const struct qmp_arg *args;
	int (*fn)(struct qmp_call *c);
};

int vm_qmp_query_block(struct qmp_call *c);
int vm_qmp_query_jobs(struct qmp_call *c);
int vm_qmp_job_dismiss(struct qmp_call *c);
int vm_qmp_snapshot_save(struct qmp_call *c);
int vm_qmp_snapshot_load(struct qmp_call *c);
int vm_qmp_snapshot_delete(struct qmp_call *c);
extern const struct qmp_arg vm_qmp_job_dismiss_args[];
extern const struct qmp_arg vm_qmp_snapshot_save_args[];
extern const struct qmp_arg vm_qmp_snapshot_delete_args[];

void vm_mon_job_finish(struct vm_mon_job *j);
/* quit: every job goes away (status "null") */
void vm_mon_jobs_dismiss_all(void);

#endif
