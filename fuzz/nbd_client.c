/*
 * Fuzzes the NBD client's parsers: arbitrary bytes as everything a server sends — greeting,
 * option replies (structured replies, meta contexts, GO info) and then the replies (simple and
 * structured chunks) to a fixed run of requests: read, block status, write, zeroes, flush.
 * Every reply field must be checked against its request (ASan/UBSan catch what is not).
 */
#include "fuzz_stream.h"
#include "nbd-client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream st = { data, size };
	struct nbd_client c = { .io = { fuzz_stream_recv, fuzz_stream_sink, &st }, .fd = -1 };
	struct bc_err err = { 0 };
	static uint8_t buf[8192];
	uint32_t pnum = 0, state = 0;

	if (nbd_client_handshake(&c, "", &err) < 0)
		return 0;
	/* the requests the file back end sends, each checked against whatever came back */
	if (nbd_client_request(&c, NBD_CMD_READ, 0, 4096, sizeof(buf), buf, NULL, NULL) == -ECONNRESET)
		return 0;
	if (nbd_client_request(&c, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0, 1u << 20, NULL,
			       &pnum, &state) == -ECONNRESET)
		return 0;
	if (nbd_client_request(&c, NBD_CMD_WRITE, 0, 0, 512, buf, NULL, NULL) == -ECONNRESET)
		return 0;
	if (nbd_client_request(&c, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 0, 4096, NULL, NULL,
			       NULL) == -ECONNRESET)
		return 0;
	(void)nbd_client_request(&c, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL, NULL);
	return 0;
}
