/*
 * Fuzzes the vdi driver with arbitrary bytes as the image file: open (header and block map
 * validation), reads across the blocks, block status, check, and one allocating write on a
 * writable copy. Every failure must be a clean negative errno; ASan/UBSan catch the rest.
 */
#include "fuzz_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GROWTH (4u << 20)   /* room for a few newly allocated blocks */

static void exercise_reads(struct bc_image *img)
{
	uint8_t buf[4096];
	struct bc_extent ext;
	uint64_t off = 0;

	/* The first and last bytes of up to 256 blocks, and one read across a block edge. */
	for (uint64_t b = 0; b < 256 && b * (1u << 20) < img->size; b++) {
		uint64_t o = b << 20;
		size_t n = img->size - o < sizeof(buf) ? (size_t)(img->size - o) : sizeof(buf);

		(void)bc_read(img, o, buf, n);
		if (img->size - o >= (1u << 20) + 100)
			(void)bc_read(img, o + (1u << 20) - 100, buf, 200);
	}
	for (int i = 0; i < 64 && off < img->size; i++) {
		if (bc_block_status(img, off, img->size - off, &ext) < 0 || !ext.len ||
		    ext.len > img->size - off)
			break;
		off += ext.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_image *img;
	struct bc_check res;
	struct bc_err err = { 0 };
	uint8_t pattern[600];

	if ((img = fuzz_open("fuzz.vdi", "vdi", data, size, FUZZ_GROWTH, BC_OPEN_NO_BACKING))) {
		exercise_reads(img);
		memset(&res, 0, sizeof(res));
		(void)bc_check(img, &res, 0, &err);
		bc_check_free(&res);
		bc_close(img);
	}
	if ((img = fuzz_open("fuzz.vdi", "vdi", data, size, FUZZ_GROWTH, BC_OPEN_RDWR | BC_OPEN_NO_BACKING))) {
		/* One allocating write where the input's last byte points, one in-place write,
		 * a small write-zeroes; each block written costs 1 MiB, so keep it to two. */
		uint64_t blocks = (img->size + (1u << 20) - 1) >> 20;
		uint64_t at = blocks ? ((uint64_t)data[size - 1] % blocks) << 20 : 0;

		memset(pattern, 0xa5, sizeof(pattern));
		if (img->size >= 4096 + 100) {
			if (at + sizeof(pattern) > img->size)
				at = img->size - sizeof(pattern);
			(void)bc_write(img, at, pattern, sizeof(pattern));
			(void)bc_write(img, 0, pattern, sizeof(pattern));
			(void)bc_write_zeroes(img, 100, 4096, 0);
		}
		exercise_reads(img);
		bc_close(img);
	}
	return 0;
}
