/*
 * The RBD host back end: a struct bc_file over a Ceph RBD image through librbd. librbd's
 * image handle is thread-safe, so requests go straight through; a read past the end of the
 * image zero-fills, a write past it grows the image first (as qemu's rbd driver does, so qcow2
 * runs on rbd). Snapshots are
 * RBD's own: qemu-img snapshot on a raw image over rbd lists, creates, rolls back and removes
 * them. Queued requests are librbd's own asynchronous ones: their completions are announced on
 * an eventfd (rbd_set_image_notification), the event loop's completion descriptor. Built only
 * where pkg-config finds librbd (BC_HAVE_RBD); elsewhere rbd: names fail.
 */
#include "file-impl.h"
#include "rbd-client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#ifndef BC_HAVE_RBD
int bc_rbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err)
{
	(void)out;
	(void)flags;
	return bc_err_set(err, -ENOTSUP, "Unknown protocol 'rbd' (built without librbd): %s", name);
}
#else
#include <rbd/librbd.h>

#define RBD_CHUNK (64u << 20)     /* one librbd call's share of a large request */

struct rbd_file {
	struct bc_file_common common;     /* first: the host layer's shared part */
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool read_only;                   /* a snapshot (@SNAP) is never written */
	int efd;                          /* librbd announces completions here; -1: none */
	unsigned inflight;                /* queued requests librbd has not completed */
};

static struct rbd_file *rf(struct bc_file *f) { return f->priv; }
static int rbd_drain(struct bc_file *f);

static int64_t rbd_length(struct bc_file *f)
{
	uint64_t size;
	int r = rbd_get_size(rf(f)->image, &size);

	return r < 0 ? r : (int64_t)size;
}

static int rbd_pread_(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	int64_t size = rbd_length(f);
	uint8_t *p = buf;

	if (size < 0)
		return (int)size;
	if (off + len > (uint64_t)size) {   /* past the end reads as zeros */
		size_t keep = off >= (uint64_t)size ? 0 : (size_t)((uint64_t)size - off);
		memset(p + keep, 0, len - keep);
		len = keep;
	}
	while (len) {
		size_t n = len < RBD_CHUNK ? len : RBD_CHUNK;
		ssize_t r = rbd_read(rf(f)->image, off, n, (char *)p);
		if (r < 0)
			return (int)r;
		if ((size_t)r < n)       /* librbd zero-fills holes; a short count is the end */
			memset(p + r, 0, n - (size_t)r);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int rbd_pwrite_(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	int64_t size = rbd_length(f);
	const uint8_t *p = buf;

	if (rf(f)->read_only)
		return -EROFS;
	if (size < 0)
		return (int)size;
	if (off + len > (uint64_t)size) {    /* grows, as qemu's rbd does (qcow2 on rbd) */
		int r = rbd_resize(rf(f)->image, off + len);
		if (r < 0)
			return r;
	}
	while (len) {
		size_t n = len < RBD_CHUNK ? len : RBD_CHUNK;
		ssize_t r = rbd_write(rf(f)->image, off, n, (const char *)p);
		if (r < 0)
			return (int)r;
		if ((size_t)r != n)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int rbd_flush_(struct bc_file *f)
{
	int ret = rbd_drain(f);

	return ret < 0 ? ret : rbd_flush(rf(f)->image);
}

/* Both deallocate: a discarded RBD extent reads back as zeros. */
static int rbd_punch_(struct bc_file *f, uint64_t off, uint64_t len)
{
	int64_t size = rbd_length(f);

	if (rf(f)->read_only)
		return -EROFS;
	if (size < 0)
		return (int)size;
	if (off >= (uint64_t)size)
		return -ENOTSUP;          /* beyond the image: the caller resizes */
	if (len > (uint64_t)size - off)
		len = (uint64_t)size - off;
	while (len) {
		uint64_t n = len < (1u << 30) ? len : (1u << 30);
		int r = rbd_discard(rf(f)->image, off, n);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int rbd_zero_(struct bc_file *f, uint64_t off, uint64_t len)
{
	int64_t size = rbd_length(f);

	if (rf(f)->read_only)
		return -EROFS;
	if (size < 0)
		return (int)size;
	if (off > (uint64_t)size || len > (uint64_t)size - off)
		return -ENOTSUP;
	while (len) {
		uint64_t n = len < (1u << 30) ? len : (1u << 30);
		ssize_t r = rbd_write_zeroes(rf(f)->image, off, n, 0, 0);
		if (r < 0)
			return (int)r;
		off += n;
		len -= n;
	}
	return 0;
}

/* The first run of allocated objects rbd_diff_iterate2 reports from the start of the range. */
struct rbd_run {
	uint64_t start, end;
	bool found;
};

#define RBD_RUN_DONE (-1000000)    /* stops the iteration once the run has ended */

static int rbd_run_cb(uint64_t off, size_t len, int exists, void *arg)
{
	struct rbd_run *run = arg;

	if (!exists)
		return 0;
	if (!run->found) {
		*run = (struct rbd_run){ .start = off, .end = off + len, .found = true };
		return 0;
	}
	if (off != run->end)
		return RBD_RUN_DONE;
	run->end += len;
	return 0;
}

/* Whole objects, from the object map (qemu 7.2 asks the same way): an object never written
 * or discarded is a hole. Without a valid fast-diff map everything is data. */
static int rbd_status_(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	rbd_image_t img = rf(f)->image;
	struct rbd_run run = { 0 };
	uint64_t features = 0, flags = 0;
	int64_t size = rbd_length(f);
	int r;

	*pnum = len;
	*data = true;
	if (size < 0 || off >= (uint64_t)size || len == 0 ||
	    rbd_get_features(img, &features) < 0 || !(features & RBD_FEATURE_FAST_DIFF) ||
	    rbd_get_flags(img, &flags) < 0 || (flags & RBD_FLAG_FAST_DIFF_INVALID))
		return 0;
	if (len > (uint64_t)size - off)
		len = (uint64_t)size - off;
	r = rbd_diff_iterate2(img, NULL, off, len, 1, 1, rbd_run_cb, &run);
	if (r < 0 && r != RBD_RUN_DONE)
		return 0;       /* no map to ask: report data, as qemu does */
	if (!run.found || run.start >= off + len) {
		*data = false;
	} else if (run.start > off) {
		*pnum = run.start - off;
		*data = false;
	} else {
		*pnum = (run.end < off + len ? run.end : off + len) - off;
	}
	return 0;
}

static int rbd_truncate_(struct bc_file *f, uint64_t size)
{
	if (rf(f)->read_only)
		return -EROFS;
	return rbd_resize(rf(f)->image, size);
}

static void rbd_close_(struct bc_file *f)
{
	struct rbd_file *r = rf(f);

	rbd_drain(f);       /* requests never waited for: their completions are dropped */
	rbd_close(r->image);
	if (r->efd >= 0)
		close(r->efd);
	rados_ioctx_destroy(r->io);
	rados_shutdown(r->cluster);
}

/* qemu lists an RBD snapshot with its name as both id and tag, its image size as the VM
 * state size, and zero date, clock and icount. */
static int rbd_snap_list_(struct bc_file *f, struct bc_snapshot **list, int *n, struct bc_err *err)
{
	rbd_snap_info_t *snaps = NULL;
	int max = 16, r;

	for (;;) {
		snaps = calloc((size_t)max, sizeof(*snaps));
		if (!snaps)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		r = rbd_snap_list(rf(f)->image, snaps, &max);
		if (r != -ERANGE)
			break;
		free(snaps);
	}
	if (r < 0) {
		free(snaps);
		return bc_err_set(err, r, "Could not list snapshots: %s", strerror(-r));
	}
	*list = calloc((size_t)(r ? r : 1), sizeof(**list));
	if (!*list) {
		rbd_snap_list_end(snaps);
		free(snaps);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	for (int i = 0; i < r; i++) {
		struct bc_snapshot *s = &(*list)[i];
		snprintf(s->id, sizeof(s->id), "%s", snaps[i].name);
		snprintf(s->name, sizeof(s->name), "%s", snaps[i].name);
		s->vm_state_size = snaps[i].size;
		s->icount = 0;
	}
	*n = r;
	rbd_snap_list_end(snaps);
	free(snaps);
	return 0;
}

static int rbd_snap_create_(struct bc_file *f, const char *name, struct bc_err *err)
{
	int r;

	if (!name[0])        /* RBD snapshots are found by name */
		return bc_err_set(err, -EINVAL, "rbd need a valid snapshot name");
	r = rbd_snap_create(rf(f)->image, name);
	if (r < 0)          /* qemu reports librbd's error on a line of its own first */
		bc_warn("error: failed to create snap: %s", strerror(-r));
	return r < 0 ? bc_err_set(err, r, "failed to create snap: %s", strerror(-r)) : 0;
}

static int rbd_snap_apply_(struct bc_file *f, const char *name, struct bc_err *err)
{
	int r = rbd_snap_rollback(rf(f)->image, name);

	return r < 0 ? bc_err_set(err, r, "%s", strerror(-r)) : 0;
}

static int rbd_snap_delete_(struct bc_file *f, const char *id, const char *name,
			    struct bc_err *err)
{
	const char *which = name && name[0] ? name : id;
	int r;

	if (!which || !which[0])
		return bc_err_set(err, -EINVAL, "rbd need a valid snapshot name");
	if (id && id[0] && name && name[0] && strcmp(id, name))
		return bc_err_set(err, -EINVAL, "ID and name must be the same in rbd");
	r = rbd_snap_remove(rf(f)->image, which);
	return r < 0 ? bc_err_set(err, r, "Failed to remove the snapshot: %s", strerror(-r)) : 0;
}

static uint32_t rbd_object_size(struct bc_file *f)
{
	rbd_image_info_t st;

	return rbd_stat(rf(f)->image, &st, sizeof(st)) < 0 ? 0 : (uint32_t)st.obj_size;
}

/* Takes what librbd completed; with `block`, first waits until something did. */
static int rbd_reap(struct bc_file *f, bool block)
{
	struct rbd_file *r = rf(f);
	rbd_completion_t comps[32];
	uint64_t v;
	int n, got = 0;

	for (;;) {
		/* cleared before looking: a completion after the look sets it again */
		if (read(r->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
		while ((n = rbd_poll_io_events(r->image, comps, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				struct bc_aio *req = rbd_aio_get_arg(comps[i]);
				ssize_t ret = rbd_aio_get_return_value(comps[i]);
				rbd_aio_release(comps[i]);
				req->ret = ret < 0 ? (int)ret : 0;   /* reads: the count */
				if (req->op == BC_AIO_READ && ret >= 0 && (size_t)ret < req->len)
					memset((uint8_t *)req->buf + ret, 0, req->len - (size_t)ret);
				r->inflight--;
				got++;
				bc_file_aio_complete(f, req);
			}
		}
		if (n < 0)
			return n;
		if (got || !block || !r->inflight)
			return got;
		struct pollfd p = { .fd = r->efd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Every queued request completed (their callbacks still to run): before a synchronous one. */
static int rbd_drain(struct bc_file *f)
{
	int ret = 0;

	while (rf(f)->inflight && ret >= 0)
		ret = rbd_reap(f, true);
	return ret < 0 ? ret : 0;
}

static int rbd_aio_start(struct rbd_file *r, struct bc_aio *req, rbd_completion_t c)
{
	switch (req->op) {
	case BC_AIO_READ:
		return rbd_aio_read(r->image, req->off, req->len, req->buf, c);
	case BC_AIO_WRITE:
		return rbd_aio_write(r->image, req->off, req->len, req->buf, c);
	default:
		return rbd_aio_flush(r->image, c);
	}
}

/* Reads and writes inside the image and flushes go to librbd asynchronously; the rest (past
 * the end: zero fill or growth) runs synchronously once the queue drained. */
static int rbd_submit_(struct bc_file *f, struct bc_aio *req)
{
	struct rbd_file *r = rf(f);
	int64_t size = r->efd >= 0 ? rbd_length(f) : -1;
	rbd_completion_t c;
	int ret;

	if (size < 0 || (req->op != BC_AIO_FLUSH && (req->len == 0 || req->len > RBD_CHUNK ||
	    req->off > (uint64_t)size || req->len > (uint64_t)size - req->off)) ||
	    (req->op == BC_AIO_WRITE && r->read_only)) {
		if ((ret = rbd_drain(f)) < 0) {
			req->ret = ret;
			bc_file_aio_complete(f, req);
			return 0;
		}
		return bc_file_aio_submit_sync(f, req);
	}
	ret = rbd_aio_create_completion(req, NULL, &c);
	if (ret == 0 && (ret = rbd_aio_start(r, req, c)) < 0)
		rbd_aio_release(c);
	if (ret < 0) {
		req->ret = ret;
		bc_file_aio_complete(f, req);
		return 0;
	}
	r->inflight++;
	return 0;
}

static int rbd_poll_(struct bc_file *f, int min)
{
	struct rbd_file *r = rf(f);
	int done = bc_file_aio_poll_done(f, 0);

	if (r->efd < 0 || !r->inflight)
		return done;
	if (min == 0) {          /* the event loop's poll: what completed, without waiting */
		int ret = rbd_reap(f, false);
		return ret < 0 ? ret : done + bc_file_aio_poll_done(f, 0);
	}
	while (r->inflight && (min < 0 || done < min)) {
		int ret = rbd_reap(f, true);
		if (ret < 0)
			return ret;
		done += bc_file_aio_poll_done(f, 0);
	}
	return done;
}

static int rbd_event_fd(struct bc_file *f)
{
	return rf(f)->efd;
}

static const struct bc_file_ops rbd_ops = {
	.name = "rbd",
	.pread = rbd_pread_,
	.pwrite = rbd_pwrite_,
	.flush = rbd_flush_,
	.punch = rbd_punch_,
	.zero = rbd_zero_,
	.truncate = rbd_truncate_,
	.length = rbd_length,
	.status = rbd_status_,
	.submit = rbd_submit_,
	.poll = rbd_poll_,
	.event_fd = rbd_event_fd,
	.close = rbd_close_,
	.snap_list = rbd_snap_list_,
	.snap_create = rbd_snap_create_,
	.snap_apply = rbd_snap_apply_,
	.snap_delete = rbd_snap_delete_,
	.cluster_size = rbd_object_size,
};

/* Cluster handle and pool context for a target, as qemu's rbd driver makes them. */
static int rbd_connect(struct rbd_file *r, const struct rbd_target *t, struct bc_err *err)
{
	int ret = bc_rbd_lib_load(err);
	if (ret < 0)
		return ret;
	ret = rados_create(&r->cluster, t->user[0] ? t->user : NULL);

	if (ret < 0)
		return bc_err_set(err, ret, "error initializing: %s", strerror(-ret));
	ret = rados_conf_read_file(r->cluster, t->conf[0] ? t->conf : NULL);
	if (ret < 0 && t->conf[0]) {
		bc_err_set(err, ret, "error reading conf file %s: %s", t->conf, strerror(-ret));
		goto out_shutdown;
	}
	for (int i = 0; i < t->nopts; i++) {
		ret = rados_conf_set(r->cluster, t->key[i], t->val[i]);
		if (ret < 0) {
			bc_err_set(err, ret, "invalid conf option %s: %s", t->key[i], strerror(-ret));
			goto out_shutdown;
		}
	}
	ret = rados_connect(r->cluster);
	if (ret < 0) {
		bc_err_set(err, ret, "error connecting: %s", strerror(-ret));
		goto out_shutdown;
	}
	ret = rados_ioctx_create(r->cluster, t->pool, &r->io);
	if (ret < 0) {
		bc_err_set(err, ret, "error opening pool %s: %s", t->pool, strerror(-ret));
		goto out_shutdown;
	}
	rados_ioctx_set_namespace(r->io, t->nspace);
	return 0;
out_shutdown:
	rados_shutdown(r->cluster);
	return ret;
}

int bc_rbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err)
{
	struct rbd_target *t = malloc(sizeof(*t));
	struct bc_file *f = calloc(1, sizeof(*f));
	struct rbd_file *r = calloc(1, sizeof(*r));
	int ret = t && f && r ? rbd_parse_name(name, t, err) : bc_err_set(err, -ENOMEM, "Out of memory");

	if (ret < 0)
		goto out_free;
	if (!(f->path = strdup(name))) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out_free;
	}
	ret = rbd_connect(r, t, err);
	if (ret < 0)
		goto out_free;
	if (flags & BC_FILE_CREATE) {
		int order = 0;
		ret = rbd_create(r->io, t->image, 0, &order);
		if (ret < 0) {
			bc_err_set(err, ret, "error rbd create: %s", strerror(-ret));
			goto out_disconnect;
		}
	}
	r->read_only = t->snap[0] || !(flags & BC_FILE_RDWR);
	if (r->read_only)
		ret = rbd_open_read_only(r->io, t->image, &r->image, t->snap[0] ? t->snap : NULL);
	else
		ret = rbd_open(r->io, t->image, &r->image, NULL);
	if (ret < 0) {
		bc_err_set(err, ret, "error reading header from %s: %s", t->image, strerror(-ret));
		goto out_disconnect;
	}
	if (t->snap[0] && (flags & BC_FILE_RDWR)) {
		rbd_close(r->image);
		ret = bc_err_set(err, -EROFS, "rbd snapshots are read-only");
		goto out_disconnect;
	}
	/* without the eventfd, queued requests run synchronously */
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd >= 0 && rbd_set_image_notification(r->image, r->efd, EVENT_TYPE_EVENTFD) < 0) {
		close(r->efd);
		r->efd = -1;
	}
	f->ops = &rbd_ops;
	f->fd = -1;
	f->priv = r;
	f->writable = flags & BC_FILE_RDWR;
	f->unsafe = flags & BC_FILE_UNSAFE;
	f->align = 1;
	free(t);
	*out = f;
	return 0;
out_disconnect:
	rados_ioctx_destroy(r->io);
	rados_shutdown(r->cluster);
out_free:
	if (f)
		free(f->path);
	free(f);
	free(r);
	free(t);
	return ret;
}
#endif
