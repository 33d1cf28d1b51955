/* Private to the NBD server: the state one session carries from negotiation to transmission. */
#ifndef STRATA_NBD_SERVER_H
#define STRATA_NBD_SERVER_H

#include "bc_nbd.h"

/* metadata context ids: bitmap i of the export is NBD_CTX_BITMAP + i */
enum { NBD_CTX_BASE = 1, NBD_CTX_DEPTH = 2, NBD_CTX_BITMAP = 3 };

/* Requests one session keeps in flight at most, and the payload bytes it holds before it
 * stops taking new ones (one request of any size is always taken). */
#define NBD_SERVER_QD 32
#define NBD_SERVER_INFLIGHT_BYTES (32u << 20)

/* The event loop's services to a session (nbd-loop.c). The session's first task reads
 * requests and starts them; a second task, spawned on transmission, sends the replies as
 * the requests complete. Every call comes from the loop's thread. */
struct nbd_tasks {
	void *arg;
	/* starts fn(fnarg) as the session's second task; 0 or -errno */
	int (*spawn)(void *arg, void (*fn)(void *fnarg), void *fnarg);
	/* task `which` (0 first, 1 second: the caller) sleeps until woken; -ESHUTDOWN when the
	 * loop is stopping */
	int (*sleep)(void *arg, int which);
	/* task `which` runs again soon if it sleeps (else nothing happens) */
	void (*wake)(void *arg, int which);
	/* sends what the second task's output buffer gathered; 0 or -errno */
	int (*flush)(void *arg);
	const struct bc_nbd_io *reply_io;   /* what the second task sends through */
};

struct piece {
	uint64_t off;
	uint32_t len;
	bool zero;
};

/* One request from its header to its reply. */
struct nbd_slot {
	struct nbd_session *s;
	struct nbd_request r;
	int err;                     /* errno for the reply (positive), 0: success */
	int pending;                 /* engine requests still running, +1 while starting */
	bool busy;                   /* taken by a request */
	bool sparse;                 /* a structured read sent as data and hole chunks */
	uint8_t *buf;                /* payload (aligned for O_DIRECT) */
	size_t cap;
	struct piece *p;             /* sparse: the runs of the read */
	size_t np, pcap;
	struct bc_aio *aio;          /* one per data run (or one) */
	size_t aiocap;
	struct nbd_slot *next;       /* on the completed list */
	uint64_t seq;                /* the order requests came in */
	uint32_t bytes;              /* payload bytes counted in busy_bytes */
};

struct nbd_session {
	const struct bc_nbd_export *exp;
	const struct bc_nbd_io *io;      /* requests come in here (and the handshake goes out) */
	const struct bc_nbd_io *rio;     /* replies go out here */
	const struct nbd_tasks *tasks;   /* NULL: one request at a time */
	bool structured;
	bool no_zeroes;
	bool ctx_base, ctx_depth;    /* contexts selected by NBD_OPT_SET_META_CONTEXT */
	uint32_t ctx_bitmaps;        /* bit i: the export's bitmap i selected */
	uint16_t tflags;             /* transmission flags */
	/* transmission */
	struct nbd_slot slots[NBD_SERVER_QD];
	int nbusy;
	uint64_t next_seq;
	uint64_t busy_bytes;
	struct nbd_slot *done_head, *done_tail;   /* completed, in completion order */
	bool reading_done;           /* the first task takes no more requests */
	bool replier_done;           /* the second task ended */
	bool send_failed;            /* replies are dropped: the client is gone */
	bool sleeping[2];
};

/* Transmission phase: serves requests until the client leaves. */
int nbd_server_transmission(struct nbd_session *s);
/* bc_nbd_serve with the loop's tasks (NULL: as bc_nbd_serve). */
int nbd_serve_tasks(const struct bc_nbd_export *exp, const struct bc_nbd_io *io,
		    const struct nbd_tasks *tasks);

#endif
