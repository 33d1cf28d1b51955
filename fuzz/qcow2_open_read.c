/*
 * Fuzzes the qcow2 driver with arbitrary bytes as the image file: open (header, extensions,
 * tables), reads and block status across the image, check, then on a writable copy a few
 * writes (partial, whole-cluster, zeroes, discard), flush and close. The memory file may
 * grow by a bounded amount. Every failure must be a clean negative errno.
 */
#include "fuzz_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GROWTH (8u << 20)

static void exercise_reads(struct bc_image *img)
{
	static uint8_t buf[1 << 16];
	struct bc_extent ext;
	uint64_t off = 0, step = img->size / 64 + 1;

	/* The first 256 KiB, then 64 samples spread over the whole virtual disk. */
	for (uint64_t o = 0; o < img->size && o < (256u << 10); o += sizeof(buf)) {
		size_t n = img->size - o < sizeof(buf) ? (size_t)(img->size - o) : sizeof(buf);
		(void)bc_read(img, o, buf, n);
	}
	for (uint64_t o = 0; o < img->size; o += step) {
		size_t n = img->size - o < 5000 ? (size_t)(img->size - o) : 5000;
		(void)bc_read(img, o, buf, n);
		if (o > UINT64_MAX - step)
			break;
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
	static uint8_t pat[70000];

	if (size > (1u << 20))
		return 0;
	if ((img = fuzz_open("fuzz.qcow2", "qcow2", data, size, FUZZ_GROWTH, BC_OPEN_NO_BACKING))) {
		exercise_reads(img);
		memset(&res, 0, sizeof(res));
		(void)bc_check(img, &res, 0, &err);
		bc_check_free(&res);
		bc_close(img);
	}
	if ((img = fuzz_open("fuzz.qcow2", "qcow2", data, size, FUZZ_GROWTH, BC_OPEN_RDWR | BC_OPEN_NO_BACKING))) {
		uint64_t sz = img->size;
		memset(pat, 0x5a, sizeof(pat));
		if (sz) {
			(void)bc_write(img, 0, pat, sz < 700 ? (size_t)sz : 700);
			(void)bc_write(img, sz / 2, pat,
				       sz - sz / 2 < sizeof(pat) ? (size_t)(sz - sz / 2) : sizeof(pat));
			(void)bc_write_zeroes(img, sz / 3, sz - sz / 3 < 131072 ? sz - sz / 3 : 131072,
					      BC_ZERO_MAY_UNMAP);
			(void)bc_discard(img, 0, sz < (1u << 20) ? sz : (1u << 20));
			(void)bc_write(img, sz - 1, pat, 1);
		}
		(void)bc_flush(img);
		exercise_reads(img);
		memset(&res, 0, sizeof(res));
		(void)bc_check(img, &res, BC_FIX_LEAKS | BC_FIX_ERRORS, &err);
		bc_check_free(&res);
		bc_close(img);
	}
	/* as qemu-img check opens it: a damaged snapshot table is read and repaired by check */
	if ((img = fuzz_open("fuzz.qcow2", "qcow2", data, size, FUZZ_GROWTH,
			     BC_OPEN_RDWR | BC_OPEN_NO_BACKING | BC_OPEN_NO_REPAIR | BC_OPEN_CHECK))) {
		struct bc_snapshot *list = NULL;
		int n = 0;
		memset(&res, 0, sizeof(res));
		(void)bc_check(img, &res, BC_FIX_LEAKS | BC_FIX_ERRORS, &err);
		bc_check_free(&res);
		if (bc_snapshot_list(img, &list, &n, &err) == 0)
			free(list);
		bc_close(img);
	}
	return 0;
}
