/*
 * nbd-proto.h — the NBD wire protocol (NetworkBlockDevice doc/proto.md), shared by the
 * server (nbd-server.c) and the client back end (nbd-client.c): constants, big-endian field
 * helpers and a byte transport that the fuzzers replace with a buffer.
 */
#ifndef STRATA_NBD_PROTO_H
#define STRATA_NBD_PROTO_H

#include "bc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NBD_DEFAULT_PORT 10809

#define NBD_MAGIC_INIT     0x4e42444d41474943ull  /* "NBDMAGIC" */
#define NBD_MAGIC_OPT      0x49484156454f5054ull  /* "IHAVEOPT" */
#define NBD_MAGIC_REP      0x0003e889045565a9ull
#define NBD_MAGIC_REQUEST  0x25609513u
#define NBD_MAGIC_SIMPLE   0x67446698u
#define NBD_MAGIC_CHUNK    0x668e33efu

/* handshake flags (server) and client flags */
enum { NBD_FLAG_FIXED_NEWSTYLE = 1, NBD_FLAG_NO_ZEROES = 2 };

enum nbd_opt {
	NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3, NBD_OPT_STARTTLS = 5,
	NBD_OPT_INFO = 6, NBD_OPT_GO = 7, NBD_OPT_STRUCTURED_REPLY = 8,
	NBD_OPT_LIST_META_CONTEXT = 9, NBD_OPT_SET_META_CONTEXT = 10,
};

#define NBD_REP_ERR(n) ((1u << 31) | (n))
enum {
	NBD_REP_ACK = 1, NBD_REP_SERVER = 2, NBD_REP_INFO = 3, NBD_REP_META_CONTEXT = 4,
	NBD_REP_ERR_UNSUP = NBD_REP_ERR(1), NBD_REP_ERR_POLICY = NBD_REP_ERR(2),
	NBD_REP_ERR_INVALID = NBD_REP_ERR(3), NBD_REP_ERR_PLATFORM = NBD_REP_ERR(4),
	NBD_REP_ERR_TLS_REQD = NBD_REP_ERR(5), NBD_REP_ERR_UNKNOWN = NBD_REP_ERR(6),
	NBD_REP_ERR_SHUTDOWN = NBD_REP_ERR(7), NBD_REP_ERR_TOO_BIG = NBD_REP_ERR(9),
};

enum { NBD_INFO_EXPORT = 0, NBD_INFO_NAME = 1, NBD_INFO_DESCRIPTION = 2, NBD_INFO_BLOCK_SIZE = 3 };

/* transmission flags */
enum {
	NBD_FLAG_HAS_FLAGS = 1u << 0, NBD_FLAG_READ_ONLY = 1u << 1, NBD_FLAG_SEND_FLUSH = 1u << 2,
	NBD_FLAG_SEND_FUA = 1u << 3, NBD_FLAG_ROTATIONAL = 1u << 4, NBD_FLAG_SEND_TRIM = 1u << 5,
	NBD_FLAG_SEND_WRITE_ZEROES = 1u << 6, NBD_FLAG_SEND_DF = 1u << 7,
	NBD_FLAG_CAN_MULTI_CONN = 1u << 8, NBD_FLAG_SEND_CACHE = 1u << 10,
	NBD_FLAG_SEND_FAST_ZERO = 1u << 11,
};

enum nbd_cmd {
	NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3, NBD_CMD_TRIM = 4,
	NBD_CMD_CACHE = 5, NBD_CMD_WRITE_ZEROES = 6, NBD_CMD_BLOCK_STATUS = 7,
};
enum {
	NBD_CMD_FLAG_FUA = 1u << 0, NBD_CMD_FLAG_NO_HOLE = 1u << 1, NBD_CMD_FLAG_DF = 1u << 2,
	NBD_CMD_FLAG_REQ_ONE = 1u << 3, NBD_CMD_FLAG_FAST_ZERO = 1u << 4,
};

enum { NBD_REPLY_FLAG_DONE = 1 };
enum {
	NBD_REPLY_TYPE_NONE = 0, NBD_REPLY_TYPE_OFFSET_DATA = 1, NBD_REPLY_TYPE_OFFSET_HOLE = 2,
	NBD_REPLY_TYPE_BLOCK_STATUS = 5, NBD_REPLY_TYPE_ERROR = (1 << 15) | 1,
	NBD_REPLY_TYPE_ERROR_OFFSET = (1 << 15) | 2,
};

/* base:allocation bits */
enum { NBD_STATE_HOLE = 1, NBD_STATE_ZERO = 2 };

/* NBD errno values (the protocol's own numbering) */
enum { NBD_EPERM = 1, NBD_EIO = 5, NBD_ENOMEM = 12, NBD_EINVAL = 22, NBD_ENOSPC = 28,
       NBD_EOVERFLOW = 75, NBD_ENOTSUP = 95, NBD_ESHUTDOWN = 108 };

#define NBD_REQUEST_SIZE 28
#define NBD_SIMPLE_REPLY_SIZE 16
#define NBD_CHUNK_HEADER_SIZE 20
#define NBD_MAX_STRING 4096           /* export names, descriptions, context names */
#define NBD_MAX_BUFFER (32u << 20)    /* largest read/write payload either side accepts */
#define NBD_MAX_OPTION (64u << 10)    /* largest option payload the server reads */

/* A byte stream: recv/send move all of len or return -errno (-ECONNRESET at end of stream). */
struct bc_nbd_io {
	int (*recv)(void *opaque, void *buf, size_t len);
	int (*send)(void *opaque, const void *buf, size_t len);
	void *opaque;
	/* Optional: sends the buffers in order as one (NULL: send is called for each). */
	int (*sendv)(void *opaque, const struct iovec *iov, int n);
};
/* The transport over a socket; opaque points at the int fd. */
void bc_nbd_io_fd(struct bc_nbd_io *io, int *fd);

/* A socket read through a buffer: the small headers of many requests or replies that arrive
 * together are taken with one recv; large payloads still go straight into their buffers.
 * With `cork`, small sends gather too and go out together before the next recv would block
 * (the peer cannot be waiting for them then) or by bc_nbd_sock_flush. */
#define NBD_SOCK_TAIL 4096    /* what a large payload's recv takes past it (see sock_recv) */
struct bc_nbd_sock {
	int fd;
	bool cork;
	bool big;                     /* the last payload read was large */
	/* A non-blocking socket's owner: called when it would block (out: for sending), returns
	 * 0 once it may be ready or -errno to give up. NULL: EAGAIN is an error. */
	int (*wait)(void *arg, bool out);
	/* Optional, with wait: receives in its stead (an io_uring recv): the bytes that came
	 * (at least one), 0 at the end of the stream, or -errno. */
	ssize_t (*recv)(void *arg, void *buf, size_t len);
	void *wait_arg;
	size_t pos, end, out_len;
	uint8_t buf[64 * 1024];
	uint8_t out[256 * 1024];
};
void bc_nbd_io_sock(struct bc_nbd_io *io, struct bc_nbd_sock *s, int fd);
int bc_nbd_sock_flush(struct bc_nbd_sock *s);
/* Whether received bytes wait in the buffer (a next reply has begun to arrive). */
static inline bool bc_nbd_sock_pending(const struct bc_nbd_sock *s) { return s->pos < s->end; }

struct nbd_request {
	uint16_t flags, type;
	uint64_t handle, off;
	uint32_t len;
};

static inline void nbd_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void nbd_put32(uint8_t *p, uint32_t v)
{ nbd_put16(p, (uint16_t)(v >> 16)); nbd_put16(p + 2, (uint16_t)v); }
static inline void nbd_put64(uint8_t *p, uint64_t v)
{ nbd_put32(p, (uint32_t)(v >> 32)); nbd_put32(p + 4, (uint32_t)v); }
static inline uint16_t nbd_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t nbd_get32(const uint8_t *p)
{ return (uint32_t)nbd_get16(p) << 16 | nbd_get16(p + 2); }
static inline uint64_t nbd_get64(const uint8_t *p)
{ return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4); }

void nbd_encode_request(uint8_t out[NBD_REQUEST_SIZE], const struct nbd_request *r);
/* -EINVAL when the magic is wrong (the stream cannot be trusted any more). */
int nbd_decode_request(const uint8_t in[NBD_REQUEST_SIZE], struct nbd_request *r);
/* errno (positive, host) <-> the protocol's error numbers, as the spec maps them. */
uint32_t nbd_errno_to_wire(int err);
int nbd_wire_to_errno(uint32_t err);

int nbd_send_u32(const struct bc_nbd_io *io, uint32_t v);
int nbd_send_u64(const struct bc_nbd_io *io, uint64_t v);
int nbd_recv_u16(const struct bc_nbd_io *io, uint16_t *v);
int nbd_recv_u32(const struct bc_nbd_io *io, uint32_t *v);
int nbd_recv_u64(const struct bc_nbd_io *io, uint64_t *v);
/* Reads and drops len bytes. */
int nbd_skip(const struct bc_nbd_io *io, uint64_t len);

#endif
