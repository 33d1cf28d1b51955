/*
 * The NBD server's transmission phase. A request is checked completely (magic, flags, range,
 * size, permission) before the image is touched; errors get the protocol's error reply and
 * the session goes on. Only a wrong magic or a write payload too large to read ends it.
 * On the event loop a session keeps up to NBD_SERVER_QD requests in flight: one task reads
 * and starts them (reads and writes on the engine's queue), another sends the replies in the
 * order the requests complete.
 */
#include "nbd-server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NBD_MAX_EXTENTS 2048    /* descriptors per block-status reply */

static void lock(const struct nbd_session *s)
{
	if (s->exp->lock)
		pthread_mutex_lock(s->exp->lock);
}

static void unlock(const struct nbd_session *s)
{
	if (s->exp->lock)
		pthread_mutex_unlock(s->exp->lock);
}

/* Sends the pieces as one write when the transport can, else one by one. */
static int send_parts(struct nbd_session *s, const struct iovec *v, int n)
{
	int ret = 0;

	if (s->rio->sendv)
		return s->rio->sendv(s->rio->opaque, v, n);
	for (int i = 0; i < n && ret == 0; i++)
		if (v[i].iov_len)
			ret = s->rio->send(s->rio->opaque, v[i].iov_base, v[i].iov_len);
	return ret;
}

static int send_chunk(struct nbd_session *s, uint64_t handle, uint16_t flags, uint16_t type,
		      const void *head, uint32_t hlen, const void *data, uint32_t dlen)
{
	uint8_t h[NBD_CHUNK_HEADER_SIZE];
	struct iovec v[3] = { { h, sizeof(h) }, { (void *)head, hlen }, { (void *)data, dlen } };

	nbd_put32(h, NBD_MAGIC_CHUNK);
	nbd_put16(h + 4, flags);
	nbd_put16(h + 6, type);
	nbd_put64(h + 8, handle);
	nbd_put32(h + 16, hlen + dlen);
	return send_parts(s, v, dlen ? 3 : hlen ? 2 : 1);
}

/* The final reply of a request: success (with read data) or an error, simple or structured. */
static int reply(struct nbd_session *s, const struct nbd_request *r, int err, const void *data,
		 uint32_t dlen)
{
	uint8_t b[NBD_SIMPLE_REPLY_SIZE];

	if (s->structured) {
		if (err) {
			uint8_t e[6];
			nbd_put32(e, nbd_errno_to_wire(err));
			nbd_put16(e + 4, 0);
			return send_chunk(s, r->handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, e,
					  6, NULL, 0);
		}
		if (dlen) {
			uint8_t o[8];
			nbd_put64(o, r->off);
			return send_chunk(s, r->handle, NBD_REPLY_FLAG_DONE,
					  NBD_REPLY_TYPE_OFFSET_DATA, o, 8, data, dlen);
		}
		return send_chunk(s, r->handle, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, NULL, 0,
				  NULL, 0);
	}
	nbd_put32(b, NBD_MAGIC_SIMPLE);
	nbd_put32(b + 4, nbd_errno_to_wire(err));
	nbd_put64(b + 8, r->handle);
	struct iovec v[2] = { { b, sizeof(b) }, { (void *)data, dlen } };
	return send_parts(s, v, !err && dlen ? 2 : 1);
}

/* The flags each command may carry. */
static uint16_t allowed_flags(uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ: return NBD_CMD_FLAG_DF;
	case NBD_CMD_WRITE: case NBD_CMD_TRIM: return NBD_CMD_FLAG_FUA;
	case NBD_CMD_WRITE_ZEROES:
		return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
	case NBD_CMD_BLOCK_STATUS: return NBD_CMD_FLAG_REQ_ONE;
	default: return 0;
	}
}

/* 0, or the errno the request is refused with before anything runs. */
static int check_request(const struct nbd_session *s, const struct nbd_request *r)
{
	uint64_t size = bc_length(s->exp->img);
	bool writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
		      r->type == NBD_CMD_WRITE_ZEROES;

	if (r->flags & ~allowed_flags(r->type))
		return EINVAL;
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && r->len > NBD_MAX_BUFFER)
		return EINVAL;
	if (writes && s->exp->readonly)
		return EPERM;
	if (r->type == NBD_CMD_FLUSH)
		return 0;
	if (r->off > size || r->len > size - r->off)
		return EINVAL;     /* qemu-nbd 7.2 answers EINVAL for writes too */
	if (r->type == NBD_CMD_BLOCK_STATUS &&
	    (!s->structured || !(s->ctx_base || s->ctx_depth || s->ctx_bitmaps) || r->len == 0))
		return EINVAL;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

static int do_zero_trim(struct nbd_session *s, const struct nbd_request *r)
{
	const struct bc_nbd_export *e = s->exp;
	unsigned zf = 0;
	int ret = 0;

	if (r->type == NBD_CMD_TRIM) {
		if (e->discard == BC_NBD_DISCARD_UNMAP && r->len)
			ret = bc_discard(e->img, r->off, r->len);
		if (ret == -ENOTSUP)
			ret = 0;          /* trim is advisory */
	} else {
		if (!(r->flags & NBD_CMD_FLAG_NO_HOLE) && e->discard == BC_NBD_DISCARD_UNMAP)
			zf |= BC_ZERO_MAY_UNMAP;
		if (r->flags & NBD_CMD_FLAG_FAST_ZERO)
			zf |= BC_ZERO_NO_FALLBACK;
		ret = r->len ? bc_write_zeroes(e->img, r->off, r->len, zf) : 0;
	}
	if (ret == 0 && (r->flags & NBD_CMD_FLAG_FUA))
		ret = bc_flush(e->img);
	return ret;
}

/* One context's descriptors for [off, off+len): base:allocation or qemu:allocation-depth. */
static int block_status(struct nbd_session *s, const struct nbd_request *r, uint32_t ctx)
{
	uint32_t max = (r->flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : NBD_MAX_EXTENTS, n = 0;
	uint8_t *b = malloc(4 + 8 * (size_t)max);
	uint64_t off = r->off, end = r->off + r->len;
	int ret = 0;

	if (!b)
		return -ENOMEM;
	nbd_put32(b, ctx);
	lock(s);
	while (off < end && n < max) {
		struct bc_extent ext;
		uint32_t v;
		ret = bc_block_status(s->exp->img, off, end - off, &ext);
		if (ret < 0)
			break;
		if (ext.len == 0 || ext.len > end - off) {
			ret = -EIO;
			break;
		}
		if (ctx == NBD_CTX_BASE)
			v = ((ext.flags & BC_EXT_DATA) ? 0 : NBD_STATE_HOLE) |
			    ((ext.flags & BC_EXT_ZERO) ? NBD_STATE_ZERO : 0);
		else
			v = (ext.flags & BC_EXT_ALLOCATED) ? (uint32_t)ext.depth + 1 : 0;
		/* neighbours with one status merge into one descriptor */
		if (n && nbd_get32(b + 4 + 8 * (n - 1) + 4) == v &&
		    nbd_get32(b + 4 + 8 * (n - 1)) + ext.len <= UINT32_MAX) {
			nbd_put32(b + 4 + 8 * (n - 1), nbd_get32(b + 4 + 8 * (n - 1)) + (uint32_t)ext.len);
		} else {
			nbd_put32(b + 4 + 8 * n, (uint32_t)ext.len);
			nbd_put32(b + 4 + 8 * n + 4, v);
			n++;
		}
		off += ext.len;
	}
	unlock(s);
	if (ret == 0)
		ret = send_chunk(s, r->handle, 0, NBD_REPLY_TYPE_BLOCK_STATUS, b, 4 + 8 * n, NULL, 0);
	free(b);
	return ret;
}

static bool bit_set(const struct bc_nbd_bitmap *bm, uint64_t i)
{
	return i < bm->nbits && (bm->bits[i / 8] >> (i % 8)) & 1;
}

/* Bitmap i's descriptors for [off, off+len): runs of dirty (1) or clean (0) granules. */
static int bitmap_status(struct nbd_session *s, const struct nbd_request *r, int i)
{
	const struct bc_nbd_bitmap *bm = &s->exp->bitmaps[i];
	uint32_t max = (r->flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : NBD_MAX_EXTENTS, n = 0;
	uint8_t *b = malloc(4 + 8 * (size_t)max);
	uint64_t off = r->off, end = r->off + r->len, g = bm->granularity;
	int ret;

	if (!b)
		return -ENOMEM;
	nbd_put32(b, NBD_CTX_BITMAP + (uint32_t)i);
	lock(s);
	while (off < end && n < max) {
		uint64_t k = off / g;
		bool v = bit_set(bm, k);
		uint64_t next = (k + 1) * g;
		/* one descriptor holds less than 4 GiB */
		while (next < end && next - off < (1ull << 31) && bit_set(bm, next / g) == v)
			next += g;
		if (next > end)
			next = end;
		nbd_put32(b + 4 + 8 * n, (uint32_t)(next - off));
		nbd_put32(b + 8 + 8 * n, v ? 1 : 0);
		n++;
		off = next;
	}
	unlock(s);
	ret = send_chunk(s, r->handle, 0, NBD_REPLY_TYPE_BLOCK_STATUS, b, 4 + 8 * n, NULL, 0);
	free(b);
	return ret;
}

/* Enabled bitmaps record what a request changed (under the lock). */
static void mark_dirty(struct nbd_session *s, uint64_t off, uint64_t len)
{
	for (int i = 0; i < s->exp->nbitmaps && len; i++) {
		struct bc_nbd_bitmap *bm = &s->exp->bitmaps[i];
		if (!bm->enabled)
			continue;
		for (uint64_t k = off / bm->granularity; k <= (off + len - 1) / bm->granularity &&
							   k < bm->nbits; k++)
			bm->bits[k / 8] |= (uint8_t)(1u << (k % 8));
	}
}

/* ---- request slots ------------------------------------------------------------------------ */

static struct nbd_slot *slot_take(struct nbd_session *s)
{
	for (int i = 0; i < NBD_SERVER_QD; i++) {
		struct nbd_slot *sl = &s->slots[i];
		if (sl->busy)
			continue;
		sl->s = s;
		sl->busy = true;
		sl->err = 0;
		sl->pending = 1;     /* held while the request starts */
		sl->sparse = false;
		sl->np = 0;
		sl->next = NULL;
		s->nbusy++;
		return sl;
	}
	return NULL;
}

static void slot_release(struct nbd_session *s, struct nbd_slot *sl)
{
	sl->busy = false;
	s->nbusy--;
	s->busy_bytes -= sl->bytes;
	sl->bytes = 0;
	if (sl->cap > (1u << 20)) {     /* large buffers are not kept for every slot */
		free(sl->buf);
		sl->buf = NULL;
		sl->cap = 0;
	}
	if (s->tasks && s->sleeping[0])
		s->tasks->wake(s->tasks->arg, 0);
}

/* A payload buffer of len bytes, aligned so that O_DIRECT images take it as it is. */
static int slot_buf(struct nbd_slot *sl, size_t len)
{
	if (sl->buf && sl->cap >= len)
		return 0;
	free(sl->buf);
	sl->cap = len > 4096 ? len : 4096;
	if (!(sl->buf = bc_alloc_aligned(sl->cap))) {
		sl->cap = 0;
		return -ENOMEM;
	}
	return 0;
}

/* One engine request (or the start) of sl ended: the last one queues its reply. */
static void slot_put(struct nbd_slot *sl)
{
	struct nbd_session *s = sl->s;

	if (--sl->pending)
		return;
	if (s->done_tail)
		s->done_tail->next = sl;
	else
		s->done_head = sl;
	s->done_tail = sl;
	if (s->tasks && s->sleeping[1])
		s->tasks->wake(s->tasks->arg, 1);
}

static void slot_aio_done(struct bc_aio *a)
{
	struct nbd_slot *sl = a->opaque;

	if (a->ret < 0 && !sl->err)
		sl->err = -a->ret;
	slot_put(sl);
}

/* Queues sl's engine request i (sl->aio holds enough of them). */
static void slot_submit(struct nbd_slot *sl, size_t i, enum bc_aio_op op, uint64_t off,
			uint8_t *buf, uint32_t len)
{
	struct bc_aio *a = &sl->aio[i];

	*a = (struct bc_aio){ .op = op, .off = off, .buf = buf, .len = len, .cb = slot_aio_done,
			      .opaque = sl };
	sl->pending++;
	int ret = bc_aio_submit(sl->s->exp->img, a);
	if (ret < 0) {
		if (!sl->err)
			sl->err = -ret;
		sl->pending--;
	}
}

static int slot_aio_room(struct nbd_slot *sl, size_t n)
{
	if (n <= sl->aiocap)
		return 0;
	struct bc_aio *a = realloc(sl->aio, n * sizeof(*a));
	if (!a)
		return -ENOMEM;
	sl->aio = a;
	sl->aiocap = n;
	return 0;
}

static int piece_add(struct nbd_slot *sl, uint64_t off, uint64_t len, bool zero)
{
	if (sl->np && sl->p[sl->np - 1].zero == zero) {
		sl->p[sl->np - 1].len += (uint32_t)len;
		return 0;
	}
	if (sl->np == sl->pcap) {
		size_t cap = sl->pcap ? 2 * sl->pcap : 16;
		struct piece *q = realloc(sl->p, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		sl->p = q;
		sl->pcap = cap;
	}
	sl->p[sl->np++] = (struct piece){ off, (uint32_t)len, zero };
	return 0;
}

/* ---- starting requests (the reading task) -------------------------------------------------- */

/* Structured reads without DF: zero runs go out as hole chunks, the rest is read as data
 * runs, each queued on the engine. An error anywhere still gets a single error reply. */
static int start_sparse(struct nbd_session *s, struct nbd_slot *sl)
{
	const struct nbd_request *r = &sl->r;
	uint64_t off = r->off, end = r->off + r->len;
	size_t ndata = 0, k = 0;
	int ret = 0;

	sl->sparse = true;
	while (off < end && ret == 0) {
		struct bc_extent ext;
		ret = bc_block_status(s->exp->img, off, end - off, &ext);
		if (ret == 0 && (ext.len == 0 || ext.len > end - off))
			ret = -EIO;
		if (ret == 0)
			ret = piece_add(sl, off, ext.len, ext.flags & BC_EXT_ZERO);
		off += ret == 0 ? ext.len : 0;
	}
	for (size_t i = 0; i < sl->np; i++)
		ndata += !sl->p[i].zero;
	if (ret == 0)
		ret = slot_aio_room(sl, ndata);
	for (size_t i = 0; i < sl->np && ret == 0; i++)
		if (!sl->p[i].zero)
			slot_submit(sl, k++, BC_AIO_READ, sl->p[i].off, sl->buf + (sl->p[i].off - r->off),
				    sl->p[i].len);
	return ret;
}

/* Reads and writes go to the engine's queue (the kernel's, for images that have one); the
 * other commands run when their reply is due. */
static void start_request(struct nbd_session *s, struct nbd_slot *sl)
{
	const struct bc_nbd_export *e = s->exp;
	const struct nbd_request *r = &sl->r;
	int ret = 0;

	if (sl->err || !r->len || (r->type != NBD_CMD_READ && r->type != NBD_CMD_WRITE)) {
		slot_put(sl);
		return;
	}
	lock(s);
	if (r->type == NBD_CMD_READ && s->structured && !(r->flags & NBD_CMD_FLAG_DF)) {
		ret = start_sparse(s, sl);
	} else if (r->type == NBD_CMD_WRITE && e->detect_zeroes != BC_NBD_DZ_OFF &&
		   all_zero(sl->buf, r->len)) {
		unsigned zf = e->detect_zeroes == BC_NBD_DZ_UNMAP && e->discard == BC_NBD_DISCARD_UNMAP
				      ? BC_ZERO_MAY_UNMAP : 0;
		ret = bc_write_zeroes(e->img, r->off, r->len, zf);
	} else if ((ret = slot_aio_room(sl, 1)) == 0) {
		slot_submit(sl, 0, r->type == NBD_CMD_READ ? BC_AIO_READ : BC_AIO_WRITE, r->off,
			    sl->buf, r->len);
	}
	if (ret < 0 && !sl->err)
		sl->err = -ret;
	unlock(s);
	slot_put(sl);
}

/* Reads the next request into sl: 0, 1 when the session ends after sl's reply, or <0 (no
 * reply: the client left, asked to, or cannot be trusted any more; -ECONNRESET and the
 * disconnect command give 0 at the end). */
static int take_request(struct nbd_session *s, struct nbd_slot *sl)
{
	const struct bc_nbd_io *io = s->io;
	struct nbd_request *r = &sl->r;
	uint8_t h[NBD_REQUEST_SIZE];
	int ret;

	if ((ret = io->recv(io->opaque, h, sizeof(h))) < 0)
		return ret;
	if (nbd_decode_request(h, r) < 0)
		return -EINVAL;
	if (r->type == NBD_CMD_DISC)
		return -ECONNRESET;
	int bad = check_request(s, r);
	if (r->type == NBD_CMD_WRITE && r->len > NBD_MAX_BUFFER) {
		sl->err = EINVAL;     /* its payload cannot be skipped safely: the session ends */
		r->len = 0;
		return 1;
	}
	if (r->type == NBD_CMD_READ && bad)
		r->len = 0;           /* no payload for the error reply */
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && slot_buf(sl, r->len) < 0)
		return -ENOMEM;
	sl->bytes = r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE ? r->len : 0;
	s->busy_bytes += sl->bytes;
	if (r->type == NBD_CMD_WRITE && (ret = io->recv(io->opaque, sl->buf, r->len)) < 0)
		return ret;
	sl->err = bad;
	if (s->exp->stats && s->nbusy > s->exp->stats->max_inflight)
		s->exp->stats->max_inflight = s->nbusy;
	return 0;
}

/* ---- finishing requests (the replying task) ------------------------------------------------ */

static int send_sparse(struct nbd_session *s, const struct nbd_slot *sl)
{
	int ret = 0;

	for (size_t i = 0; i < sl->np && ret == 0; i++) {
		const struct piece *p = &sl->p[i];
		uint16_t fl = i + 1 == sl->np ? NBD_REPLY_FLAG_DONE : 0;
		uint8_t h[12];
		nbd_put64(h, p->off);
		if (p->zero) {
			nbd_put32(h + 8, p->len);
			ret = send_chunk(s, sl->r.handle, fl, NBD_REPLY_TYPE_OFFSET_HOLE, h, 12, NULL, 0);
		} else {
			ret = send_chunk(s, sl->r.handle, fl, NBD_REPLY_TYPE_OFFSET_DATA, h, 8,
					 sl->buf + (p->off - sl->r.off), p->len);
		}
	}
	return ret;
}

static int send_block_status(struct nbd_session *s, const struct nbd_request *r)
{
	int ret = 0;

	if (s->ctx_base && (ret = block_status(s, r, NBD_CTX_BASE)) < 0)
		return reply(s, r, -ret, NULL, 0);
	if (s->ctx_depth && (ret = block_status(s, r, NBD_CTX_DEPTH)) < 0)
		return reply(s, r, -ret, NULL, 0);
	for (int i = 0; i < s->exp->nbitmaps; i++)
		if ((s->ctx_bitmaps & (1u << i)) && (ret = bitmap_status(s, r, i)) < 0)
			return reply(s, r, -ret, NULL, 0);
	return reply(s, r, 0, NULL, 0);
}

/* Finishes a completed request (what runs at reply time: FUA, flush, trim, zeroes, block
 * status) and sends its reply, every chunk of it together; <0 only when the stream failed. */
static int finish_request(struct nbd_session *s, struct nbd_slot *sl)
{
	const struct nbd_request *r = &sl->r;
	int ret = 0;

	if (sl->err)
		return reply(s, r, sl->err, NULL, 0);
	lock(s);
	switch (r->type) {
	case NBD_CMD_WRITE:
		if (r->flags & NBD_CMD_FLAG_FUA)
			ret = bc_flush(s->exp->img);
		if (ret == 0)
			mark_dirty(s, r->off, r->len);
		break;
	case NBD_CMD_FLUSH:
		ret = bc_flush(s->exp->img);
		break;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		ret = do_zero_trim(s, r);
		if (ret == 0 && (r->type == NBD_CMD_WRITE_ZEROES || s->exp->discard == BC_NBD_DISCARD_UNMAP))
			mark_dirty(s, r->off, r->len);
		break;
	case NBD_CMD_READ:
	case NBD_CMD_CACHE:
	case NBD_CMD_BLOCK_STATUS:
		break;
	default:
		ret = -EINVAL;
	}
	unlock(s);
	if (ret < 0)
		return reply(s, r, -ret, NULL, 0);
	if (r->type == NBD_CMD_READ)
		return sl->sparse ? send_sparse(s, sl) : reply(s, r, 0, sl->buf, r->len);
	if (r->type == NBD_CMD_BLOCK_STATUS)
		return send_block_status(s, r);
	return reply(s, r, 0, NULL, 0);
}

/* Counts a reply that overtakes an earlier request's. */
static void count_order(struct nbd_session *s, const struct nbd_slot *sl)
{
	for (int i = 0; i < NBD_SERVER_QD; i++) {
		if (s->slots[i].busy && s->slots[i].seq < sl->seq) {
			s->exp->stats->out_of_order++;
			return;
		}
	}
}

/* Sends the reply of the oldest completed request; false when none has completed. */
static bool reply_next(struct nbd_session *s)
{
	struct nbd_slot *sl = s->done_head;

	if (!sl)
		return false;
	if (!(s->done_head = sl->next))
		s->done_tail = NULL;
	if (s->exp->stats)
		count_order(s, sl);
	/* a client that is gone gets nothing more; its requests still end */
	if (!s->send_failed && finish_request(s, sl) < 0)
		s->send_failed = true;
	slot_release(s, sl);
	return true;
}

/* The replying task: sends replies as requests complete, until the reading task has ended
 * and every request is answered. */
static void replier(void *arg)
{
	struct nbd_session *s = arg;
	const struct nbd_tasks *t = s->tasks;

	for (;;) {
		if (reply_next(s))
			continue;
		/* what gathered in the output buffer leaves before the task sleeps */
		if (!s->send_failed && t->flush(t->arg) < 0)
			s->send_failed = true;
		if (s->done_head)
			continue;     /* completed while the flush waited for the socket */
		if (s->reading_done && s->nbusy == 0)
			break;
		s->sleeping[1] = true;
		int ret = t->sleep(t->arg, 1);
		s->sleeping[1] = false;
		if (ret < 0)
			return;      /* the loop is stopping: the reading task cleans up */
	}
	s->replier_done = true;
	if (s->sleeping[0])
		t->wake(t->arg, 0);
}

/* ---- the session ---------------------------------------------------------------------------- */

/* Waits for every engine request the session still has queued (the loop is going away). */
static void drain_engine(struct nbd_session *s)
{
	for (int i = 0; i < NBD_SERVER_QD; i++)
		while (s->slots[i].busy && s->slots[i].pending > 0)
			if (bc_aio_wait(s->exp->img, -1) <= 0)
				break;
}

/* One request at a time: read, run, reply (no loop to wait on: the fuzzers, threads). */
static int serve_serial(struct nbd_session *s)
{
	int ret;

	for (;;) {
		struct nbd_slot *sl = slot_take(s);
		ret = take_request(s, sl);
		if (ret < 0) {
			slot_release(s, sl);
			return ret;
		}
		start_request(s, sl);
		lock(s);
		drain_engine(s);
		unlock(s);
		if (!reply_next(s))
			return -EIO;      /* the engine lost the request: the stream cannot go on */
		if (s->send_failed)
			return -EPIPE;
		if (ret == 1)
			return -EINVAL;
	}
}

/* The reading task: takes requests while fewer than NBD_SERVER_QD are unanswered (and their
 * payloads are below NBD_SERVER_INFLIGHT_BYTES) and starts each; replies go out from the
 * second task as requests complete, in any order (NBD allows it). */
static int serve_tasks(struct nbd_session *s)
{
	const struct nbd_tasks *t = s->tasks;
	int ret = t->spawn(t->arg, replier, s);

	if (ret < 0)
		return ret;
	for (;;) {
		while (s->nbusy == NBD_SERVER_QD ||
		       (s->nbusy && s->busy_bytes >= NBD_SERVER_INFLIGHT_BYTES)) {
			s->sleeping[0] = true;
			ret = t->sleep(t->arg, 0);
			s->sleeping[0] = false;
			if (ret < 0)
				goto stopping;
		}
		struct nbd_slot *sl = slot_take(s);
		sl->seq = s->next_seq++;
		ret = take_request(s, sl);
		if (ret < 0) {
			slot_release(s, sl);
			break;
		}
		start_request(s, sl);
		if (ret == 1) {
			ret = -EINVAL;
			break;
		}
	}
	/* every request taken is answered before the session ends */
	s->reading_done = true;
	if (s->sleeping[1])
		t->wake(t->arg, 1);
	while (!s->replier_done) {
		s->sleeping[0] = true;
		int w = t->sleep(t->arg, 0);
		s->sleeping[0] = false;
		if (w < 0)
			goto stopping;
	}
	return ret;
stopping:
	s->reading_done = true;
	drain_engine(s);
	return -ESHUTDOWN;
}

int nbd_server_transmission(struct nbd_session *s)
{
	int ret = s->tasks ? serve_tasks(s) : serve_serial(s);

	for (int i = 0; i < NBD_SERVER_QD; i++) {
		free(s->slots[i].buf);
		free(s->slots[i].p);
		free(s->slots[i].aio);
	}
	return ret == -ECONNRESET ? 0 : ret;
}
