/*
 * QEMU's null-co protocol: a file of a given size (1 GiB by default) whose writes go nowhere
 * and whose reads leave the caller's buffer as it was (read-zeroes=on: zeros), for measuring
 * the layers above it. Named "null-co://" or json:{"driver":"null-co",...}.
 */
#include "file-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct null_file {
	struct bc_file_common common;
	uint64_t size;
	bool read_zeroes;
};

static int null_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	(void)off;
	if (((struct null_file *)f->priv)->read_zeroes)
		memset(buf, 0, len);
	return 0;
}

static int null_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	(void)f, (void)buf, (void)len, (void)off;
	return 0;
}

static int null_flush(struct bc_file *f)
{
	(void)f;
	return 0;
}

static int64_t null_length(struct bc_file *f)
{
	return (int64_t)((struct null_file *)f->priv)->size;
}

static int64_t null_allocated(struct bc_file *f)
{
	(void)f;
	return 0;
}

static int null_submit(struct bc_file *f, struct bc_aio *req)
{
	req->ret = req->op == BC_AIO_READ ? null_pread(f, req->buf, req->len, req->off) : 0;
	bc_file_aio_complete(f, req);
	return 0;
}

static void null_close(struct bc_file *f)
{
	(void)f;
}

static const struct bc_file_ops null_ops = {
	.name = "null-co",
	.pread = null_pread,
	.pwrite = null_pwrite,
	.flush = null_flush,
	.length = null_length,
	.allocated = null_allocated,
	.submit = null_submit,
	.poll = bc_file_aio_poll_done,
	.close = null_close,
};

int bc_file_open_null(struct bc_file **out, const char *name, uint64_t size, bool read_zeroes)
{
	struct bc_file *f = calloc(1, sizeof(*f));
	struct null_file *n = calloc(1, sizeof(*n));

	if (!f || !n || !(f->path = strdup(name))) {
		free(f);
		free(n);
		return -ENOMEM;
	}
	n->size = size;
	n->read_zeroes = read_zeroes;
	f->priv = n;
	f->ops = &null_ops;
	f->fd = -1;
	f->writable = true;
	f->align = 1;
	*out = f;
	return 0;
}
