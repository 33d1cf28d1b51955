/* The host layer's front door: opening files with a backend, and defaults every backend shares. */
#include "file-impl.h"
#include "lock.h"
#include "nbd-client.h"
#include "rbd-client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void *bc_alloc_aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1) != 0)
		return NULL;
	return p;
}

static int file_open_fd(const char *path, unsigned flags, struct bc_err *err)
{
	int oflags = O_CLOEXEC | ((flags & BC_FILE_RDWR) ? O_RDWR : O_RDONLY);
	struct stat st;

	if (flags & BC_FILE_CREATE)
		oflags |= O_CREAT;      /* truncated only once locked: see file_create_locked */
	if (flags & BC_FILE_EXCL)
		oflags |= O_EXCL;
	if (flags & BC_FILE_DIRECT)
		oflags |= O_DIRECT;
	int fd = open(path, oflags, 0644);
	if (fd < 0) {
		int e = errno;
		return bc_err_set(err, -e, "Could not %s '%s': %s",
				  (flags & BC_FILE_CREATE) ? "create" : "open", path, strerror(e));
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return bc_err_set(err, -EISDIR, "'file' driver requires '%s' to be a regular file", path);
	}
	return fd;
}

/* Creating over an existing image must not destroy it while another process (QEMU or Strata)
 * has it open: the new file is locked for writing and resizing, as QEMU's create does, and
 * emptied only then. */
static int file_create_locked(struct bc_file *f, struct bc_err *err)
{
	int ret = bc_file_lock(f, f->path, BC_PERM_WRITE | BC_PERM_RESIZE,
			       BC_PERM_ALL & ~BC_PERM_RESIZE, BC_LOCKING_AUTO, err);

	if (ret == 0 && ftruncate(f->fd, 0) < 0)
		ret = bc_err_set(err, -errno, "Could not create '%s': %s", f->path, strerror(errno));
	return ret;
}

int bc_file_open(struct bc_file **out, const char *path, unsigned flags, enum bc_io_backend io,
		 struct bc_err *err)
{
	struct bc_file *f;
	int fd;

	if (bc_nbd_is_name(path))   /* a protocol prefix: the bytes live on an NBD server */
		return bc_nbd_file_open(out, path, flags, err);
	if (bc_rbd_is_name(path))   /* ... or in a Ceph RBD image */
		return bc_rbd_file_open(out, path, flags, err);
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path)) || !(f->priv = calloc(1, sizeof(struct bc_file_common)))) {
		if (f) {
			free(f->path);
			free(f);
		}
		return bc_err_set(err, -ENOMEM, "Out of memory opening '%s'", path);
	}
	fd = file_open_fd(path, flags, err);
	if (fd < 0) {
		free(f->priv);
		free(f->path);
		free(f);
		return fd;
	}
	f->fd = fd;
	f->ops = &bc_file_posix_ops;
	f->writable = flags & BC_FILE_RDWR;
	f->direct = flags & BC_FILE_DIRECT;
	f->unsafe = flags & BC_FILE_UNSAFE;
	f->align = f->direct ? 4096 : 1;
	if (flags & BC_FILE_CREATE) {
		int ret = file_create_locked(f, err);
		if (ret < 0) {
			bc_file_close(f);
			return ret;
		}
	}
	/* io_uring only pays off for queued work; AUTO tries it and falls back silently. */
	if (io == BC_IO_URING || io == BC_IO_AUTO) {
		int ret = bc_uring_attach(f);
		if (ret < 0 && io == BC_IO_URING) {
			bc_file_close(f);
			return bc_err_set(err, ret, "Could not set up io_uring for '%s': %s", path,
					  strerror(-ret));
		}
	}
	*out = f;
	return 0;
}

void bc_file_close(struct bc_file *f)
{
	if (!f)
		return;
	if (f->ops->poll)
		f->ops->poll(f, -1);
	f->ops->close(f);
	free(f->priv);
	free(f->path);
	free(f);
}

int bc_file_flush(struct bc_file *f)
{
	if (f->unsafe || !f->writable)
		return 0;
	return f->ops->flush ? f->ops->flush(f) : 0;
}

int bc_file_truncate(struct bc_file *f, uint64_t size)
{
	return f->ops->truncate ? f->ops->truncate(f, size) : -ENOTSUP;
}

int bc_file_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	return f->ops->punch ? f->ops->punch(f, off, len) : -ENOTSUP;
}

int bc_file_allocate(struct bc_file *f, uint64_t off, uint64_t len)
{
	return f->ops->allocate ? f->ops->allocate(f, off, len) : -ENOTSUP;
}

int64_t bc_file_allocated(struct bc_file *f)
{
	return f->ops->allocated ? f->ops->allocated(f) : -ENOTSUP;
}

/* One aligned megabyte of zeros, never written: the source of every zero-filling write. */
static const uint8_t bc_zeros[BC_ZERO_CHUNK] __attribute__((aligned(4096)));

const void *bc_zero_chunk(void)
{
	return bc_zeros;
}

/* The fallback when the host cannot zero a range. */
static int file_write_zero_buffer(struct bc_file *f, uint64_t off, uint64_t len)
{
	int ret = 0;

	for (size_t n; len && ret == 0; off += n, len -= n) {
		n = len < BC_ZERO_CHUNK ? (size_t)len : BC_ZERO_CHUNK;
		ret = f->ops->pwrite(f, bc_zeros, n, off);
	}
	return ret;
}

int bc_file_zero(struct bc_file *f, uint64_t off, uint64_t len, bool may_unmap)
{
	int ret = -ENOTSUP;
	int64_t flen = f->ops->length(f);

	if (len == 0)
		return 0;
	/* Ranges wholly past EOF already read as zeros, but grow the file so length is right. */
	if (flen >= 0 && off >= (uint64_t)flen && may_unmap)
		return f->ops->truncate ? f->ops->truncate(f, off + len) : -ENOTSUP;
	if (may_unmap && f->ops->punch)
		ret = f->ops->punch(f, off, len);
	if (ret == -ENOTSUP && f->ops->zero)
		ret = f->ops->zero(f, off, len);
	if (ret == -ENOTSUP)
		ret = file_write_zero_buffer(f, off, len);
	if (ret == 0 && flen >= 0 && off + len > (uint64_t)flen && f->ops->truncate)
		ret = f->ops->truncate(f, off + len);   /* punch keeps the size */
	return ret;
}

int bc_file_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	if (!f->ops->status) {
		*pnum = len;
		*data = true;
		return 0;
	}
	return f->ops->status(f, off, len, pnum, data);
}

int bc_file_submit(struct bc_file *f, struct bc_aio *req)
{
	return f->ops->submit(f, req);
}

int bc_file_poll(struct bc_file *f, int min)
{
	return f->ops->poll(f, min);
}

void bc_file_aio_complete(struct bc_file *f, struct bc_aio *req)
{
	struct bc_file_common *c = f->priv;

	req->next = NULL;
	if (c->done_tail)
		c->done_tail->next = req;
	else
		c->done_head = req;
	c->done_tail = req;
}

int bc_file_aio_submit_sync(struct bc_file *f, struct bc_aio *req)
{
	switch (req->op) {
	case BC_AIO_READ:
		req->ret = f->ops->pread(f, req->buf, req->len, req->off);
		break;
	case BC_AIO_WRITE:
		req->ret = f->ops->pwrite(f, req->buf, req->len, req->off);
		break;
	case BC_AIO_FLUSH:
		req->ret = bc_file_flush(f);
		break;
	}
	bc_file_aio_complete(f, req);
	return 0;
}

int bc_file_aio_poll_done(struct bc_file *f, int min)
{
	struct bc_file_common *c = f->priv;
	int n = 0;

	(void)min;      /* everything queued here is already complete */
	while (c->done_head) {
		struct bc_aio *req = c->done_head;
		c->done_head = req->next;
		if (!c->done_head)
			c->done_tail = NULL;
		n++;
		if (req->cb)
			req->cb(req);
	}
	return n;
}
