/*
 * The NBD client: handshake and requests, one request in flight at a time (a mutex per
 * connection). Every field a server sends is checked before it is used: a reply that does not
 * fit its request fails the request with -EIO and the connection is not trusted again.
 */
#include "nbd-client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int send_option(struct nbd_client *c, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t h[16];
	int ret;

	nbd_put64(h, NBD_MAGIC_OPT);
	nbd_put32(h + 8, opt);
	nbd_put32(h + 12, len);
	ret = c->io.send(c->io.opaque, h, sizeof(h));
	if (ret == 0 && len)
		ret = c->io.send(c->io.opaque, data, len);
	return ret;
}

/* One option reply's header; the payload (at most cap bytes kept) goes to data. */
static int recv_rep(struct nbd_client *c, uint32_t opt, uint32_t *type, uint8_t *data,
		    uint32_t cap, uint32_t *len)
{
	uint64_t magic;
	uint32_t ropt;
	int ret;

	if ((ret = nbd_recv_u64(&c->io, &magic)) < 0 || (ret = nbd_recv_u32(&c->io, &ropt)) < 0 ||
	    (ret = nbd_recv_u32(&c->io, type)) < 0 || (ret = nbd_recv_u32(&c->io, len)) < 0)
		return ret;
	if (magic != NBD_MAGIC_REP || ropt != opt || *len > NBD_MAX_OPTION)
		return -EPROTO;
	if (*len <= cap)
		return c->io.recv(c->io.opaque, data, *len);
	ret = c->io.recv(c->io.opaque, data, cap);
	return ret ? ret : nbd_skip(&c->io, *len - cap);
}

/* Structured replies and base:allocation, both optional for the server. */
static int negotiate_extras(struct nbd_client *c, const char *name)
{
	uint8_t d[64 + NBD_MAX_STRING];
	uint32_t type, len;
	size_t n = strlen(name);
	int ret;

	if ((ret = send_option(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0)) < 0 ||
	    (ret = recv_rep(c, NBD_OPT_STRUCTURED_REPLY, &type, d, sizeof(d), &len)) < 0)
		return ret;
	c->structured = type == NBD_REP_ACK;
	if (!c->structured)
		return 0;
	nbd_put32(d, (uint32_t)n);
	memcpy(d + 4, name, n);
	nbd_put32(d + 4 + n, 1);
	nbd_put32(d + 8 + n, 15);
	memcpy(d + 12 + n, "base:allocation", 15);
	if ((ret = send_option(c, NBD_OPT_SET_META_CONTEXT, d, (uint32_t)(27 + n))) < 0)
		return ret;
	for (;;) {
		if ((ret = recv_rep(c, NBD_OPT_SET_META_CONTEXT, &type, d, sizeof(d), &len)) < 0)
			return ret;
		if (type != NBD_REP_META_CONTEXT)
			return 0;     /* ACK, or an error: then no block status */
		if (len == 19 && !memcmp(d + 4, "base:allocation", 15)) {
			c->ctx_base = nbd_get32(d);
			c->has_base = true;
		}
	}
}

/* NBD_OPT_GO; 1 when the server does not know GO (then EXPORT_NAME is used). */
static int go(struct nbd_client *c, const char *name, struct bc_err *err)
{
	uint8_t d[64 + NBD_MAX_STRING];
	uint32_t type, len;
	size_t n = strlen(name);
	bool have_export = false;
	int ret;

	nbd_put32(d, (uint32_t)n);
	memcpy(d + 4, name, n);
	nbd_put16(d + 4 + n, 1);
	nbd_put16(d + 6 + n, NBD_INFO_BLOCK_SIZE);
	if ((ret = send_option(c, NBD_OPT_GO, d, (uint32_t)(8 + n))) < 0)
		return bc_err_set(err, ret, "Failed to send option: %s", strerror(-ret));
	for (;;) {
		if ((ret = recv_rep(c, NBD_OPT_GO, &type, d, sizeof(d), &len)) < 0)
			return bc_err_set(err, ret, "Failed to read option reply: %s", strerror(-ret));
		if (type == NBD_REP_ACK)
			break;
		if (type == NBD_REP_ERR_UNSUP)
			return 1;
		if (type == NBD_REP_ERR_UNKNOWN && len && len < sizeof(d))
			return bc_err_set(err, -ENOENT, "Requested export not available\n"
					  "server reported: %.*s", (int)len, (const char *)d);
		if (type == NBD_REP_ERR_UNKNOWN)
			return bc_err_set(err, -ENOENT, "Requested export not available");
		if (type & (1u << 31))
			return bc_err_set(err, -EIO, "Server refused export '%s' (error %#x)", name,
					  type);
		if (type != NBD_REP_INFO || len < 2 || len > sizeof(d))
			return bc_err_set(err, -EPROTO, "Unexpected reply type %u", type);
		uint16_t it = nbd_get16(d);
		if (it == NBD_INFO_EXPORT && len == 12) {
			c->size = nbd_get64(d + 2);
			c->tflags = nbd_get16(d + 10);
			have_export = true;
		} else if (it == NBD_INFO_BLOCK_SIZE && len == 14) {
			uint32_t max = nbd_get32(d + 10);
			if (max >= 4096 && max < c->max_block)
				c->max_block = max;
		}
	}
	if (!have_export)
		return bc_err_set(err, -EPROTO, "Server did not describe the export");
	return 0;
}

static int export_name(struct nbd_client *c, const char *name, bool no_zeroes, struct bc_err *err)
{
	uint8_t b[134];
	int ret = send_option(c, NBD_OPT_EXPORT_NAME, name, (uint32_t)strlen(name));

	if (ret == 0)
		ret = c->io.recv(c->io.opaque, b, no_zeroes ? 10 : 134);
	if (ret < 0)
		return bc_err_set(err, ret, "Requested export not available");
	c->size = nbd_get64(b);
	c->tflags = nbd_get16(b + 8);
	return 0;
}

int nbd_client_handshake(struct nbd_client *c, const char *name, struct bc_err *err)
{
	uint8_t g[18];
	int ret;

	c->max_block = NBD_MAX_BUFFER;
	c->next_handle = 1;
	c->dense = c->df_left = 0;
	if ((ret = c->io.recv(c->io.opaque, g, sizeof(g))) < 0)
		return bc_err_set(err, ret, "Failed to read initial magic: %s", strerror(-ret));
	if (nbd_get64(g) != NBD_MAGIC_INIT)
		return bc_err_set(err, -EPROTO, "Bad initial magic received: 0x%016llx",
				  (unsigned long long)nbd_get64(g));
	if (nbd_get64(g + 8) != NBD_MAGIC_OPT)
		return bc_err_set(err, -EPROTO, "Server does not support fixed newstyle negotiation");
	uint16_t sflags = nbd_get16(g + 16);
	if (!(sflags & NBD_FLAG_FIXED_NEWSTYLE))
		return bc_err_set(err, -EPROTO, "Server does not support fixed newstyle negotiation");
	bool no_zeroes = sflags & NBD_FLAG_NO_ZEROES;
	if ((ret = nbd_send_u32(&c->io, NBD_FLAG_FIXED_NEWSTYLE | (no_zeroes ? NBD_FLAG_NO_ZEROES : 0))) < 0)
		return bc_err_set(err, ret, "Failed to send client flags: %s", strerror(-ret));
	if ((ret = negotiate_extras(c, name)) < 0)
		return bc_err_set(err, ret, "Failed to negotiate with the server: %s", strerror(-ret));
	ret = go(c, name, err);
	if (ret < 0)
		send_option(c, NBD_OPT_ABORT, NULL, 0);   /* a polite goodbye; errors do not matter */
	if (ret == 1) {
		c->structured = false;    /* an old server: simple replies only */
		c->has_base = false;
		ret = export_name(c, name, no_zeroes, err);
	}
	return ret;
}

static struct nbd_pending *find_pending(struct nbd_pending *tab, unsigned n, uint64_t handle)
{
	for (unsigned i = 0; i < n; i++)
		if (tab[i].used && tab[i].handle == handle)
			return &tab[i];
	return NULL;
}

/* A data or hole chunk's payload (clen bytes after the header) into p's buffer. */
static int recv_data_chunk(struct nbd_client *c, struct nbd_pending *p, uint16_t ct, uint32_t clen)
{
	uint8_t o[8];
	uint32_t n = clen - 8;
	int ret;

	if (p->type != NBD_CMD_READ || clen < (ct == NBD_REPLY_TYPE_OFFSET_HOLE ? 12 : 9) ||
	    (ct == NBD_REPLY_TYPE_OFFSET_HOLE && clen != 12))
		return -EPROTO;
	if ((ret = c->io.recv(c->io.opaque, o, 8)) < 0)
		return ret;
	uint64_t coff = nbd_get64(o);
	if (ct == NBD_REPLY_TYPE_OFFSET_HOLE && (ret = nbd_recv_u32(&c->io, &n)) < 0)
		return ret;
	if (coff < p->off || coff - p->off > p->len || n > p->len - (coff - p->off) || n == 0)
		return -EPROTO;
	if (ct == NBD_REPLY_TYPE_OFFSET_HOLE) {
		memset(p->buf + (coff - p->off), 0, n);
		p->hole = true;
		return 0;
	}
	return c->io.recv(c->io.opaque, p->buf + (coff - p->off), n);
}

/* A block status chunk: the first extent of base:allocation (the only context we ask for). */
static int recv_status_chunk(struct nbd_client *c, struct nbd_pending *p, uint32_t clen)
{
	uint8_t b[12];
	int ret;

	if (p->type != NBD_CMD_BLOCK_STATUS || clen < 12 || (clen - 4) % 8)
		return -EPROTO;
	if ((ret = c->io.recv(c->io.opaque, b, 12)) < 0 || (ret = nbd_skip(&c->io, clen - 12)) < 0)
		return ret;
	uint32_t n = nbd_get32(b + 4);
	if (!c->has_base || nbd_get32(b) != c->ctx_base || n == 0 || p->got_status)
		return -EPROTO;
	p->pnum = n > p->len ? p->len : n;
	p->state = nbd_get32(b + 8);
	p->got_status = true;
	return 0;
}

static int recv_error_chunk(struct nbd_client *c, struct nbd_pending *p, uint16_t ct, uint32_t clen)
{
	uint8_t e[6];
	int ret;

	if (clen < 6)
		return -EPROTO;
	if ((ret = c->io.recv(c->io.opaque, e, 6)) < 0)
		return ret;
	uint16_t mlen = nbd_get16(e + 4);
	if ((uint32_t)mlen + 6 > clen || (ct == NBD_REPLY_TYPE_ERROR && clen != mlen + 6u) ||
	    (ct == NBD_REPLY_TYPE_ERROR_OFFSET && clen != mlen + 14u) || !nbd_get32(e))
		return -EPROTO;
	if ((ret = nbd_skip(&c->io, clen - 6)) < 0)
		return ret;
	if (!p->err)
		p->err = nbd_wire_to_errno(nbd_get32(e));
	return 0;
}

/* One structured chunk (its magic already read). Chunks of different requests may interleave:
 * each goes to the request its handle names. */
static int recv_chunk(struct nbd_client *c, struct nbd_pending *tab, unsigned n,
		      struct nbd_pending **done)
{
	uint8_t h[NBD_CHUNK_HEADER_SIZE - 4];
	struct nbd_pending *p;
	int ret;

	if ((ret = c->io.recv(c->io.opaque, h, sizeof(h))) < 0)
		return ret;
	uint16_t flags = nbd_get16(h), ct = nbd_get16(h + 2);
	uint32_t clen = nbd_get32(h + 12);
	if (!(p = find_pending(tab, n, nbd_get64(h + 4))))
		return -EPROTO;
	if (ct == NBD_REPLY_TYPE_NONE)
		ret = clen || !(flags & NBD_REPLY_FLAG_DONE) ? -EPROTO : 0;
	else if (ct == NBD_REPLY_TYPE_OFFSET_DATA || ct == NBD_REPLY_TYPE_OFFSET_HOLE)
		ret = recv_data_chunk(c, p, ct, clen);
	else if (ct == NBD_REPLY_TYPE_BLOCK_STATUS)
		ret = recv_status_chunk(c, p, clen);
	else if (ct == NBD_REPLY_TYPE_ERROR || ct == NBD_REPLY_TYPE_ERROR_OFFSET)
		ret = recv_error_chunk(c, p, ct, clen);
	else if ((ret = nbd_skip(&c->io, clen)) == 0 && (ct & (1u << 15)) && !p->err)
		p->err = EIO;      /* an unknown error type fails the request; others are skipped */
	if (ret < 0)
		return ret;
	if (flags & NBD_REPLY_FLAG_DONE) {
		if (p->type == NBD_CMD_BLOCK_STATUS && !p->got_status && !p->err)
			return -EPROTO;
		if (p->type == NBD_CMD_READ && !p->df && !p->err)
			c->dense = p->hole ? 0 : c->dense + (c->dense < NBD_DENSE_MIN);
		*done = p;
	}
	return 0;
}

int nbd_client_recv_one(struct nbd_client *c, struct nbd_pending *tab, unsigned n,
			struct nbd_pending **done)
{
	struct nbd_pending *p;
	uint8_t s[12];
	uint32_t magic;
	int ret;

	*done = NULL;
	if ((ret = nbd_recv_u32(&c->io, &magic)) < 0)
		return ret;
	if (magic == NBD_MAGIC_CHUNK && c->structured)
		return recv_chunk(c, tab, n, done);
	if (magic != NBD_MAGIC_SIMPLE)
		return -EPROTO;
	if ((ret = c->io.recv(c->io.opaque, s, sizeof(s))) < 0)
		return ret;
	if (!(p = find_pending(tab, n, nbd_get64(s + 4))))
		return -EPROTO;
	*done = p;
	if (nbd_get32(s)) {
		p->err = nbd_wire_to_errno(nbd_get32(s));
		return 0;
	}
	if (p->type == NBD_CMD_BLOCK_STATUS)
		return -EPROTO;      /* block status needs a structured reply */
	if (p->type == NBD_CMD_READ && c->structured)
		return -EPROTO;      /* reads with structured replies come as chunks */
	if (p->type == NBD_CMD_READ)
		return c->io.recv(c->io.opaque, p->buf, p->len);
	return 0;
}

uint16_t nbd_client_read_flags(struct nbd_client *c, uint32_t len)
{
	/* the spec lets a server refuse DF (EOVERFLOW) above 64 KiB */
	if (!c->structured || !(c->tflags & NBD_FLAG_SEND_DF) || len > 65536 ||
	    c->dense < NBD_DENSE_MIN)
		return 0;
	if (c->df_left == 0) {
		c->df_left = NBD_DF_RUN;
		return 0;
	}
	c->df_left--;
	return NBD_CMD_FLAG_DF;
}

void nbd_client_prepare(struct nbd_client *c, struct nbd_pending *p, uint16_t type,
			uint16_t flags, uint64_t off, uint32_t len, void *buf,
			uint8_t h[NBD_REQUEST_SIZE])
{
	struct nbd_request r = { .flags = flags, .type = type, .handle = c->next_handle++,
				 .off = off, .len = len };

	*p = (struct nbd_pending){ .used = true, .handle = r.handle, .type = type, .off = off,
				   .len = len, .buf = buf, .df = flags & NBD_CMD_FLAG_DF };
	nbd_encode_request(h, &r);
}

int nbd_client_send(struct nbd_client *c, struct nbd_pending *p, uint16_t type, uint16_t flags,
		    uint64_t off, uint32_t len, void *buf)
{
	uint8_t h[NBD_REQUEST_SIZE];
	int ret;

	nbd_client_prepare(c, p, type, flags, off, len, buf, h);
	if (type == NBD_CMD_WRITE && c->io.sendv) {
		const struct iovec iov[2] = { { h, sizeof(h) }, { buf, len } };
		return c->io.sendv(c->io.opaque, iov, 2);
	}
	if ((ret = c->io.send(c->io.opaque, h, sizeof(h))) < 0)
		return ret;
	if (type == NBD_CMD_WRITE)
		ret = c->io.send(c->io.opaque, buf, len);
	return ret;
}

int nbd_client_request(struct nbd_client *c, uint16_t type, uint16_t flags, uint64_t off,
		       uint32_t len, void *buf, uint32_t *pnum, uint32_t *state)
{
	struct nbd_pending p, *done = NULL;
	int ret = nbd_client_send(c, &p, type, flags, off, len, buf);

	while (ret == 0 && !done)
		ret = nbd_client_recv_one(c, &p, 1, &done);
	if (ret < 0)
		return ret;
	if (p.err)
		return -p.err;
	if (pnum)
		*pnum = p.pnum;
	if (state)
		*state = p.state;
	return 0;
}
