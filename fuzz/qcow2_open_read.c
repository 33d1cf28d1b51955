/*
 * Fuzzes the qcow2 driver with arbitrary bytes as the image file: open (header, extensions,
 * tables), reads and block status across the image, check, then on a writable copy a few
 * writes (partial, whole-cluster, zeroes, discard), flush and close. The memory file may
 * grow by a bounded amount. Every failure must be a clean negative errno.
 */
#include "bc_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GROWTH (8u << 20)

static int open_bytes(struct bc_image *img, struct bc_file **f, const uint8_t *data, size_t size,
		      bool rw)
{
	struct bc_err err = { 0 };
	int ret = bc_file_open_mem(f, "fuzz.qcow2", data, size, size + FUZZ_GROWTH);

	if (ret < 0)
		return ret;
	(*f)->writable = rw;
	memset(img, 0, sizeof(*img));
	img->fmt = &bc_format_qcow2;
	img->file = *f;
	img->filename = (char *)"fuzz.qcow2";
	img->flags = (rw ? BC_OPEN_RDWR : 0) | BC_OPEN_NO_BACKING;
	img->align = 1;
	ret = bc_format_qcow2.open(img, &err);
	if (ret < 0) {
		bc_file_close(*f);
		return ret;
	}
	return 0;
}

static void close_img(struct bc_image *img, struct bc_file *f)
{
	bc_format_qcow2.close(img);
	free(img->backing_name);
	free(img->backing_fmt);
	bc_file_close(f);
}

static void exercise_reads(struct bc_image *img)
{
	static uint8_t buf[1 << 16];
	struct bc_extent ext;
	uint64_t off = 0, step = img->size / 64 + 1;

	/* The first 256 KiB, then 64 samples spread over the whole virtual disk. */
	for (uint64_t o = 0; o < img->size && o < (256u << 10); o += sizeof(buf)) {
		size_t n = img->size - o < sizeof(buf) ? (size_t)(img->size - o) : sizeof(buf);
		(void)bc_format_qcow2.read(img, o, buf, n);
	}
	for (uint64_t o = 0; o < img->size; o += step) {
		size_t n = img->size - o < 5000 ? (size_t)(img->size - o) : 5000;
		(void)bc_format_qcow2.read(img, o, buf, n);
		if (o > UINT64_MAX - step)
			break;
	}
	for (int i = 0; i < 64 && off < img->size; i++) {
		if (bc_format_qcow2.block_status(img, off, img->size - off, &ext) < 0 || !ext.len ||
		    ext.len > img->size - off)
			break;
		off += ext.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_image img;
	struct bc_file *f;
	struct bc_check res;
	struct bc_err err = { 0 };
	static uint8_t pat[70000];

	if (size > (1u << 20))
		return 0;
	if (open_bytes(&img, &f, data, size, false) == 0) {
		exercise_reads(&img);
		memset(&res, 0, sizeof(res));
		(void)bc_format_qcow2.check(&img, &res, 0, &err);
		bc_check_free(&res);
		close_img(&img, f);
	}
	if (open_bytes(&img, &f, data, size, true) == 0) {
		uint64_t sz = img.size;
		memset(pat, 0x5a, sizeof(pat));
		if (sz) {
			(void)bc_format_qcow2.write(&img, 0, pat, sz < 700 ? (size_t)sz : 700);
			(void)bc_format_qcow2.write(&img, sz / 2, pat,
						    sz - sz / 2 < sizeof(pat) ? (size_t)(sz - sz / 2)
									      : sizeof(pat));
			(void)bc_format_qcow2.write_zeroes(&img, sz / 3, sz - sz / 3 < 131072 ? sz - sz / 3 : 131072,
							   BC_ZERO_MAY_UNMAP);
			(void)bc_format_qcow2.discard(&img, 0, sz < (1u << 20) ? sz : (1u << 20));
			(void)bc_format_qcow2.write(&img, sz - 1, pat, 1);
		}
		(void)bc_format_qcow2.flush(&img);
		exercise_reads(&img);
		memset(&res, 0, sizeof(res));
		(void)bc_format_qcow2.check(&img, &res, BC_FIX_LEAKS | BC_FIX_ERRORS, &err);
		bc_check_free(&res);
		close_img(&img, f);
	}
	return 0;
}
