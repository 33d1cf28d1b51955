/* In-memory host backend: fuzzers and unit tests open byte buffers as images through it. */
#include "file-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mem_file {
	struct bc_file_common common;
	uint8_t *data;
	size_t len, cap, max;
};

static int mem_reserve(struct mem_file *m, uint64_t end)
{
	if (end > m->max)
		return -EFBIG;
	if (end <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 4096;
	while (cap < end)
		cap *= 2;
	if (cap > m->max)
		cap = m->max;
	uint8_t *n = realloc(m->data, cap);
	if (!n)
		return -ENOMEM;
	memset(n + m->cap, 0, cap - m->cap);
	m->data = n;
	m->cap = cap;
	return 0;
}

static int mem_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	struct mem_file *m = f->priv;
	size_t avail = off < m->len ? m->len - (size_t)off : 0;
	size_t n = len < avail ? len : avail;

	if (n)
		memcpy(buf, m->data + off, n);
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

static int mem_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	struct mem_file *m = f->priv;

	if (!f->writable)
		return -EBADF;
	if (off + len < off)
		return -EFBIG;
	int ret = mem_reserve(m, off + len);
	if (ret < 0)
		return ret;
	memcpy(m->data + off, buf, len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

static int mem_truncate(struct bc_file *f, uint64_t size)
{
	struct mem_file *m = f->priv;
	int ret = mem_reserve(m, size);

	if (ret < 0)
		return ret;
	if (size < m->len)
		memset(m->data + size, 0, m->len - (size_t)size);
	m->len = (size_t)size;
	return 0;
}

static int mem_zero(struct bc_file *f, uint64_t off, uint64_t len)
{
	struct mem_file *m = f->priv;

	if (off + len < off)
		return -EFBIG;
	int ret = mem_reserve(m, off + len);
	if (ret < 0)
		return ret;
	memset(m->data + off, 0, (size_t)len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

static int mem_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	struct mem_file *m = f->priv;

	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	memset(m->data + off, 0, (size_t)len);
	return 0;
}

static int mem_flush(struct bc_file *f)
{
	(void)f;
	return 0;
}

static int64_t mem_length(struct bc_file *f)
{
	return (int64_t)((struct mem_file *)f->priv)->len;
}

static int mem_submit(struct bc_file *f, struct bc_aio *req)
{
	if (req->op == BC_AIO_READ)
		req->ret = mem_pread(f, req->buf, req->len, req->off);
	else if (req->op == BC_AIO_WRITE)
		req->ret = mem_pwrite(f, req->buf, req->len, req->off);
	else
		req->ret = 0;
	bc_file_aio_complete(f, req);
	return 0;
}

static void mem_close(struct bc_file *f)
{
	free(((struct mem_file *)f->priv)->data);
}

const struct bc_file_ops bc_file_mem_ops = {
	.name = "memory",
	.pread = mem_pread,
	.pwrite = mem_pwrite,
	.flush = mem_flush,
	.punch = mem_punch,
	.zero = mem_zero,
	.truncate = mem_truncate,
	.length = mem_length,
	.allocated = mem_length,
	.submit = mem_submit,
	.poll = bc_file_aio_poll_done,
	.close = mem_close,
};

int bc_file_open_mem(struct bc_file **out, const char *name, const void *data, size_t len,
		     size_t max_size)
{
	struct bc_file *f = calloc(1, sizeof(*f));
	struct mem_file *m = calloc(1, sizeof(*m));

	if (!f || !m || !(f->path = strdup(name)))
		goto fail;
	m->max = max_size < len ? len : max_size;
	f->priv = m;
	if (len && mem_reserve(m, len) < 0)
		goto fail;
	if (len)
		memcpy(m->data, data, len);
	m->len = len;
	f->ops = &bc_file_mem_ops;
	f->fd = -1;
	f->writable = true;
	f->align = 1;
	*out = f;
	return 0;
fail:
	if (m)
		free(m->data);
	free(m);
	if (f)
		free(f->path);
	free(f);
	return -ENOMEM;
}

const uint8_t *bc_file_mem_data(struct bc_file *f, size_t *len)
{
	struct mem_file *m = f->priv;

	*len = m->len;
	return m->data;
}
