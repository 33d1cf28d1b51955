/* fuzz_stream.h - fuzz input as a byte stream a protocol reads from (the NBD harnesses' peer),
 * and a sink for what it sends back. */
#ifndef STRATA_FUZZ_STREAM_H
#define STRATA_FUZZ_STREAM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_stream {
	const uint8_t *p;
	size_t left;
};

/* Reads len bytes of the input; -ECONNRESET (the peer hung up) once it runs out. */
static inline int fuzz_stream_recv(void *opaque, void *buf, size_t len)
{
	struct fuzz_stream *s = opaque;

	if (len > s->left)
		return -ECONNRESET;
	memcpy(buf, s->p, len);
	s->p += len;
	s->left -= len;
	return 0;
}

/* Accepts and drops everything sent. */
static inline int fuzz_stream_sink(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
	return 0;
}

#endif
