/*
 * The NBD server's handshake: fixed newstyle only. Every option gets a reply (an error reply
 * for anything malformed or unknown); only a wrong magic or an option too large to read ends
 * the session, as the stream cannot be trusted after those.
 */
#include "nbd-server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_rep(struct nbd_session *s, uint32_t opt, uint32_t type, const void *data,
		    uint32_t len)
{
	uint8_t h[20];
	int ret;

	nbd_put64(h, NBD_MAGIC_REP);
	nbd_put32(h + 8, opt);
	nbd_put32(h + 12, type);
	nbd_put32(h + 16, len);
	ret = s->io->send(s->io->opaque, h, sizeof(h));
	if (ret == 0 && len)
		ret = s->io->send(s->io->opaque, data, len);
	return ret;
}

static uint16_t transmission_flags(const struct bc_nbd_export *e)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
		     NBD_FLAG_SEND_DF | NBD_FLAG_SEND_CACHE;

	if (e->readonly)
		f |= NBD_FLAG_READ_ONLY;
	else
		f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
	if (e->multi_conn)
		f |= NBD_FLAG_CAN_MULTI_CONN;
	return f;
}

/* A length-prefixed string at *p inside [*p, end): its bounds, or false when it overruns. */
static bool take_string(const uint8_t **p, const uint8_t *end, const char **str, uint32_t *len)
{
	if (end - *p < 4)
		return false;
	*len = nbd_get32(*p);
	*p += 4;
	if (*len > (uint64_t)(end - *p) || *len > NBD_MAX_STRING)
		return false;
	*str = (const char *)*p;
	*p += *len;
	return true;
}

static bool name_matches(const struct nbd_session *s, const char *name, uint32_t len)
{
	return strlen(s->exp->name) == len && !memcmp(s->exp->name, name, len);
}

static int send_info(struct nbd_session *s, uint32_t opt, uint16_t type, const char *str)
{
	size_t n = strlen(str);
	uint8_t *b = malloc(2 + n);
	int ret;

	if (!b)
		return -ENOMEM;
	nbd_put16(b, type);
	memcpy(b + 2, str, n);
	ret = send_rep(s, opt, NBD_REP_INFO, b, (uint32_t)(2 + n));
	free(b);
	return ret;
}

/* NBD_OPT_INFO / NBD_OPT_GO: 1 when GO succeeded (transmission starts), 0 to go on. */
static int opt_info_go(struct nbd_session *s, uint32_t opt, const uint8_t *d, uint32_t len)
{
	const uint8_t *p = d, *end = d + len;
	const char *name;
	uint32_t nlen;
	bool want_name = false, want_desc = false;
	uint8_t b[12];
	int ret;

	if (!take_string(&p, end, &name, &nlen) || end - p < 2)
		return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
	uint16_t nreq = nbd_get16(p);
	p += 2;
	if ((uint64_t)(end - p) != 2u * nreq)
		return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
	for (uint16_t i = 0; i < nreq; i++, p += 2) {
		want_name |= nbd_get16(p) == NBD_INFO_NAME;
		want_desc |= nbd_get16(p) == NBD_INFO_DESCRIPTION;
	}
	if (!name_matches(s, name, nlen)) {
		char msg[NBD_MAX_STRING + 64];
		int n = snprintf(msg, sizeof(msg), "export '%.*s' not present", (int)nlen, name);
		return send_rep(s, opt, NBD_REP_ERR_UNKNOWN, msg, (uint32_t)n);
	}
	if (want_name && (ret = send_info(s, opt, NBD_INFO_NAME, s->exp->name)) < 0)
		return ret;
	if (want_desc && s->exp->description &&
	    (ret = send_info(s, opt, NBD_INFO_DESCRIPTION, s->exp->description)) < 0)
		return ret;
	nbd_put16(b, NBD_INFO_BLOCK_SIZE);
	nbd_put32(b + 2, 1);
	nbd_put32(b + 6, 4096);
	uint8_t bs[14];
	memcpy(bs, b, 10);
	nbd_put32(bs + 10, NBD_MAX_BUFFER);
	if ((ret = send_rep(s, opt, NBD_REP_INFO, bs, sizeof(bs))) < 0)
		return ret;
	nbd_put16(b, NBD_INFO_EXPORT);
	nbd_put64(b + 2, bc_length(s->exp->img));
	nbd_put16(b + 10, s->tflags);
	if ((ret = send_rep(s, opt, NBD_REP_INFO, b, 12)) < 0)
		return ret;
	if ((ret = send_rep(s, opt, NBD_REP_ACK, NULL, 0)) < 0)
		return ret;
	return opt == NBD_OPT_GO;
}

static int opt_list(struct nbd_session *s, uint32_t len)
{
	const char *desc = s->exp->description ? s->exp->description : "";
	size_t n = strlen(s->exp->name), dn = strlen(desc);
	uint8_t *b;
	int ret;

	if (len)
		return send_rep(s, NBD_OPT_LIST, NBD_REP_ERR_INVALID, NULL, 0);
	b = malloc(4 + n + dn);
	if (!b)
		return -ENOMEM;
	nbd_put32(b, (uint32_t)n);
	memcpy(b + 4, s->exp->name, n);
	memcpy(b + 4 + n, desc, dn);
	ret = send_rep(s, NBD_OPT_LIST, NBD_REP_SERVER, b, (uint32_t)(4 + n + dn));
	free(b);
	return ret ? ret : send_rep(s, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

static int send_context(struct nbd_session *s, uint32_t opt, uint32_t id, const char *name)
{
	uint8_t b[4 + NBD_MAX_STRING];
	size_t n = strlen(name);

	if (n > NBD_MAX_STRING - 32)
		return 0;
	nbd_put32(b, id);
	memcpy(b + 4, name, n);
	return send_rep(s, opt, NBD_REP_META_CONTEXT, b, (uint32_t)(4 + n));
}

static bool is(const char *q, uint32_t n, const char *word)
{
	return strlen(word) == n && !memcmp(q, word, n);
}

/* Which of our contexts a query names: a full name, or (LIST) a namespace "base:"/"qemu:"
 * or "qemu:dirty-bitmap:". Bitmaps go to *bm (bit i: bitmap i). */
static unsigned query_match(const struct nbd_session *s, const char *q, uint32_t n, bool list,
			    uint32_t *bm)
{
	const struct bc_nbd_export *e = s->exp;
	const char *pre = "qemu:dirty-bitmap:";
	size_t pl = strlen(pre);
	unsigned m = 0;

	if (is(q, n, "base:allocation") || (list && is(q, n, "base:")))
		m |= NBD_CTX_BASE;
	if (e->alloc_depth && (is(q, n, "qemu:allocation-depth") || (list && is(q, n, "qemu:"))))
		m |= NBD_CTX_DEPTH;
	for (int i = 0; i < e->nbitmaps; i++) {
		if ((list && (is(q, n, "qemu:") || is(q, n, pre))) ||
		    (n > pl && !memcmp(q, pre, pl) && is(q + pl, (uint32_t)(n - pl), e->bitmaps[i].name)))
			*bm |= 1u << i;
	}
	return m;
}

static int send_contexts(struct nbd_session *s, uint32_t opt, unsigned m, uint32_t bm)
{
	char name[NBD_MAX_STRING + 32];
	int ret = 0;

	if ((m & NBD_CTX_BASE) && (ret = send_context(s, opt, NBD_CTX_BASE, "base:allocation")) < 0)
		return ret;
	if ((m & NBD_CTX_DEPTH) &&
	    (ret = send_context(s, opt, NBD_CTX_DEPTH, "qemu:allocation-depth")) < 0)
		return ret;
	for (int i = 0; i < s->exp->nbitmaps && ret == 0; i++) {
		if (!(bm & (1u << i)))
			continue;
		snprintf(name, sizeof(name), "qemu:dirty-bitmap:%s", s->exp->bitmaps[i].name);
		ret = send_context(s, opt, NBD_CTX_BITMAP + (uint32_t)i, name);
	}
	return ret;
}

static int opt_meta(struct nbd_session *s, uint32_t opt, const uint8_t *d, uint32_t len)
{
	const uint8_t *p = d, *end = d + len;
	bool list = opt == NBD_OPT_LIST_META_CONTEXT;
	const char *name, *q;
	uint32_t nlen, qlen, bm = 0;
	unsigned m = 0;
	int ret;

	if (!s->structured)
		return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (!take_string(&p, end, &name, &nlen) || end - p < 4)
		return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
	uint32_t nq = nbd_get32(p);
	p += 4;
	for (uint32_t i = 0; i < nq; i++) {
		if (!take_string(&p, end, &q, &qlen))
			return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
		m |= query_match(s, q, qlen, list, &bm);
	}
	if (p != end)
		return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (!name_matches(s, name, nlen))
		return send_rep(s, opt, NBD_REP_ERR_UNKNOWN, NULL, 0);
	if (list && nq == 0) {
		m = NBD_CTX_BASE | (s->exp->alloc_depth ? NBD_CTX_DEPTH : 0);
		bm = s->exp->nbitmaps ? (uint32_t)((1ull << s->exp->nbitmaps) - 1) : 0;
	}
	if (!list) {
		s->ctx_base = m & NBD_CTX_BASE;
		s->ctx_depth = m & NBD_CTX_DEPTH;
		s->ctx_bitmaps = bm;
	}
	if ((ret = send_contexts(s, opt, m, bm)) < 0)
		return ret;
	return send_rep(s, opt, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_EXPORT_NAME: no error reply exists, an unknown name just closes the connection. */
static int opt_export_name(struct nbd_session *s, const uint8_t *d, uint32_t len)
{
	uint8_t b[10 + 124] = { 0 };

	if (!name_matches(s, (const char *)d, len))
		return -ENOENT;
	nbd_put64(b, bc_length(s->exp->img));
	nbd_put16(b + 8, s->tflags);
	return s->io->send(s->io->opaque, b, s->no_zeroes ? 10 : sizeof(b));
}

/* One option: <0 ends the session, 0 goes on, 1 enters transmission, 2 the client aborted. */
static int handle_option(struct nbd_session *s, uint32_t opt, const uint8_t *d, uint32_t len)
{
	int ret;

	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		ret = opt_export_name(s, d, len);
		return ret < 0 ? ret : 1;
	case NBD_OPT_ABORT:
		send_rep(s, opt, NBD_REP_ACK, NULL, 0);   /* the client may be gone already */
		return 2;
	case NBD_OPT_LIST:
		return opt_list(s, len);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info_go(s, opt, d, len);
	case NBD_OPT_STRUCTURED_REPLY:
		if (len || s->structured)
			return send_rep(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
		s->structured = true;
		return send_rep(s, opt, NBD_REP_ACK, NULL, 0);
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return opt_meta(s, opt, d, len);
	case NBD_OPT_STARTTLS:
		return send_rep(s, opt, NBD_REP_ERR_POLICY, NULL, 0);
	default:
		return send_rep(s, opt, NBD_REP_ERR_UNSUP, NULL, 0);
	}
}

static int negotiate(struct nbd_session *s)
{
	const struct bc_nbd_io *io = s->io;
	uint8_t g[18];
	uint32_t cflags, opt, len;
	uint64_t magic;
	int ret;

	nbd_put64(g, NBD_MAGIC_INIT);
	nbd_put64(g + 8, NBD_MAGIC_OPT);
	nbd_put16(g + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if ((ret = io->send(io->opaque, g, sizeof(g))) < 0 || (ret = nbd_recv_u32(io, &cflags)) < 0)
		return ret;
	if (cflags & ~(uint32_t)(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES))
		return -EINVAL;
	s->no_zeroes = cflags & NBD_FLAG_NO_ZEROES;
	for (;;) {
		if ((ret = nbd_recv_u64(io, &magic)) < 0 || (ret = nbd_recv_u32(io, &opt)) < 0 ||
		    (ret = nbd_recv_u32(io, &len)) < 0)
			return ret;
		if (magic != NBD_MAGIC_OPT)
			return -EINVAL;
		if (len > NBD_MAX_OPTION) {
			/* too big to buffer: refuse, drop the payload, and carry on */
			if ((ret = nbd_skip(io, len)) < 0)
				return ret;
			if (opt == NBD_OPT_EXPORT_NAME)
				return -EINVAL;
			if ((ret = send_rep(s, opt, NBD_REP_ERR_TOO_BIG, NULL, 0)) < 0)
				return ret;
			continue;
		}
		uint8_t *d = malloc(len ? len : 1);
		if (!d)
			return -ENOMEM;
		ret = io->recv(io->opaque, d, len);
		if (ret == 0)
			ret = handle_option(s, opt, d, len);
		free(d);
		if (ret != 0)
			return ret;
	}
}

int nbd_serve_tasks(const struct bc_nbd_export *exp, const struct bc_nbd_io *io,
		    const struct nbd_tasks *tasks)
{
	/* large (the request slots): on the heap, not on a session's stack */
	struct nbd_session *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->exp = exp;
	s->io = io;
	s->rio = tasks ? tasks->reply_io : io;
	s->tasks = tasks;
	s->tflags = transmission_flags(exp);
	ret = negotiate(s);
	if (ret == 2)
		ret = 0;
	else if (ret < 0)
		ret = ret == -ECONNRESET ? 0 : ret;
	else
		ret = nbd_server_transmission(s);
	free(s);
	return ret;
}

int bc_nbd_serve(const struct bc_nbd_export *exp, const struct bc_nbd_io *io)
{
	return nbd_serve_tasks(exp, io, NULL);
}
