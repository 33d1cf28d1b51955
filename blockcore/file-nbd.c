/*
 * The NBD host back end: a struct bc_file over an NBD connection. Reads and writes are split
 * at the server's maximum block size; holes come from base:allocation block status. Zeroing
 * uses NBD_CMD_WRITE_ZEROES (with NO_HOLE when the range must stay allocated).
 */
#include "file-impl.h"
#include "nbd-client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NBD_QUEUE 32      /* queued requests in flight on the connection at most */

struct nbd_file {
	struct bc_file_common common;     /* first: the host layer's shared part */
	struct nbd_client c;
	pthread_mutex_t lock;
	struct nbd_pending pend[NBD_QUEUE];
	struct bc_aio *pend_req[NBD_QUEUE];
	unsigned inflight;
	bool inflight_writes;             /* what is in flight: all reads or all writes */
	uint8_t out[NBD_QUEUE * NBD_REQUEST_SIZE];   /* read requests not sent yet */
	size_t out_len;
	struct bc_nbd_sock sock;
};

static struct nbd_file *nf(struct bc_file *f) { return f->priv; }

/* The stream is out of step or gone: no further request can be trusted; whatever was in
 * flight fails. Called with the lock held. */
static void broken(struct bc_file *f, struct nbd_file *n)
{
	close(n->c.fd);
	n->c.fd = -1;
	n->out_len = 0;
	for (unsigned i = 0; i < NBD_QUEUE; i++) {
		if (!n->pend[i].used)
			continue;
		n->pend[i].used = false;
		n->pend_req[i]->ret = -EIO;
		bc_file_aio_complete(f, n->pend_req[i]);
	}
	n->inflight = 0;
}

/* Sends the queued read requests in one go. */
static int push(struct nbd_file *n)
{
	int ret = 0;

	if (n->out_len && n->c.fd >= 0)
		ret = n->c.io.send(n->c.io.opaque, n->out, n->out_len);
	n->out_len = 0;
	return ret;
}

/* Reads replies until `want` more queued requests completed (all: want >= inflight). Completed
 * requests go to the done list; their callbacks run later, outside the lock. */
static int reap(struct bc_file *f, struct nbd_file *n, unsigned want)
{
	unsigned got = 0;

	if (want && push(n) < 0) {
		broken(f, n);
		return -EIO;
	}
	/* past `want`, replies already received are taken too: their requests can then be
	 * resubmitted together */
	while (n->inflight && (got < want || (want && bc_nbd_sock_pending(&n->sock)))) {
		struct nbd_pending *p;
		int ret = nbd_client_recv_one(&n->c, n->pend, NBD_QUEUE, &p);
		if (ret < 0) {
			broken(f, n);
			return -EIO;
		}
		if (!p)
			continue;
		struct bc_aio *req = n->pend_req[p - n->pend];
		req->ret = p->err ? -p->err : 0;
		p->used = false;
		n->inflight--;
		got++;
		bc_file_aio_complete(f, req);
	}
	return 0;
}

static int request(struct bc_file *f, uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
		   void *buf, uint32_t *pnum, uint32_t *state)
{
	struct nbd_file *n = nf(f);
	int ret = 0;

	pthread_mutex_lock(&n->lock);
	if (n->inflight)
		ret = reap(f, n, NBD_QUEUE);    /* one request at a time from here */
	if (ret == 0)
		ret = n->c.fd < 0 ? -ESHUTDOWN : nbd_client_request(&n->c, type, flags, off, len,
								     buf, pnum, state);
	if (ret == -EPROTO || ret == -ECONNRESET || ret == -EPIPE) {
		broken(f, n);
		ret = -EIO;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static int nbd_rw(struct bc_file *f, uint16_t type, uint8_t *buf, size_t len, uint64_t off)
{
	struct nbd_file *n = nf(f);
	uint64_t size = n->c.size;
	int ret = 0;

	if (type == NBD_CMD_WRITE && off + len > size)
		return -ENOSPC;
	if (type == NBD_CMD_READ && off + len > size) {
		/* past the end reads as zeros (the host layer's contract) */
		size_t keep = off >= size ? 0 : (size_t)(size - off);
		memset(buf + keep, 0, len - keep);
		len = keep;
	}
	while (len && ret == 0) {
		uint32_t chunk = len < n->c.max_block ? (uint32_t)len : n->c.max_block;
		ret = request(f, type, 0, off, chunk, buf, NULL, NULL);
		buf += chunk;
		off += chunk;
		len -= chunk;
	}
	return ret;
}

static int nbd_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	return nbd_rw(f, NBD_CMD_READ, buf, len, off);
}

static int nbd_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	if (nf(f)->c.tflags & NBD_FLAG_READ_ONLY)
		return -EACCES;
	return nbd_rw(f, NBD_CMD_WRITE, (uint8_t *)buf, len, off);
}

static int nbd_flush(struct bc_file *f)
{
	if (!(nf(f)->c.tflags & NBD_FLAG_SEND_FLUSH))
		return 0;
	return request(f, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL, NULL);
}

static int nbd_zeroes(struct bc_file *f, uint64_t off, uint64_t len, uint16_t flags)
{
	struct nbd_file *n = nf(f);
	int ret = 0;

	if (!(n->c.tflags & NBD_FLAG_SEND_WRITE_ZEROES) || (n->c.tflags & NBD_FLAG_READ_ONLY))
		return -ENOTSUP;
	if (off > n->c.size || len > n->c.size - off)
		return -ENOTSUP;      /* beyond the export: the caller falls back (and fails) */
	while (len && ret == 0) {
		uint32_t chunk = len < (1u << 30) ? (uint32_t)len : (1u << 30);
		ret = request(f, NBD_CMD_WRITE_ZEROES, flags, off, chunk, NULL, NULL, NULL);
		off += chunk;
		len -= chunk;
	}
	return ret;
}

static int nbd_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	return nbd_zeroes(f, off, len, 0);
}

static int nbd_zero(struct bc_file *f, uint64_t off, uint64_t len)
{
	return nbd_zeroes(f, off, len, NBD_CMD_FLAG_NO_HOLE);
}

static int64_t nbd_length(struct bc_file *f)
{
	return (int64_t)nf(f)->c.size;
}

static int nbd_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	struct nbd_file *n = nf(f);
	uint32_t got = 0, state = 0;
	int ret;

	*pnum = len;
	*data = true;
	if (!n->c.has_base || off >= n->c.size || len == 0)
		return 0;
	if (len > n->c.size - off)
		len = n->c.size - off;
	if (len > UINT32_MAX - 4095)
		len = UINT32_MAX - 4095;
	ret = request(f, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, off, (uint32_t)len, NULL, &got,
		      &state);
	if (ret < 0)
		return ret;
	*pnum = got;
	*data = !((state & NBD_STATE_HOLE) && (state & NBD_STATE_ZERO));
	return 0;
}

/* Queued reads and writes that fit one NBD request go out at once and stay in flight; their
 * replies are matched by handle in nbd_poll. Reads and writes are not mixed in flight: with
 * both, each side could block sending while its peer blocks sending too. */
static int nbd_submit(struct bc_file *f, struct bc_aio *req)
{
	struct nbd_file *n = nf(f);
	bool wr = req->op == BC_AIO_WRITE;
	int ret = 0;

	if (req->op == BC_AIO_FLUSH || req->len == 0 || req->len > n->c.max_block ||
	    req->off > n->c.size || req->len > n->c.size - req->off ||
	    (wr && (n->c.tflags & NBD_FLAG_READ_ONLY)))
		return bc_file_aio_submit_sync(f, req);     /* drains what is in flight first */
	pthread_mutex_lock(&n->lock);
	if (n->inflight && (n->inflight == NBD_QUEUE || n->inflight_writes != wr))
		ret = reap(f, n, n->inflight_writes != wr ? NBD_QUEUE : 1);
	if (ret == 0 && n->c.fd < 0)
		ret = -ESHUTDOWN;
	if (ret == 0) {
		unsigned i = 0;
		while (n->pend[i].used)
			i++;
		n->pend_req[i] = req;
		if (wr) {
			ret = nbd_client_send(&n->c, &n->pend[i], NBD_CMD_WRITE, 0, req->off,
					      (uint32_t)req->len, req->buf);
		} else {
			/* read requests gather and go out together when replies are awaited */
			nbd_client_prepare(&n->c, &n->pend[i], NBD_CMD_READ, 0, req->off,
					   (uint32_t)req->len, req->buf, n->out + n->out_len);
			n->out_len += NBD_REQUEST_SIZE;
		}
		n->inflight++;
		n->inflight_writes = wr;
		if (ret < 0) {
			broken(f, n);     /* fails this request too */
			ret = 0;
		}
	} else {
		req->ret = ret;
		bc_file_aio_complete(f, req);
		ret = 0;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

/* Whether a reply has begun to arrive (taking it may still wait for the rest of it). */
static bool reply_ready(struct nbd_file *n)
{
	struct pollfd p = { .fd = n->c.fd, .events = POLLIN };

	return n->c.fd >= 0 && (bc_nbd_sock_pending(&n->sock) || poll(&p, 1, 0) > 0);
}

static int nbd_poll(struct bc_file *f, int min)
{
	struct nbd_file *n = nf(f);
	int done = bc_file_aio_poll_done(f, 0);

	pthread_mutex_lock(&n->lock);
	if (push(n) < 0)
		broken(f, n);
	reap(f, n, min < 0 ? NBD_QUEUE : done >= min ? 0 : (unsigned)(min - done));
	/* an event loop's poll (min 0, after the socket polled readable): the replies there */
	while (min == 0 && n->inflight && reply_ready(n))
		reap(f, n, 1);
	pthread_mutex_unlock(&n->lock);
	return done + bc_file_aio_poll_done(f, 0);
}

static int nbd_truncate(struct bc_file *f, uint64_t size)
{
	return size == nf(f)->c.size ? 0 : -ENOTSUP;
}

static void nbd_close(struct bc_file *f)
{
	struct nbd_file *n = nf(f);

	if (n->inflight)
		reap(f, n, NBD_QUEUE);    /* requests never waited for: their replies are dropped */
	if (n->c.fd >= 0) {
		uint8_t h[NBD_REQUEST_SIZE];
		struct nbd_request r = { .type = NBD_CMD_DISC, .handle = n->c.next_handle };
		nbd_encode_request(h, &r);
		n->c.io.send(n->c.io.opaque, h, sizeof(h));
		close(n->c.fd);
	}
	pthread_mutex_destroy(&n->lock);
}

/* Replies arriving make the socket readable: the event loop's cue to poll. */
static int nbd_event_fd(struct bc_file *f)
{
	return nf(f)->c.fd;
}

static const struct bc_file_ops nbd_ops = {
	.name = "nbd",
	.pread = nbd_pread,
	.pwrite = nbd_pwrite,
	.flush = nbd_flush,
	.punch = nbd_punch,
	.zero = nbd_zero,
	.truncate = nbd_truncate,
	.length = nbd_length,
	.status = nbd_status,
	.submit = nbd_submit,
	.poll = nbd_poll,
	.close = nbd_close,
	.event_fd = nbd_event_fd,
};

static int connect_target(const struct nbd_target *t, struct bc_err *err)
{
	int fd = -1, e = 0;

	if (t->is_unix) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, t->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			e = t->path[0] ? errno : ECONNREFUSED;
			if (fd >= 0)
				close(fd);
			return bc_err_set(err, -e, "Failed to connect to '%s': %s", t->path,
					  strerror(e));
		}
		return fd;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int g = getaddrinfo(t->host, t->port, &hints, &res);
	if (g)
		return bc_err_set(err, -EINVAL, "address resolution failed for %s:%s: %s", t->host,
				  t->port, gai_strerror(g));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return bc_err_set(err, -e, "Failed to connect to '%s:%s': %s", t->host, t->port,
				  strerror(e));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int bc_nbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err)
{
	char uri[NBD_MAX_STRING + 256];
	struct nbd_target t;
	struct bc_file *f;
	struct nbd_file *n;
	int ret = nbd_parse_name(name, &t, err);

	if (ret < 0)
		return ret;
	if (nbd_target_uri(&t, uri, sizeof(uri)) < 0)
		return bc_err_set(err, -ENAMETOOLONG, "NBD name too long");
	f = calloc(1, sizeof(*f));
	n = calloc(1, sizeof(*n));
	if (!f || !n || !(f->path = strdup(uri))) {
		free(f);
		free(n);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	n->c.fd = connect_target(&t, err);
	if (n->c.fd < 0) {
		ret = n->c.fd;
		goto fail;
	}
	bc_nbd_io_sock(&n->c.io, &n->sock, n->c.fd);
	ret = nbd_client_handshake(&n->c, t.name, err);
	if (ret < 0) {
		close(n->c.fd);
		goto fail;
	}
	if ((flags & BC_FILE_RDWR) && (n->c.tflags & NBD_FLAG_READ_ONLY)) {
		close(n->c.fd);
		ret = bc_err_set(err, -EACCES, "Could not open '%s': Permission denied", name);
		goto fail;
	}
	pthread_mutex_init(&n->lock, NULL);
	f->ops = &nbd_ops;
	f->fd = -1;
	f->priv = n;
	f->writable = flags & BC_FILE_RDWR;
	f->unsafe = flags & BC_FILE_UNSAFE;
	f->align = 1;
	*out = f;
	return 0;
fail:
	free(f->path);
	free(f);
	free(n);
	return ret;
}
