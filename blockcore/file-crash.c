/*
 * Crash-simulating host backend (SQLite's crash tests in spirit): an in-memory file that keeps
 * what a flush made durable apart from the writes issued since, and "loses power" after a given
 * number of writes. Afterwards the test asks for the disk as it could be found after the power
 * loss: the durable bytes plus any prefix of the pending writes, the last of them possibly torn.
 */
#include "file-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct crash_write {
	uint64_t off;
	size_t len;
	uint8_t *data;
	size_t new_len;          /* file length after this write (truncate records one too) */
};

struct bc_crashsim {
	struct bc_file_common common;
	uint8_t *cur;            /* what reads see: durable + every pending write */
	size_t cur_len, cap, max;
	uint8_t *dur;            /* what survives a power loss for sure */
	size_t dur_len;
	struct crash_write *pend;
	int npend, pend_cap;
	int budget;              /* writes left before the power goes; < 0: never */
	int writes;              /* writes done so far */
	bool dead;
	bool journal;            /* flushes keep the writes pending: every write is in pend */
};

static int cs_reserve(struct bc_crashsim *c, uint64_t end)
{
	if (end > c->max)
		return -EFBIG;
	if (end <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 65536;
	while (cap < end)
		cap *= 2;
	uint8_t *a = realloc(c->cur, cap);
	if (!a)
		return -ENOMEM;
	memset(a + c->cap, 0, cap - c->cap);
	c->cur = a;
	c->cap = cap;
	return 0;
}

/* Counts one write against the budget; false once the power is gone. */
static bool cs_alive(struct bc_crashsim *c)
{
	if (c->dead)
		return false;
	if (c->budget == 0) {
		c->dead = true;
		return false;
	}
	if (c->budget > 0)
		c->budget--;
	c->writes++;
	return true;
}

static int cs_record(struct bc_crashsim *c, uint64_t off, const void *buf, size_t len,
		     size_t new_len)
{
	if (c->npend == c->pend_cap) {
		int cap = c->pend_cap ? c->pend_cap * 2 : 64;
		struct crash_write *p = realloc(c->pend, (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->pend = p;
		c->pend_cap = cap;
	}
	struct crash_write *w = &c->pend[c->npend];
	w->data = len ? malloc(len) : NULL;
	if (len && !w->data)
		return -ENOMEM;
	if (len)
		memcpy(w->data, buf, len);
	w->off = off;
	w->len = len;
	w->new_len = new_len;
	c->npend++;
	return 0;
}

static int cs_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	struct bc_crashsim *c = f->priv;
	size_t avail = off < c->cur_len ? c->cur_len - (size_t)off : 0;
	size_t n = len < avail ? len : avail;

	if (c->dead)
		return -EIO;
	if (n)
		memcpy(buf, c->cur + off, n);
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

static int cs_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	struct bc_crashsim *c = f->priv;

	if (!cs_alive(c))
		return -EIO;
	if (off + len < off)
		return -EFBIG;
	int ret = cs_reserve(c, off + len);
	if (ret < 0)
		return ret;
	size_t new_len = off + len > c->cur_len ? (size_t)(off + len) : c->cur_len;
	ret = cs_record(c, off, buf, len, new_len);
	if (ret < 0)
		return ret;
	memcpy(c->cur + off, buf, len);
	c->cur_len = new_len;
	return 0;
}

static int cs_truncate(struct bc_file *f, uint64_t size)
{
	struct bc_crashsim *c = f->priv;

	if (!cs_alive(c))
		return -EIO;
	int ret = cs_reserve(c, size);
	if (ret < 0)
		return ret;
	ret = cs_record(c, 0, NULL, 0, (size_t)size);
	if (ret < 0)
		return ret;
	if (size < c->cur_len)
		memset(c->cur + size, 0, c->cur_len - (size_t)size);
	c->cur_len = (size_t)size;
	return 0;
}

/* Zeroing and hole punching are writes of zeros as far as a power loss is concerned. */
static int cs_zero(struct bc_file *f, uint64_t off, uint64_t len)
{
	uint8_t *z = calloc(1, len ? (size_t)len : 1);
	int ret = z ? cs_pwrite(f, z, (size_t)len, off) : -ENOMEM;

	free(z);
	return ret;
}

static int cs_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	struct bc_crashsim *c = f->priv;

	if (off >= c->cur_len)
		return c->dead ? -EIO : 0;
	if (len > c->cur_len - off)
		len = c->cur_len - off;
	return cs_zero(f, off, len);
}

static int cs_flush(struct bc_file *f)
{
	struct bc_crashsim *c = f->priv;

	if (c->dead)
		return -EIO;
	if (c->journal)
		return 0;
	uint8_t *d = realloc(c->dur, c->cur_len ? c->cur_len : 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, c->cur, c->cur_len);
	c->dur = d;
	c->dur_len = c->cur_len;
	for (int i = 0; i < c->npend; i++)
		free(c->pend[i].data);
	c->npend = 0;
	return 0;
}

static int64_t cs_length(struct bc_file *f)
{
	return (int64_t)((struct bc_crashsim *)f->priv)->cur_len;
}

static int cs_submit(struct bc_file *f, struct bc_aio *req)
{
	req->ret = req->op == BC_AIO_READ ? cs_pread(f, req->buf, req->len, req->off)
		 : req->op == BC_AIO_WRITE ? cs_pwrite(f, req->buf, req->len, req->off)
					   : cs_flush(f);
	bc_file_aio_complete(f, req);
	return 0;
}

static void cs_close(struct bc_file *f)
{
	struct bc_crashsim *c = f->priv;

	for (int i = 0; i < c->npend; i++)
		free(c->pend[i].data);
	free(c->pend);
	free(c->cur);
	free(c->dur);
}

static const struct bc_file_ops crash_ops = {
	.name = "crash-sim",
	.pread = cs_pread,
	.pwrite = cs_pwrite,
	.flush = cs_flush,
	.punch = cs_punch,
	.zero = cs_zero,
	.truncate = cs_truncate,
	.length = cs_length,
	.allocated = cs_length,
	.submit = cs_submit,
	.poll = bc_file_aio_poll_done,
	.close = cs_close,
};

int bc_file_open_crashsim(struct bc_file **out, const char *name, const void *data, size_t len,
			  size_t max_size, int budget, struct bc_crashsim **sim)
{
	struct bc_file *f = calloc(1, sizeof(*f));
	struct bc_crashsim *c = calloc(1, sizeof(*c));

	if (!f || !c || !(f->path = strdup(name)))
		goto fail;
	c->max = max_size < len ? len : max_size;
	c->budget = budget;
	if (cs_reserve(c, len) < 0 || !(c->dur = malloc(len ? len : 1)))
		goto fail;
	memcpy(c->cur, data, len);
	memcpy(c->dur, data, len);
	c->cur_len = c->dur_len = len;
	f->priv = c;
	f->ops = &crash_ops;
	f->fd = -1;
	f->writable = true;
	f->align = 1;
	*out = f;
	*sim = c;
	return 0;
fail:
	if (c) {
		free(c->cur);
		free(c->dur);
	}
	free(c);
	if (f)
		free(f->path);
	free(f);
	return -ENOMEM;
}

bool bc_crashsim_dead(const struct bc_crashsim *sim) { return sim->dead; }
int bc_crashsim_pending(const struct bc_crashsim *sim) { return sim->npend; }
int bc_crashsim_writes(const struct bc_crashsim *sim) { return sim->writes; }
void bc_crashsim_journal(struct bc_crashsim *sim) { sim->journal = true; }

int bc_crashsim_write_at(const struct bc_crashsim *sim, int i, uint64_t *off, size_t *len,
			 const uint8_t **data, size_t *new_len)
{
	if (i < 0 || i >= sim->npend)
		return -EINVAL;
	*off = sim->pend[i].off;
	*len = sim->pend[i].len;
	*data = sim->pend[i].data;
	*new_len = sim->pend[i].new_len;
	return 0;
}

int bc_crashsim_image(const struct bc_crashsim *sim, int keep, size_t tear, uint8_t **data,
		      size_t *len)
{
	size_t n = sim->dur_len, cap = sim->dur_len;

	if (keep < 0 || keep > sim->npend)
		return -EINVAL;
	for (int i = 0; i < keep; i++)
		cap = sim->pend[i].new_len > cap ? sim->pend[i].new_len : cap;
	uint8_t *d = calloc(1, cap ? cap : 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, sim->dur, sim->dur_len);
	for (int i = 0; i < keep; i++) {
		const struct crash_write *w = &sim->pend[i];
		size_t wl = (i == keep - 1 && tear && tear < w->len) ? tear : w->len;
		if (w->data)
			memcpy(d + w->off, w->data, wl);
		else if (w->new_len < n)
			memset(d + w->new_len, 0, n - w->new_len);   /* a shrinking truncate */
		n = w->new_len;
	}
	*data = d;
	*len = n;
	return 0;
}
