/*
 * Fuzzes qcow2's legacy AES paths: the input as a qcow2 image with its crypt_method forced to
 * 1 (AES-CBC), opened with a secret (key from the passphrase, IVs from guest offsets), read
 * (decrypting whatever clusters the tables name), written (encrypting, read-modify-write of
 * unaligned requests), checked, info (the encrypt block); then opened for info without the
 * secret. LUKS (method 2) is left to luks_header: its iteration counts come from the input.
 */
#include "fuzz_image.h"
#include "secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GROWTH (4u << 20)

static struct bc_image *open_aes(uint8_t *buf, size_t size, unsigned flags, struct bc_opts *dopts)
{
	struct bc_open_opts oo = { .format = "qcow2", .flags = flags | BC_OPEN_NO_BACKING,
				   .driver_opts = dopts };
	struct bc_err err = { 0 };
	struct bc_image *img;
	struct bc_file *f;

	if (bc_file_open_mem(&f, "fuzz.qcow2", buf, size, size + FUZZ_GROWTH) < 0)
		return NULL;
	if (bc_open_file(&img, f, &oo, &err) < 0)
		return NULL;
	return img;
}

static void exercise(struct bc_image *img, bool rw)
{
	static uint8_t buf[70000];
	struct bc_err err = { 0 };
	struct bc_info info;
	struct bc_check res;
	uint64_t sz = img->size, step = sz / 32 + 512;

	for (uint64_t o = 0; o < sz && o < (1u << 20); o += step) {
		size_t n = sz - o < 4608 ? (size_t)(sz - o) : 4608;
		(void)bc_read(img, o & ~511ull, buf, n & ~511ul);
		if (rw && (o & 1))
			(void)bc_write(img, o, buf, n > 700 ? 700 : n);
	}
	if (rw && sz)
		(void)bc_write_zeroes(img, sz / 2, sz - sz / 2 < 65536 ? sz - sz / 2 : 65536, 0);
	(void)bc_flush(img);
	if (bc_get_info(img, &info, &err) == 0)
		bc_info_free(&info);
	memset(&res, 0, sizeof(res));
	(void)bc_check(img, &res, 0, &err);
	bc_check_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bc_opts *dopts;
	struct bc_err err = { 0 };
	struct bc_image *img;
	uint8_t *copy;

	if (size < 72 || size > (1u << 20))
		return 0;
	if (!dopts) {
		dopts = bc_opts_new();
		if (!dopts || bc_secret_object_add("secret,id=aes0,data=fuzzpass", &err) < 0 ||
		    bc_opts_set(dopts, "encrypt.key-secret", "aes0") < 0)
			abort();
	}
	if (!(copy = malloc(size)))
		return 0;
	memcpy(copy, data, size);
	copy[32] = copy[33] = copy[34] = 0;   /* crypt_method (be32 at 32) = 1: AES */
	copy[35] = 1;
	if ((img = open_aes(copy, size, 0, dopts))) {
		exercise(img, false);
		bc_close(img);
	}
	if ((img = open_aes(copy, size, BC_OPEN_RDWR, dopts))) {
		exercise(img, true);
		bc_close(img);
	}
	if ((img = open_aes(copy, size, BC_OPEN_NO_IO, NULL))) {
		struct bc_info info;
		if (bc_get_info(img, &info, &err) == 0)
			bc_info_free(&info);
		bc_close(img);
	}
	free(copy);
	return 0;
}
