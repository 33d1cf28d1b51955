/* Private to the NBD server: the state one session carries from negotiation to transmission. */
#ifndef STRATA_NBD_SERVER_H
#define STRATA_NBD_SERVER_H

#include "bc_nbd.h"

/* metadata context ids: bitmap i of the export is NBD_CTX_BITMAP + i */
enum { NBD_CTX_BASE = 1, NBD_CTX_DEPTH = 2, NBD_CTX_BITMAP = 3 };

struct nbd_session {
	const struct bc_nbd_export *exp;
	const struct bc_nbd_io *io;
	bool structured;
	bool no_zeroes;
	bool ctx_base, ctx_depth;    /* contexts selected by NBD_OPT_SET_META_CONTEXT */
	uint32_t ctx_bitmaps;        /* bit i: the export's bitmap i selected */
	uint16_t tflags;             /* transmission flags */
};

/* Transmission phase: serves requests until the client leaves. */
int nbd_server_transmission(struct nbd_session *s);

#endif
