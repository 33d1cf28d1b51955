/*
 * The NBD server's transmission phase. A request is checked completely (magic, flags, range,
 * size, permission) before the image is touched; errors get the protocol's error reply and
 * the session goes on. Only a wrong magic or a write payload too large to read ends it.
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

	if (s->io->sendv)
		return s->io->sendv(s->io->opaque, v, n);
	for (int i = 0; i < n && ret == 0; i++)
		if (v[i].iov_len)
			ret = s->io->send(s->io->opaque, v[i].iov_base, v[i].iov_len);
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

static int do_write(struct nbd_session *s, const struct nbd_request *r, const uint8_t *buf)
{
	const struct bc_nbd_export *e = s->exp;
	int ret;

	if (e->detect_zeroes != BC_NBD_DZ_OFF && r->len && all_zero(buf, r->len)) {
		unsigned zf = e->detect_zeroes == BC_NBD_DZ_UNMAP && e->discard == BC_NBD_DISCARD_UNMAP
				      ? BC_ZERO_MAY_UNMAP : 0;
		ret = bc_write_zeroes(e->img, r->off, r->len, zf);
	} else {
		ret = bc_write(e->img, r->off, buf, r->len);
	}
	if (ret == 0 && (r->flags & NBD_CMD_FLAG_FUA))
		ret = bc_flush(e->img);
	return ret;
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

struct piece {
	uint64_t off;
	uint32_t len;
	bool zero;
};

/* Structured reads without DF: zero runs go out as hole chunks, the rest as data chunks.
 * Everything is read under the lock first, so an error still gets a single error reply and
 * a slow client never holds the engine while it drains the socket. */
static int read_sparse(struct nbd_session *s, const struct nbd_request *r, uint8_t *buf)
{
	uint64_t off = r->off, end = r->off + r->len;
	struct piece *p = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	lock(s);
	while (off < end) {
		struct bc_extent ext;
		ret = bc_block_status(s->exp->img, off, end - off, &ext);
		if (ret == 0 && (ext.len == 0 || ext.len > end - off))
			ret = -EIO;
		bool zero = ext.flags & BC_EXT_ZERO;
		if (ret == 0 && !zero)
			ret = bc_read(s->exp->img, off, buf + (off - r->off), ext.len);
		if (ret < 0)
			break;
		if (n && p[n - 1].zero == zero) {
			p[n - 1].len += (uint32_t)ext.len;
		} else {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				struct piece *q = realloc(p, cap * sizeof(*p));
				if (!q) {
					ret = -ENOMEM;
					break;
				}
				p = q;
			}
			p[n++] = (struct piece){ off, (uint32_t)ext.len, zero };
		}
		off += ext.len;
	}
	unlock(s);
	if (ret < 0) {
		free(p);
		return reply(s, r, -ret, NULL, 0);
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		uint16_t fl = i + 1 == n ? NBD_REPLY_FLAG_DONE : 0;
		uint8_t h[12];
		nbd_put64(h, p[i].off);
		if (p[i].zero) {
			nbd_put32(h + 8, p[i].len);
			ret = send_chunk(s, r->handle, fl, NBD_REPLY_TYPE_OFFSET_HOLE, h, 12, NULL, 0);
		} else {
			ret = send_chunk(s, r->handle, fl, NBD_REPLY_TYPE_OFFSET_DATA, h, 8,
					 buf + (p[i].off - r->off), p[i].len);
		}
	}
	free(p);
	return ret;
}

/* Runs one checked request and sends its reply; <0 only when the stream failed. */
static int run_request(struct nbd_session *s, const struct nbd_request *r, uint8_t *buf)
{
	int ret = 0;

	switch (r->type) {
	case NBD_CMD_READ:
		if (s->structured && !(r->flags & NBD_CMD_FLAG_DF) && r->len)
			return read_sparse(s, r, buf);
		lock(s);
		ret = r->len ? bc_read(s->exp->img, r->off, buf, r->len) : 0;
		unlock(s);
		return reply(s, r, -ret, buf, ret ? 0 : r->len);
	case NBD_CMD_WRITE:
		lock(s);
		ret = do_write(s, r, buf);
		if (ret == 0)
			mark_dirty(s, r->off, r->len);
		unlock(s);
		break;
	case NBD_CMD_FLUSH:
		lock(s);
		ret = bc_flush(s->exp->img);
		unlock(s);
		break;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		lock(s);
		ret = do_zero_trim(s, r);
		if (ret == 0 && (r->type == NBD_CMD_WRITE_ZEROES || s->exp->discard == BC_NBD_DISCARD_UNMAP))
			mark_dirty(s, r->off, r->len);
		unlock(s);
		break;
	case NBD_CMD_CACHE:
		break;
	case NBD_CMD_BLOCK_STATUS:
		if (s->ctx_base && (ret = block_status(s, r, NBD_CTX_BASE)) < 0)
			return reply(s, r, -ret, NULL, 0);
		if (s->ctx_depth && (ret = block_status(s, r, NBD_CTX_DEPTH)) < 0)
			return reply(s, r, -ret, NULL, 0);
		for (int i = 0; i < s->exp->nbitmaps; i++)
			if ((s->ctx_bitmaps & (1u << i)) && (ret = bitmap_status(s, r, i)) < 0)
				return reply(s, r, -ret, NULL, 0);
		break;
	default:
		ret = -EINVAL;
	}
	return reply(s, r, -ret, NULL, 0);
}

int nbd_server_transmission(struct nbd_session *s)
{
	const struct bc_nbd_io *io = s->io;
	uint8_t h[NBD_REQUEST_SIZE], *buf = NULL;
	size_t cap = 0;
	struct nbd_request r;
	int ret;

	for (;;) {
		ret = io->recv(io->opaque, h, sizeof(h));
		if (ret < 0)
			break;
		if (nbd_decode_request(h, &r) < 0) {
			ret = -EINVAL;
			break;
		}
		if (r.type == NBD_CMD_DISC) {
			ret = 0;
			break;
		}
		int bad = check_request(s, &r);
		if (r.type == NBD_CMD_WRITE && r.len > NBD_MAX_BUFFER) {
			reply(s, &r, EINVAL, NULL, 0);   /* its payload cannot be skipped safely */
			ret = -EINVAL;
			break;
		}
		if (((r.type == NBD_CMD_READ && !bad) || r.type == NBD_CMD_WRITE) && (r.len > cap || !buf)) {
			/* kept for the next requests: large buffers are not mapped anew each time */
			free(buf);
			cap = r.len ? r.len : 1;
			if (!(buf = malloc(cap))) {
				ret = -ENOMEM;
				break;
			}
		}
		if (r.type == NBD_CMD_WRITE && (ret = io->recv(io->opaque, buf, r.len)) < 0)
			break;
		ret = bad ? reply(s, &r, bad, NULL, 0) : run_request(s, &r, buf);
		if (ret < 0)
			break;
	}
	free(buf);
	return ret == -ECONNRESET ? 0 : ret;
}
