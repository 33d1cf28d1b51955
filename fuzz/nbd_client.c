/*
 * Fuzzes the NBD client's parsers: arbitrary bytes as everything a server sends — greeting,
 * option replies (structured replies, meta contexts, GO info) and then the replies (simple and
 * structured chunks) to a fixed run of requests: read, block status, write, zeroes, flush.
 * Every reply field must be checked against its request (ASan/UBSan catch what is not).
 * The same bytes then come through a socket and the buffered socket reader the file back end
 * uses (corked requests, payloads of 32 KiB+ received straight into their buffers with the
 * next header behind them), for three reads in flight together.
 */
#include "fuzz_stream.h"
#include "nbd-client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void through_socket(const uint8_t *data, size_t size)
{
	static struct bc_nbd_sock sock;
	/* 36 KiB: a payload read straight into its buffer; all three fit in max_len */
	static uint8_t big[36864], small[4096], mid[20480];
	struct nbd_client c = { 0 };
	struct nbd_pending pend[3], *done;
	struct bc_err err = { 0 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	/* all of the input waits in the socket; then the server side stops sending */
	if (send(sv[1], data, size, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)size ||
	    shutdown(sv[1], SHUT_WR) < 0)
		goto out;
	c.fd = sv[0];
	bc_nbd_io_sock(&c.io, &sock, sv[0]);
	sock.cork = true;
	if (nbd_client_handshake(&c, "", &err) < 0 ||
	    nbd_client_send(&c, &pend[0], NBD_CMD_READ, 0, 0, sizeof(big), big) < 0 ||
	    nbd_client_send(&c, &pend[1], NBD_CMD_READ, 0, 65536, sizeof(small), small) < 0 ||
	    nbd_client_send(&c, &pend[2], NBD_CMD_READ, 0, 69632, sizeof(mid), mid) < 0)
		goto out;
	for (int k = 0; k < 3;) {
		if (nbd_client_recv_one(&c, pend, 3, &done) < 0)
			break;
		if (done) {
			done->used = false;
			k++;
		}
	}
out:
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream st = { data, size };
	struct nbd_client c = { .io = { fuzz_stream_recv, fuzz_stream_sink, &st }, .fd = -1 };
	struct bc_err err = { 0 };
	static uint8_t buf[8192];
	uint32_t pnum = 0, state = 0;

	through_socket(data, size);
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
