/* mon_int.h - what the monitor's files share: the monitor context, text output, the HMP
 * and QMP entry points and the snapshot adaptor. */
#ifndef STRATA_EMULATOR_MONITOR_MON_INT_H
#define STRATA_EMULATOR_MONITOR_MON_INT_H

#include "emulator/monitor/json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_virt;
struct vm_drive;
struct vm_chardev;

/* The version a monitor reports (query-version, the greeting, info version, the banner). */
#define VM_MON_MAJOR 7
#define VM_MON_MINOR 2
#define VM_MON_MICRO 0
#define VM_MON_PACKAGE " (strata-vm)"

/* Text a command prints (HMP output, human-monitor-command's return). */
struct vm_mon_text {
	char *buf;
	size_t len, cap;
};
void vm_mon_printf(struct vm_mon_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vm_mon_text_free(struct vm_mon_text *t);

/* A QMP job (snapshot-save/-load/-delete): concluded at once, kept until job-dismiss. */
struct vm_mon_job {
	char id[128];
	char type[24];
	char status[16];
	char *error; /* NULL on success */
	struct vm_mon_job *next;
};

struct vm_mon_ctx {
	struct vm_virt *vm;
	struct vm_drive *drives;
	int ndrives;
	struct vm_mon_job *jobs; /* newest first */
	struct vm_mon *mons;
	/* HMP's sticky /fmt defaults (shared by x, xp and print, as in QEMU) */
	char last_format;
	int last_size;
};
extern struct vm_mon_ctx vm_mon_ctx;

/* Sends an event to every QMP monitor past capabilities negotiation. data_json NULL or
 * "{}": no "data" member. */
void vm_mon_event(const char *name, const char *data_json);

/* HMP: runs one command line, printing into out. */
void vm_hmp_execute(const char *line, struct vm_mon_text *out);

/* QMP: one session's state and its input. */
struct vm_qmp {
	bool negotiated;
	bool pretty;
};
/* Handles one complete JSON text (or a parse error in err when parse_err). Writes the
 * reply (and any events that precede it) with send(). */
void vm_qmp_handle(struct vm_qmp *q, const char *text, size_t len, void (*send)(void *opaque, struct vm_jw *w),
		   void *opaque);
void vm_qmp_greeting(struct vm_jw *w);

/* Drive lookup by id (as info block and query-block name them); NULL when unknown. */
struct vm_drive *vm_mon_drive(const char *id, int *index);
const char *vm_mon_drive_name(int index, char *buf, size_t len);

/* ---- the snapshot adaptor (snapshot_cmds.c): where savevm's API plugs in ---- */
int vm_mon_savevm(const char *name, char *err, size_t errlen);        /* HMP: replaces a snapshot */
int vm_mon_snapshot_save(const char *name, char *err, size_t errlen); /* QMP: refuses an existing tag */
int vm_mon_loadvm(const char *name, char *err, size_t errlen);
/* vm_mon_loadvm with QEMU's stop before and start after success (HMP loadvm, snapshot-load) */
int vm_mon_load_stopped(const char *name, char *err, size_t errlen);
int vm_mon_delvm(const char *name, char *err, size_t errlen);
/* `info snapshots` text (malloc'd) or -errno with the message in err. */
int vm_mon_snapshots_info(char **text, char *err, size_t errlen);

/* ---- HMP pieces ---- */
void vm_hmp_info(const char *args, struct vm_mon_text *out, const char *typed);
void vm_hmp_info_help(struct vm_mon_text *out);
void vm_hmp_memdump(const char *args, bool physical, struct vm_mon_text *out, const char *typed);
void vm_hmp_print(const char *args, struct vm_mon_text *out, const char *typed);
/* commit DEVICE|all: 0 or -errno with the text to print in out */
void vm_hmp_commit(const char *dev, struct vm_mon_text *out);
/* network (net_cmds.c) */
void vm_hmp_info_network(const char *arg, struct vm_mon_text *out);
void vm_hmp_info_usernet(const char *arg, struct vm_mon_text *out);
void vm_hmp_hostfwd_add(const char *args, struct vm_mon_text *out, const char *typed);
void vm_hmp_hostfwd_remove(const char *args, struct vm_mon_text *out, const char *typed);
void vm_hmp_set_link(const char *args, struct vm_mon_text *out, const char *typed);

#endif
