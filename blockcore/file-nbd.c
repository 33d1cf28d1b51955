/*
 * The NBD host back end: a struct bc_file over an NBD connection. Reads and writes are split
 * at the server's maximum block size; holes come from base:allocation block status. Zeroing
 * uses NBD_CMD_WRITE_ZEROES (with NO_HOLE when the range must stay allocated). With a server
 * that advertises multi-conn, queued reads spread over extra connections (docs/nbd.md).
 */
#include "file-impl.h"
#include "nbd-client.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NBD_CONNS_MAX 8        /* connections of one multi-conn export at most */
#define NBD_EXTRA_TIMEOUT_MS 1000   /* an extra connection's handshake, at most */
#define NBD_CONNS_DEFAULT 2     /* with multi-conn and no multi-conn=N in the name */
#define ALL (~0u)                /* reap: every request in flight */

struct nbd_file {
	struct bc_file_common common;     /* first: the host layer's shared part */
	pthread_mutex_t lock;
	/* conn[0] carries every synchronous request and the queued writes; queued reads spread
	 * over all (NBD_FLAG_CAN_MULTI_CONN: the server's cache is shared by its connections) */
	struct nbd_conn *conn[NBD_CONNS_MAX];
	unsigned nconn, want;             /* open; wanted once queued reads come */
	unsigned inflight;                /* over every connection */
	bool inflight_writes;             /* what is in flight: all reads or all writes */
	int epfd;                         /* with want > 1: every socket, the event descriptor */
	unsigned turn;                    /* where the search for a ready connection starts */
	struct nbd_target t;
};

static struct nbd_file *nf(struct bc_file *f) { return f->priv; }
static struct nbd_client *c0(struct nbd_file *n) { return &n->conn[0]->c; }

/* A stream is out of step or gone: no further request can be trusted on any connection;
 * whatever was in flight fails. Called with the lock held. */
static void broken(struct bc_file *f, struct nbd_file *n)
{
	for (unsigned j = 0; j < n->nconn; j++) {
		struct nbd_conn *k = n->conn[j];
		if (k->c.fd >= 0)
			close(k->c.fd);
		k->c.fd = -1;
		k->out_len = 0;
		for (unsigned i = 0; i < NBD_QUEUE; i++) {
			if (!k->pend[i].used)
				continue;
			k->pend[i].used = false;
			k->pend_req[i]->ret = -EIO;
			bc_file_aio_complete(f, k->pend_req[i]);
		}
		k->inflight = 0;
	}
	n->inflight = 0;
}

/* Sends every connection's gathered read requests, one send each. */
static int push(struct bc_file *f, struct nbd_file *n)
{
	for (unsigned j = 0; j < n->nconn; j++) {
		struct nbd_conn *k = n->conn[j];
		int ret = 0;
		if (k->out_len && k->c.fd >= 0)
			ret = k->c.io.send(k->c.io.opaque, k->out, k->out_len);
		k->out_len = 0;
		if (ret < 0) {
			broken(f, n);
			return -EIO;
		}
	}
	return 0;
}

/* One reply (or chunk) from k: 1 when it completed a request, 0 if not, -EIO when broken. */
static int take_one(struct bc_file *f, struct nbd_file *n, struct nbd_conn *k)
{
	struct nbd_pending *p;

	if (nbd_client_recv_one(&k->c, k->pend, NBD_QUEUE, &p) < 0) {
		broken(f, n);
		return -EIO;
	}
	if (!p)
		return 0;
	struct bc_aio *req = k->pend_req[p - k->pend];
	req->ret = p->err ? -p->err : 0;
	p->used = false;
	k->inflight--;
	n->inflight--;
	bc_file_aio_complete(f, req);
	return 1;
}

/* The connection to read from next: one whose reply has begun to arrive, or the only one
 * with requests in flight (its recv then waits), else the first that poll(2) finds
 * readable (timeout_ms -1: waits). NULL: none ready in time. */
static struct nbd_conn *next_ready(struct nbd_file *n, int timeout_ms)
{
	struct pollfd pf[NBD_CONNS_MAX];
	struct nbd_conn *busy[NBD_CONNS_MAX];
	unsigned nb = 0, t = n->turn++;

	for (unsigned i = 0; i < n->nconn; i++) {
		struct nbd_conn *k = n->conn[(t + i) % n->nconn];
		if (!k->inflight || k->c.fd < 0)
			continue;
		if (bc_nbd_sock_pending(&k->sock))
			return k;
		pf[nb] = (struct pollfd){ .fd = k->c.fd, .events = POLLIN };
		busy[nb++] = k;
	}
	if (nb == 1 && timeout_ms < 0)
		return busy[0];
	if (nb == 0)
		return NULL;
	int r;
	while ((r = poll(pf, nb, timeout_ms)) < 0 && errno == EINTR)
		;
	for (unsigned i = 0; r > 0 && i < nb; i++)
		if (pf[i].revents)
			return busy[i];
	return NULL;
}

/* Reads replies until `want` more queued requests completed (ALL: every one in flight).
 * Completed requests go to the done list; their callbacks run later, outside the lock. */
static int reap(struct bc_file *f, struct nbd_file *n, unsigned want)
{
	unsigned got = 0;

	if (want && push(f, n) < 0)
		return -EIO;
	while (n->inflight && got < want) {
		struct nbd_conn *k = next_ready(n, -1);
		int ret = k ? take_one(f, n, k) : -EIO;
		if (ret < 0) {
			if (!k)
				broken(f, n);
			return -EIO;
		}
		got += (unsigned)ret;
	}
	/* past `want`, replies already received are taken too: their requests can then be
	 * resubmitted together */
	for (unsigned j = 0; want && j < n->nconn; j++) {
		struct nbd_conn *k = n->conn[j];
		while (k->inflight && k->c.fd >= 0 && bc_nbd_sock_pending(&k->sock))
			if (take_one(f, n, k) < 0)
				return -EIO;
	}
	return 0;
}

static int request(struct bc_file *f, uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
		   void *buf, uint32_t *pnum, uint32_t *state)
{
	struct nbd_file *n = nf(f);
	struct nbd_client *c = c0(n);
	int ret = 0;

	pthread_mutex_lock(&n->lock);
	if (n->inflight)
		ret = reap(f, n, ALL);    /* one request at a time from here */
	if (type == NBD_CMD_READ)
		flags |= nbd_client_read_flags(c, len);
	if (ret == 0)
		ret = c->fd < 0 ? -ESHUTDOWN : nbd_client_request(c, type, flags, off, len, buf,
								   pnum, state);
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
	uint64_t size = c0(n)->size;
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
		uint32_t chunk = len < c0(n)->max_block ? (uint32_t)len : c0(n)->max_block;
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
	if (c0(nf(f))->tflags & NBD_FLAG_READ_ONLY)
		return -EACCES;
	return nbd_rw(f, NBD_CMD_WRITE, (uint8_t *)buf, len, off);
}

static int nbd_flush(struct bc_file *f)
{
	if (!(c0(nf(f))->tflags & NBD_FLAG_SEND_FLUSH))
		return 0;
	return request(f, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL, NULL);
}

static int nbd_zeroes(struct bc_file *f, uint64_t off, uint64_t len, uint16_t flags)
{
	struct nbd_file *n = nf(f);
	int ret = 0;

	if (!(c0(n)->tflags & NBD_FLAG_SEND_WRITE_ZEROES) || (c0(n)->tflags & NBD_FLAG_READ_ONLY))
		return -ENOTSUP;
	if (off > c0(n)->size || len > c0(n)->size - off)
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
	return (int64_t)c0(nf(f))->size;
}

static int nbd_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	struct nbd_file *n = nf(f);
	uint32_t got = 0, state = 0;
	int ret;

	*pnum = len;
	*data = true;
	if (!c0(n)->has_base || off >= c0(n)->size || len == 0)
		return 0;
	if (len > c0(n)->size - off)
		len = c0(n)->size - off;
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

/* Opens the extra connections a multi-conn export was given (at the first queued read, so
 * that other commands never hold more than one). One that fails or leads elsewhere (another
 * size or flags) ends the attempt: the queue goes on over those open. */
static void grow(struct nbd_file *n)
{
	struct bc_err err = { 0 };

	while (n->nconn < n->want) {
		struct nbd_conn *k;
		if (nbd_conn_open(&k, &n->t, NBD_EXTRA_TIMEOUT_MS, &err) < 0)
			break;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = n->nconn };
		if (k->c.size != c0(n)->size || k->c.tflags != c0(n)->tflags ||
		    epoll_ctl(n->epfd, EPOLL_CTL_ADD, k->c.fd, &ev) < 0) {
			close(k->c.fd);
			free(k);
			break;
		}
		n->conn[n->nconn++] = k;
	}
	n->want = n->nconn;
}

/* Where a queued request goes: writes on conn[0] (a flush there then follows them), reads on
 * the connection with the fewest in flight. NULL: that one is full. */
static struct nbd_conn *pick(struct nbd_file *n, bool wr)
{
	struct nbd_conn *best = n->conn[0];

	for (unsigned j = 1; !wr && j < n->nconn; j++)
		if (n->conn[j]->inflight < best->inflight)
			best = n->conn[j];
	return best->inflight < NBD_QUEUE ? best : NULL;
}

static void queue_one(struct bc_file *f, struct nbd_file *n, struct nbd_conn *k, bool wr,
		      struct bc_aio *req)
{
	unsigned i = 0;
	int ret = 0;

	while (k->pend[i].used)
		i++;
	k->pend_req[i] = req;
	if (wr) {
		ret = nbd_client_send(&k->c, &k->pend[i], NBD_CMD_WRITE, 0, req->off,
				      (uint32_t)req->len, req->buf);
	} else {
		/* read requests gather and go out together when replies are awaited */
		nbd_client_prepare(&k->c, &k->pend[i], NBD_CMD_READ,
				   nbd_client_read_flags(&k->c, (uint32_t)req->len), req->off,
				   (uint32_t)req->len, req->buf, k->out + k->out_len);
		k->out_len += NBD_REQUEST_SIZE;
	}
	k->inflight++;
	n->inflight++;
	n->inflight_writes = wr;
	if (ret < 0)
		broken(f, n);     /* fails this request too */
}

/* Queued reads and writes that fit one NBD request go out at once and stay in flight; their
 * replies are matched by handle in nbd_poll. Reads and writes are not mixed in flight: with
 * both, each side could block sending while its peer blocks sending too. */
static int nbd_submit(struct bc_file *f, struct bc_aio *req)
{
	struct nbd_file *n = nf(f);
	bool wr = req->op == BC_AIO_WRITE;
	struct nbd_conn *k = NULL;
	int ret = 0;

	if (req->op == BC_AIO_FLUSH || req->len == 0 || req->len > c0(n)->max_block ||
	    req->off > c0(n)->size || req->len > c0(n)->size - req->off ||
	    (wr && (c0(n)->tflags & NBD_FLAG_READ_ONLY)))
		return bc_file_aio_submit_sync(f, req);     /* drains what is in flight first */
	pthread_mutex_lock(&n->lock);
	if (n->inflight && n->inflight_writes != wr)
		ret = reap(f, n, ALL);
	if (ret == 0 && !wr && n->nconn < n->want && c0(n)->fd >= 0)
		grow(n);
	while (ret == 0 && c0(n)->fd >= 0 && !(k = pick(n, wr)))
		ret = reap(f, n, 1);
	if (ret == 0 && c0(n)->fd < 0)
		ret = -ESHUTDOWN;
	if (ret == 0) {
		queue_one(f, n, k, wr, req);
	} else {
		req->ret = ret;
		bc_file_aio_complete(f, req);
	}
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static int nbd_poll(struct bc_file *f, int min)
{
	struct nbd_file *n = nf(f);
	int done = bc_file_aio_poll_done(f, 0);

	pthread_mutex_lock(&n->lock);
	if (push(f, n) == 0)
		reap(f, n, min < 0 ? ALL : done >= min ? 0 : (unsigned)(min - done));
	/* an event loop's poll (min 0, after a socket polled readable): the replies there */
	struct nbd_conn *k;
	while (min == 0 && n->inflight && (k = next_ready(n, 0)))
		if (take_one(f, n, k) < 0)
			break;
	pthread_mutex_unlock(&n->lock);
	return done + bc_file_aio_poll_done(f, 0);
}

static int nbd_truncate(struct bc_file *f, uint64_t size)
{
	return size == c0(nf(f))->size ? 0 : -ENOTSUP;
}

static void nbd_close(struct bc_file *f)
{
	struct nbd_file *n = nf(f);

	if (n->inflight)
		reap(f, n, ALL);    /* requests never waited for: their replies are dropped */
	for (unsigned j = 0; j < n->nconn; j++) {
		struct nbd_conn *k = n->conn[j];
		if (k->c.fd >= 0) {
			uint8_t h[NBD_REQUEST_SIZE];
			struct nbd_request r = { .type = NBD_CMD_DISC, .handle = k->c.next_handle };
			nbd_encode_request(h, &r);
			k->c.io.send(k->c.io.opaque, h, sizeof(h));
			close(k->c.fd);
		}
		free(k);
	}
	if (n->epfd >= 0)
		close(n->epfd);
	pthread_mutex_destroy(&n->lock);
}

/* Replies arriving make a socket readable: the event loop's cue to poll (with several
 * connections, an epoll descriptor over all of them). */
static int nbd_event_fd(struct bc_file *f)
{
	struct nbd_file *n = nf(f);

	return n->epfd >= 0 ? n->epfd : c0(n)->fd;
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

/* The connections to open for queued reads: the name's multi-conn=N, else NBD_CONNS_DEFAULT,
 * when the server advertises multi-conn; one otherwise. */
static unsigned wanted_conns(const struct nbd_file *n)
{
	unsigned w = n->t.conns ? n->t.conns : NBD_CONNS_DEFAULT;

	if (!(n->conn[0]->c.tflags & NBD_FLAG_CAN_MULTI_CONN))
		return 1;
	return w > NBD_CONNS_MAX ? NBD_CONNS_MAX : w;
}

static int setup_events(struct nbd_file *n, struct bc_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };

	n->epfd = -1;
	if (n->want < 2)
		return 0;
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epfd < 0 || epoll_ctl(n->epfd, EPOLL_CTL_ADD, c0(n)->fd, &ev) < 0)
		return bc_err_set(err, -errno, "epoll: %s", strerror(errno));
	return 0;
}

int bc_nbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err)
{
	char uri[NBD_MAX_STRING + 256];
	struct bc_file *f;
	struct nbd_file *n = calloc(1, sizeof(*n));
	int ret = n ? nbd_parse_name(name, &n->t, err) : -ENOMEM;

	if (ret < 0) {
		free(n);
		return ret == -ENOMEM ? bc_err_set(err, ret, "Out of memory") : ret;
	}
	if (nbd_target_uri(&n->t, uri, sizeof(uri)) < 0) {
		free(n);
		return bc_err_set(err, -ENAMETOOLONG, "NBD name too long");
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(uri))) {
		free(f);
		free(n);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	ret = nbd_conn_open(&n->conn[0], &n->t, 0, err);
	if (ret < 0)
		goto fail;
	n->nconn = 1;
	if ((flags & BC_FILE_RDWR) && (c0(n)->tflags & NBD_FLAG_READ_ONLY))
		ret = bc_err_set(err, -EACCES, "Could not open '%s': Permission denied", name);
	n->want = wanted_conns(n);
	if (ret < 0 || (ret = setup_events(n, err)) < 0) {
		close(c0(n)->fd);
		free(n->conn[0]);
		if (n->epfd >= 0)
			close(n->epfd);
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
