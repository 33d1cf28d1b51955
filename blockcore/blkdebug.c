/* The blkdebug fault-injection filter (see blkdebug.h): rules, config parsing, the file ops. */
#include "blkdebug.h"
#include "file-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const event_names[BC_EV_COUNT] = {
	"l1_update", "l1_grow_alloc_table", "l1_grow_write_table", "l1_grow_activate_table",
	"l2_load", "l2_update", "l2_update_compressed", "l2_alloc_cow_read", "l2_alloc_write",
	"read_aio", "read_backing_aio", "read_compressed", "write_aio", "write_compressed",
	"vmstate_load", "vmstate_save", "cow_read", "cow_write", "reftable_load", "reftable_grow",
	"reftable_update", "refblock_load", "refblock_update", "refblock_update_part",
	"refblock_alloc", "refblock_alloc_hookup", "refblock_alloc_write",
	"refblock_alloc_write_blocks", "refblock_alloc_write_table", "refblock_alloc_switch_table",
	"cluster_alloc", "cluster_alloc_bytes", "cluster_free", "flush_to_os", "flush_to_disk",
	"pwritev_rmw_head", "pwritev_rmw_after_head", "pwritev_rmw_tail", "pwritev_rmw_after_tail",
	"pwritev", "pwritev_zero", "pwritev_done", "empty_image_prepare", "l1_shrink_write_table",
	"l1_shrink_free_l2_clusters", "cor_write", "cluster_alloc_space", "none",
};

const char *bc_event_name(enum bc_event ev)
{
	return (unsigned)ev < BC_EV_COUNT ? event_names[ev] : NULL;
}

enum { ACT_INJECT, ACT_SET_STATE };
enum io_type { IO_READ, IO_WRITE, IO_WRITE_ZEROES, IO_DISCARD, IO_FLUSH };

struct rule {
	int action, event, state;
	int error;              /* inject: errno */
	int64_t offset;         /* inject: byte offset that must be touched, -1: any */
	bool once, immediately;
	int new_state;          /* set-state */
	bool removed;           /* a once rule that fired */
	bool active;
};

struct blkdebug {
	struct bc_file_common common;
	struct bc_file *inner;
	struct rule *rules;
	int nrules;
	int state;
};

/* ---- the rules at work -------------------------------------------------------------------- */

static void bd_event(struct bc_file *f, enum bc_event ev)
{
	struct blkdebug *b = f->priv;
	int new_state = b->state;
	bool injected = false;

	for (int i = 0; i < b->nrules; i++) {
		struct rule *r = &b->rules[i];
		if (r->removed || r->event != (int)ev || (r->state && r->state != b->state))
			continue;
		if (r->action == ACT_SET_STATE) {
			new_state = r->new_state;
			continue;
		}
		if (!injected) {        /* an event's inject rules replace the active ones */
			for (int j = 0; j < b->nrules; j++)
				b->rules[j].active = false;
			injected = true;
		}
		r->active = true;
	}
	b->state = new_state;
	bc_file_event(b->inner, ev);
}

/* 0, or the errno an active rule injects into this request. */
static int rule_check(struct blkdebug *b, uint64_t off, uint64_t len, enum io_type t)
{
	(void)t;        /* every rule covers reads, writes, zeroes, discards and flushes */
	for (int i = b->nrules - 1; i >= 0; i--) {   /* the latest activated first, as QEMU */
		struct rule *r = &b->rules[i];
		if (!r->active || r->removed)
			continue;
		if (r->offset >= 0 && !(len && (uint64_t)r->offset >= off &&
					(uint64_t)r->offset < off + len))
			continue;
		if (!r->error)
			return 0;
		if (r->once) {
			r->removed = true;
			r->active = false;
		}
		return -r->error;
	}
	return 0;
}

static int bd_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	struct blkdebug *b = f->priv;
	int ret = rule_check(b, off, len, IO_READ);

	return ret ? ret : bc_file_pread(b->inner, buf, len, off);
}

static int bd_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	struct blkdebug *b = f->priv;
	int ret = rule_check(b, off, len, IO_WRITE);

	return ret ? ret : bc_file_pwrite(b->inner, buf, len, off);
}

static int bd_flush(struct bc_file *f)
{
	struct blkdebug *b = f->priv;
	int ret = rule_check(b, 0, 0, IO_FLUSH);

	return ret ? ret : bc_file_flush(b->inner);
}

static int bd_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	struct blkdebug *b = f->priv;
	int ret = rule_check(b, off, len, IO_DISCARD);

	return ret ? ret : bc_file_punch(b->inner, off, len);
}

static int bd_zero(struct bc_file *f, uint64_t off, uint64_t len)
{
	struct blkdebug *b = f->priv;
	int ret = rule_check(b, off, len, IO_WRITE_ZEROES);

	return ret ? ret : bc_file_zero(b->inner, off, len, false);
}

static int bd_allocate(struct bc_file *f, uint64_t off, uint64_t len)
{
	return bc_file_allocate(((struct blkdebug *)f->priv)->inner, off, len);
}

static int bd_truncate(struct bc_file *f, uint64_t size)
{
	return bc_file_truncate(((struct blkdebug *)f->priv)->inner, size);
}

static int64_t bd_length(struct bc_file *f)
{
	return bc_file_length(((struct blkdebug *)f->priv)->inner);
}

static int64_t bd_allocated(struct bc_file *f)
{
	return bc_file_allocated(((struct blkdebug *)f->priv)->inner);
}

static int bd_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	return bc_file_status(((struct blkdebug *)f->priv)->inner, off, len, pnum, data);
}

/* Queued requests run synchronously through the rules. */
static int bd_submit(struct bc_file *f, struct bc_aio *req)
{
	req->ret = req->op == BC_AIO_READ ? bd_pread(f, req->buf, req->len, req->off)
		 : req->op == BC_AIO_WRITE ? bd_pwrite(f, req->buf, req->len, req->off)
					   : bd_flush(f);
	bc_file_aio_complete(f, req);
	return 0;
}

static void bd_close(struct bc_file *f)
{
	struct blkdebug *b = f->priv;

	bc_file_close(b->inner);
	free(b->rules);
}

static const struct bc_file_ops blkdebug_ops = {
	.name = "blkdebug",
	.pread = bd_pread,
	.pwrite = bd_pwrite,
	.flush = bd_flush,
	.punch = bd_punch,
	.zero = bd_zero,
	.allocate = bd_allocate,
	.truncate = bd_truncate,
	.length = bd_length,
	.allocated = bd_allocated,
	.status = bd_status,
	.submit = bd_submit,
	.poll = bc_file_aio_poll_done,
	.close = bd_close,
	.event = bd_event,
};

/* ---- the config file (QEMU's ini dialect: `[group]`, `key = "value"`) ---------------------- */

static int parse_int(const char *key, const char *v, int64_t *out, struct bc_err *err)
{
	char *end;

	errno = 0;
	long long n = strtoll(v, &end, 0);
	if (!*v || *end || errno)
		return bc_err_set(err, -EINVAL, "Parameter '%s' expects a number", key);
	*out = n;
	return 0;
}

static int parse_bool(const char *key, const char *v, bool *out, struct bc_err *err)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "y"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "n"))
		*out = false;
	else
		return bc_err_set(err, -EINVAL, "Parameter '%s' expects 'on' or 'off'", key);
	return 0;
}

static int set_key(struct rule *r, const char *key, const char *v, struct bc_err *err)
{
	int64_t n;
	int ret = 0;

	if (!strcmp(key, "event")) {
		r->event = -1;
		for (int i = 0; i < BC_EV_COUNT; i++)
			if (!strcmp(v, event_names[i]))
				r->event = i;
		if (r->event < 0)
			return bc_err_set(err, -EINVAL, "invalid parameter value: %s", v);
	} else if (!strcmp(key, "state")) {
		ret = parse_int(key, v, &n, err);
		r->state = (int)n;
	} else if (r->action == ACT_SET_STATE && !strcmp(key, "new_state")) {
		ret = parse_int(key, v, &n, err);
		r->new_state = (int)n;
	} else if (r->action == ACT_INJECT && !strcmp(key, "errno")) {
		ret = parse_int(key, v, &n, err);
		r->error = (int)n;
	} else if (r->action == ACT_INJECT && !strcmp(key, "sector")) {
		ret = parse_int(key, v, &n, err);
		r->offset = n < 0 ? -1 : n > INT64_MAX / 512 ? INT64_MAX : n * 512; /* INT64_MAX: past any image */
	} else if (r->action == ACT_INJECT && !strcmp(key, "once")) {
		ret = parse_bool(key, v, &r->once, err);
	} else if (r->action == ACT_INJECT && !strcmp(key, "immediately")) {
		ret = parse_bool(key, v, &r->immediately, err);   /* no effect: I/O is synchronous */
	} else {
		return bc_err_set(err, -EINVAL, "Invalid parameter '%s'", key);
	}
	return ret;
}

static int add_rule(struct blkdebug *b, int action, struct bc_err *err)
{
	struct rule *n = realloc(b->rules, (size_t)(b->nrules + 1) * sizeof(*n));

	if (!n)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	b->rules = n;
	memset(&n[b->nrules], 0, sizeof(*n));
	n[b->nrules].action = action;
	n[b->nrules].event = -2;            /* none given yet */
	n[b->nrules].error = EIO;
	n[b->nrules].offset = -1;
	b->nrules++;
	return 0;
}

/* One line; *cur is the rule being filled (-1: none). */
static int parse_line(struct blkdebug *b, char *line, struct bc_err *err)
{
	char group[64], key[64], value[1024];

	line[strcspn(line, "\n")] = 0;
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line || *line == '#')
		return 0;
	if (sscanf(line, "[%63[^]]]", group) == 1) {
		if (!strcmp(group, "inject-error"))
			return add_rule(b, ACT_INJECT, err);
		if (!strcmp(group, "set-state"))
			return add_rule(b, ACT_SET_STATE, err);
		return bc_err_set(err, -EINVAL, "There is no option group '%s'", group);
	}
	value[0] = 0;
	/* Like QEMU's parser, an unquoted value reads as empty. */
	if (sscanf(line, "%63s = \"%1023[^\"]\"", key, value) < 1)
		return bc_err_set(err, -EINVAL, "Could not parse blkdebug config line '%s'", line);
	if (!b->nrules)
		return bc_err_set(err, -EINVAL, "Could not parse blkdebug config line '%s'", line);
	return set_key(&b->rules[b->nrules - 1], key, value, err);
}

static int read_config(struct blkdebug *b, const char *path, struct bc_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[1200];
	int ret = 0;

	if (!fp)
		return bc_err_set(err, -errno, "Could not read blkdebug config file: %s",
				  strerror(errno));
	while (ret == 0 && fgets(line, sizeof(line), fp))
		ret = parse_line(b, line, err);
	fclose(fp);
	for (int i = 0; ret == 0 && i < b->nrules; i++)
		if (b->rules[i].event == -2)
			ret = bc_err_set(err, -EINVAL, "Missing event name for rule");
	return ret;
}

int bc_blkdebug_split(const char *name, char **config, char **image, struct bc_err *err)
{
	const char *p = name + strlen("blkdebug:"), *colon = strchr(p, ':');

	if (strncmp(name, "blkdebug:", 9) || !colon)
		return bc_err_set(err, -EINVAL, "blkdebug requires both config file and image path");
	*config = strndup(p, (size_t)(colon - p));
	*image = strdup(colon + 1);
	if (!*config || !*image) {
		free(*config);
		free(*image);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	return 0;
}

int bc_blkdebug_wrap(struct bc_file **file, const char *config, struct bc_err *err)
{
	struct bc_file *f = calloc(1, sizeof(*f));
	struct blkdebug *b = calloc(1, sizeof(*b));
	int ret;

	if (!f || !b || !(f->path = strdup((*file)->path))) {
		free(f);
		free(b);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	b->state = 1;
	ret = config && *config ? read_config(b, config, err) : 0;
	if (ret < 0) {
		free(b->rules);
		free(b);
		free(f->path);
		free(f);
		return ret;
	}
	b->inner = *file;
	f->ops = &blkdebug_ops;
	f->priv = b;
	f->fd = b->inner->fd;          /* locks are taken on the host file */
	f->writable = b->inner->writable;
	f->direct = b->inner->direct;
	f->unsafe = b->inner->unsafe;
	f->align = b->inner->align;
	*file = f;
	return 0;
}
