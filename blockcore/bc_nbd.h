/*
 * bc_nbd.h — serving an open image over NBD (strata-nbd's engine half). One call runs one
 * client's whole session: fixed-newstyle negotiation, then transmission until the client
 * disconnects. Sessions of several clients may run at once on threads when they share `lock`.
 */
#ifndef STRATA_BC_NBD_H
#define STRATA_BC_NBD_H

#include "bc.h"
#include "nbd-proto.h"

#include <pthread.h>
#include <signal.h>

enum bc_nbd_discard { BC_NBD_DISCARD_IGNORE = 0, BC_NBD_DISCARD_UNMAP };
enum bc_nbd_dzero { BC_NBD_DZ_OFF = 0, BC_NBD_DZ_ON, BC_NBD_DZ_UNMAP };

/* A dirty bitmap offered as the qemu:dirty-bitmap:NAME context (bit i: bytes [i*g, (i+1)*g)
 * dirty, LSB first). An enabled bitmap also records the writes made through the export. */
struct bc_nbd_bitmap {
	const char *name;
	uint8_t *bits;
	uint64_t nbits, granularity;
	bool enabled;
};
#define BC_NBD_MAX_BITMAPS 16

/* What the server counts (for tests and benches; updated on the serving thread). */
struct bc_nbd_stats {
	long max_inflight;           /* most requests one session had taken and not yet answered */
	long out_of_order;           /* replies sent before the reply of an earlier request */
};

struct bc_nbd_export {
	const char *name;            /* "" by default */
	const char *description;     /* NULL: none */
	struct bc_image *img;
	bool readonly;
	bool multi_conn;             /* advertise NBD_FLAG_CAN_MULTI_CONN */
	bool alloc_depth;            /* offer qemu:allocation-depth */
	struct bc_nbd_bitmap *bitmaps;   /* nbitmaps of them; changed under lock */
	int nbitmaps;
	enum bc_nbd_discard discard;
	enum bc_nbd_dzero detect_zeroes;
	pthread_mutex_t *lock;       /* held around every engine call; NULL: single session */
	bool no_uring;               /* bc_nbd_serve_loop: wait with poll(2) even where io_uring works */
	struct bc_nbd_stats *stats;  /* NULL: not counted */
};

/* Runs one session on io, one request at a time. Returns 0 when the client ended it (NBD_OPT_ABORT, NBD_CMD_DISC,
 * or a close between requests), -errno when the stream broke or could not be trusted. The
 * image is only touched by well-formed, in-range requests. */
int bc_nbd_serve(const struct bc_nbd_export *exp, const struct bc_nbd_io *io);

/* Serves the clients that connect to the listening socket lfd, all on the calling thread: an
 * io_uring (else poll) loop with two coroutines per session, one reading and starting
 * requests (up to 32 in flight, reads and writes on the engine's queue), one sending replies
 * as they complete (exp->lock is not needed). At most
 * `shared` sessions at once (0: any number; others wait in the backlog). Returns when *stop
 * is set (a signal handler's flag, seen within 100 ms) or, unless persistent, when the last
 * client left; 0, or -errno when the loop itself failed. */
int bc_nbd_serve_loop(const struct bc_nbd_export *exp, int lfd, long shared, bool persistent,
		      volatile sig_atomic_t *stop);

#endif
