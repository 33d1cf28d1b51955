/*
 * nbd-client.h — the NBD client as a host-layer back end: "nbd://..." names open as a
 * struct bc_file whose bytes live on an NBD server, so every format runs on top of it.
 */
#ifndef STRATA_NBD_CLIENT_H
#define STRATA_NBD_CLIENT_H

#include "bc_file.h"
#include "nbd-proto.h"

/* Where an NBD name points. */
struct nbd_target {
	bool is_unix;
	char host[256], port[16];
	char path[108];
	char name[NBD_MAX_STRING + 1];
	unsigned conns;              /* multi-conn=N (ours, not qemu's); 0: the default */
};

/* Whether name is one of the NBD spellings (nbd://, nbd+tcp://, nbd+unix://, nbd:). */
bool bc_nbd_is_name(const char *name);
/* Parses nbd://HOST[:PORT][/NAME], nbd+unix:///NAME?socket=PATH, nbd:unix:PATH[:exportname=N],
 * nbd:HOST:PORT[:exportname=N]. -EINVAL with qemu's words when malformed. Ours: a URI may end
 * in multi-conn=N (1-8; "?multi-conn=N", or "&multi-conn=N" after socket=PATH). */
int nbd_parse_name(const char *name, struct nbd_target *t, struct bc_err *err);
/* The canonical URI for a target (what json:/--image-opts server.* keys turn into). */
int nbd_target_uri(const struct nbd_target *t, char *buf, size_t len);

struct bc_opts;
/* json:/--image-opts: driver=nbd (or file.driver=nbd) with server.* and export keys becomes
 * file.filename=<NBD name>; *dict may be replaced. Other dicts are left alone. */
int bc_nbd_dict_rewrite(struct bc_opts **dict, struct bc_err *err);

int bc_nbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err);

/* The client's session state (for the fuzzer, which drives it over a buffer). */
struct nbd_client {
	struct bc_nbd_io io;
	int fd;
	uint64_t size;
	uint16_t tflags;
	bool structured;
	uint32_t ctx_base;           /* base:allocation's id (qemu-nbd uses 0) */
	bool has_base;               /* the server agreed to base:allocation */
	uint32_t max_block;
	uint64_t next_handle;
	/* reads: probes (without DF) in a row that found no hole, and DF reads left before the
	 * next probe (nbd_client_read_flags) */
	unsigned dense, df_left;
};
/* Handshake: fixed newstyle, structured replies, base:allocation, then GO (or EXPORT_NAME). */
int nbd_client_handshake(struct nbd_client *c, const char *export_name, struct bc_err *err);
/* A request sent and not yet fully answered (several may be in flight on one connection). */
struct nbd_pending {
	bool used;
	bool got_status;
	uint16_t type;
	uint64_t handle, off;
	uint32_t len;
	uint8_t *buf;
	bool df;                     /* a read sent with NBD_CMD_FLAG_DF */
	bool hole;                   /* a read answered with a hole chunk */
	int err;                     /* the first error a reply carried (positive errno) */
	uint32_t pnum, state;        /* block status: the first extent */
};
#define NBD_DENSE_MIN 4   /* probes in a row without a hole before reads use DF */
#define NBD_DF_RUN 63     /* DF reads between two probes */
/* The flags for a read of len bytes: NBD_CMD_FLAG_DF (one data chunk, no hole detection,
 * which costs the server a block-status lookup per read) while this connection's reads keep
 * finding no holes, with a read without it (a probe) every NBD_DF_RUN + 1; 0 otherwise. */
uint16_t nbd_client_read_flags(struct nbd_client *c, uint32_t len);
/* Fills *p for a request and encodes its header into h (to be sent by the caller). */
void nbd_client_prepare(struct nbd_client *c, struct nbd_pending *p, uint16_t type,
			uint16_t flags, uint64_t off, uint32_t len, void *buf,
			uint8_t h[NBD_REQUEST_SIZE]);
/* Sends one request (and a write's payload) and fills *p to await its reply. */
int nbd_client_send(struct nbd_client *c, struct nbd_pending *p, uint16_t type, uint16_t flags,
		    uint64_t off, uint32_t len, void *buf);
/* Reads one reply or one reply chunk and applies it to the entry of tab[0..n) its handle names;
 * *done is that entry when its reply is complete, else NULL. <0: the stream is broken (an
 * unknown handle or a malformed reply included). */
int nbd_client_recv_one(struct nbd_client *c, struct nbd_pending *tab, unsigned n,
			struct nbd_pending **done);
/* One request and its whole reply. Reads fill buf; block status fills *pnum and *state with the
 * first extent. Every reply field is checked against the request. */
int nbd_client_request(struct nbd_client *c, uint16_t type, uint16_t flags, uint64_t off,
		       uint32_t len, void *buf, uint32_t *pnum, uint32_t *state);

/* One connection of the back end: its session, the queued requests in flight on it and the
 * read requests gathered but not sent yet. */
#define NBD_QUEUE 32      /* queued requests in flight on one connection at most */
struct bc_aio;
struct nbd_conn {
	struct nbd_client c;
	struct nbd_pending pend[NBD_QUEUE];
	struct bc_aio *pend_req[NBD_QUEUE];
	unsigned inflight;
	uint8_t out[NBD_QUEUE * NBD_REQUEST_SIZE];
	size_t out_len;
	struct bc_nbd_sock sock;
};
/* A socket to t (TCP_NODELAY over TCP), or -errno with qemu's words. */
int nbd_connect_target(const struct nbd_target *t, struct bc_err *err);
/* Connects and shakes hands; timeout_ms (0: none) bounds each receive and send of it. */
int nbd_conn_open(struct nbd_conn **out, const struct nbd_target *t, int timeout_ms,
		  struct bc_err *err);

#endif
