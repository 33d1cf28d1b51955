/* io_uring host backend: queued requests go to the kernel together; synchronous calls stay on
 * pread/pwrite, which is cheaper than a submit-and-wait round trip for one request. */
#include "file-impl.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#define URING_DEPTH 64

struct uring_file {
	struct bc_file_common common;   /* must be first: shared completion list */
	struct io_uring ring;
	unsigned inflight;
};

/* A short transfer is finished synchronously (pread zero-fills past EOF): rare, and simpler
 * than requeueing. */
static int uring_reap_one(struct bc_file *f, struct uring_file *u, struct io_uring_cqe *cqe)
{
	struct bc_aio *req = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&u->ring, cqe);
	u->inflight--;
	if (res >= 0 && req->op != BC_AIO_FLUSH && (size_t)res < req->len) {
		uint8_t *p = (uint8_t *)req->buf + res;
		uint64_t off = req->off + (uint64_t)res;
		size_t len = req->len - (size_t)res;
		req->ret = req->op == BC_AIO_READ ? bc_posix_pread(f, p, len, off)
						  : bc_posix_pwrite(f, p, len, off);
	} else {
		req->ret = res < 0 ? res : 0;
	}
	if (req->cb)
		req->cb(req);
	return 1;
}

static int uring_queue(struct uring_file *u, struct bc_file *f, struct bc_aio *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		int ret = io_uring_submit(&u->ring);
		if (ret < 0)
			return ret;
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (req->op) {
	case BC_AIO_READ:
		io_uring_prep_read(sqe, f->fd, req->buf, (unsigned)req->len, req->off);
		break;
	case BC_AIO_WRITE:
		io_uring_prep_write(sqe, f->fd, req->buf, (unsigned)req->len, req->off);
		break;
	case BC_AIO_FLUSH:
		io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	u->inflight++;
	return 0;
}

static int uring_poll(struct bc_file *f, int min)
{
	struct uring_file *u = f->priv;
	int n = bc_file_aio_poll_done(f, 0);

	if (u->inflight)
		io_uring_submit(&u->ring);
	while (u->inflight) {
		struct io_uring_cqe *cqe;
		/* past min, only what has completed already (an event loop's non-blocking poll) */
		bool wait = min < 0 || n < min;
		int ret = wait ? io_uring_wait_cqe(&u->ring, &cqe) : io_uring_peek_cqe(&u->ring, &cqe);
		if (!wait && ret == -EAGAIN)
			break;
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		n += uring_reap_one(f, u, cqe);
	}
	return n;
}

static int uring_submit(struct bc_file *f, struct bc_aio *req)
{
	struct uring_file *u = f->priv;

	if (req->op == BC_AIO_FLUSH && (f->unsafe || !f->writable)) {
		req->ret = 0;
		bc_file_aio_complete(f, req);
		return 0;
	}
	/* Requests larger than one SQE can carry go the synchronous way. */
	if (req->len > (1u << 30)) {
		req->ret = req->op == BC_AIO_READ ? bc_posix_pread(f, req->buf, req->len, req->off)
						  : bc_posix_pwrite(f, req->buf, req->len, req->off);
		bc_file_aio_complete(f, req);
		return 0;
	}
	if (u->inflight >= URING_DEPTH) {
		int ret = uring_poll(f, 1);
		if (ret < 0)
			return ret;
	}
	return uring_queue(u, f, req);
}

static int uring_event_fd(struct bc_file *f)
{
	return ((struct uring_file *)f->priv)->ring.ring_fd;
}

static void uring_close(struct bc_file *f)
{
	struct uring_file *u = f->priv;

	io_uring_queue_exit(&u->ring);
	bc_posix_close(f);
}

static const struct bc_file_ops uring_ops = {
	.name = "io_uring",
	.pread = bc_posix_pread,
	.pwrite = bc_posix_pwrite,
	.flush = bc_posix_flush,
	.punch = bc_posix_punch,
	.zero = bc_posix_zero,
	.allocate = bc_posix_allocate,
	.truncate = bc_posix_truncate,
	.length = bc_posix_length,
	.allocated = bc_posix_allocated,
	.status = bc_posix_status,
	.submit = uring_submit,
	.poll = uring_poll,
	.close = uring_close,
	.event_fd = uring_event_fd,
};

int bc_uring_attach(struct bc_file *f)
{
	struct uring_file *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	int ret = io_uring_queue_init(URING_DEPTH, &u->ring, 0);
	if (ret < 0) {
		free(u);
		return ret;
	}
	free(f->priv);
	f->priv = u;
	f->ops = &uring_ops;
	return 0;
}
