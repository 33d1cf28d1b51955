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

/* The chunks of a structured reply to request (type, off, len), until the DONE flag. */
static int recv_chunks(struct nbd_client *c, uint64_t handle, uint16_t type, uint64_t off,
		       uint32_t len, uint8_t *buf, uint32_t *pnum, uint32_t *state)
{
	uint8_t h[NBD_CHUNK_HEADER_SIZE - 4], p[16];
	int err = 0, ret;
	bool done = false, got_status = false, first = true;

	while (!done) {
		uint32_t magic = NBD_MAGIC_CHUNK;   /* the first chunk's was read by the caller */
		if (!first && (ret = nbd_recv_u32(&c->io, &magic)) < 0)
			return ret;
		first = false;
		if (magic != NBD_MAGIC_CHUNK)
			return -EPROTO;
		if ((ret = c->io.recv(c->io.opaque, h, sizeof(h))) < 0)
			return ret;
		uint16_t flags = nbd_get16(h), ct = nbd_get16(h + 2);
		uint32_t clen = nbd_get32(h + 12);
		if (nbd_get64(h + 4) != handle)
			return -EPROTO;
		done = flags & NBD_REPLY_FLAG_DONE;
		if (ct == NBD_REPLY_TYPE_NONE) {
			if (clen || !done)
				return -EPROTO;
		} else if (ct == NBD_REPLY_TYPE_OFFSET_DATA || ct == NBD_REPLY_TYPE_OFFSET_HOLE) {
			if (type != NBD_CMD_READ || clen < (ct == NBD_REPLY_TYPE_OFFSET_HOLE ? 12 : 9) ||
			    (ct == NBD_REPLY_TYPE_OFFSET_HOLE && clen != 12))
				return -EPROTO;
			if ((ret = c->io.recv(c->io.opaque, p, 8)) < 0)
				return ret;
			uint64_t coff = nbd_get64(p);
			uint32_t n = clen - 8;
			if (ct == NBD_REPLY_TYPE_OFFSET_HOLE) {
				if ((ret = nbd_recv_u32(&c->io, &n)) < 0)
					return ret;
			}
			if (coff < off || coff - off > len || n > len - (coff - off) || n == 0)
				return -EPROTO;
			if (ct == NBD_REPLY_TYPE_OFFSET_HOLE)
				memset(buf + (coff - off), 0, n);
			else if ((ret = c->io.recv(c->io.opaque, buf + (coff - off), n)) < 0)
				return ret;
		} else if (ct == NBD_REPLY_TYPE_BLOCK_STATUS) {
			if (type != NBD_CMD_BLOCK_STATUS || clen < 12 || (clen - 4) % 8)
				return -EPROTO;
			if ((ret = c->io.recv(c->io.opaque, p, 12)) < 0 ||
			    (ret = nbd_skip(&c->io, clen - 12)) < 0)
				return ret;
			uint32_t n = nbd_get32(p + 4);
			if (!c->has_base || nbd_get32(p) != c->ctx_base || n == 0 || got_status)
				return -EPROTO;
			*pnum = n > len ? len : n;
			*state = nbd_get32(p + 8);
			got_status = true;
		} else if (ct == NBD_REPLY_TYPE_ERROR || ct == NBD_REPLY_TYPE_ERROR_OFFSET) {
			if (clen < 6)
				return -EPROTO;
			if ((ret = c->io.recv(c->io.opaque, p, 6)) < 0)
				return ret;
			uint16_t mlen = nbd_get16(p + 4);
			if ((uint32_t)mlen + 6 > clen || (ct == NBD_REPLY_TYPE_ERROR && clen != mlen + 6u) ||
			    (ct == NBD_REPLY_TYPE_ERROR_OFFSET && clen != mlen + 14u))
				return -EPROTO;
			if ((ret = nbd_skip(&c->io, clen - 6)) < 0)
				return ret;
			err = nbd_wire_to_errno(nbd_get32(p));
			if (!nbd_get32(p))
				return -EPROTO;
		} else {
			/* an unknown type: an error type is a failure, others may be skipped */
			if ((ret = nbd_skip(&c->io, clen)) < 0)
				return ret;
			if (ct & (1u << 15))
				err = EIO;
		}
	}
	if (err)
		return -err;
	if (type == NBD_CMD_BLOCK_STATUS && !got_status)
		return -EPROTO;
	return 0;
}

int nbd_client_request(struct nbd_client *c, uint16_t type, uint16_t flags, uint64_t off,
		       uint32_t len, void *buf, uint32_t *pnum, uint32_t *state)
{
	struct nbd_request r = { .flags = flags, .type = type, .handle = c->next_handle++,
				 .off = off, .len = len };
	uint8_t h[NBD_REQUEST_SIZE];
	uint32_t magic;
	int ret;

	nbd_encode_request(h, &r);
	if ((ret = c->io.send(c->io.opaque, h, sizeof(h))) < 0)
		return ret;
	if (type == NBD_CMD_WRITE && (ret = c->io.send(c->io.opaque, buf, len)) < 0)
		return ret;
	if ((ret = nbd_recv_u32(&c->io, &magic)) < 0)
		return ret;
	if (magic == NBD_MAGIC_CHUNK && c->structured)
		return recv_chunks(c, r.handle, type, off, len, buf, pnum, state);
	if (magic != NBD_MAGIC_SIMPLE)
		return -EPROTO;
	uint8_t s[12];
	if ((ret = c->io.recv(c->io.opaque, s, sizeof(s))) < 0)
		return ret;
	if (nbd_get64(s + 4) != r.handle)
		return -EPROTO;
	if (nbd_get32(s))
		return -nbd_wire_to_errno(nbd_get32(s));
	if (type == NBD_CMD_BLOCK_STATUS)
		return -EPROTO;      /* block status needs a structured reply */
	if (type == NBD_CMD_READ && c->structured)
		return -EPROTO;      /* reads with structured replies come as chunks */
	if (type == NBD_CMD_READ)
		return c->io.recv(c->io.opaque, buf, len);
	return 0;
}
