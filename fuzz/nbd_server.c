/*
 * Fuzzes the NBD server (bc_nbd_serve): arbitrary bytes as everything a client sends, from the
 * client flags through options to transmission requests, against a 1 MiB raw image in memory
 * (writable, with allocation depth offered). Replies go nowhere. Every input must end the
 * session with 0 or a clean -errno, and never touch the image out of range (ASan/UBSan).
 */
#include "bc_nbd.h"
#include "fuzz_image.h"
#include "fuzz_stream.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t disk[1 << 20];
	struct fuzz_stream st = { data, size };
	struct bc_nbd_io io = { fuzz_stream_recv, fuzz_stream_sink, &st, NULL };
	struct bc_image *img = fuzz_open("nbd.raw", "raw", disk, sizeof(disk), 0, BC_OPEN_RDWR);
	struct bc_nbd_export exp = { .name = "", .description = "fuzz", .alloc_depth = true,
				     .discard = BC_NBD_DISCARD_UNMAP,
				     .detect_zeroes = BC_NBD_DZ_UNMAP };

	if (!img)
		return 0;
	exp.img = img;
	(void)bc_nbd_serve(&exp, &io);
	bc_close(img);
	return 0;
}
