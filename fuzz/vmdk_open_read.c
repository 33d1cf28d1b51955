/*
 * Fuzzes the vmdk driver with arbitrary bytes: the descriptor parser and header decoder on the
 * raw buffer, then the bytes as an image file (hosted sparse or text descriptor): open, reads
 * across grains, block status, info, check, and on a writable copy an allocating write, a
 * zero write and a read back. Every failure must be a clean negative errno.
 *
 * The image is named below a directory that does not exist, so that a text descriptor can
 * never reach a real extent file.
 */
#include "formats/vmdk/vmdk.h"
#include "fuzz_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "/nonexistent-strata-fuzz/fuzz.vmdk"
#define FUZZ_GROWTH (4u << 20)

static void exercise_reads(struct bc_image *img)
{
	static uint8_t buf[8192];
	struct bc_extent ext;
	uint64_t off = 0, step = 65536;

	for (uint64_t i = 0; i < 128 && i * step < img->size; i++) {
		uint64_t o = i * step;
		size_t n = img->size - o < 512 ? (size_t)(img->size - o) : 512;
		(void)bc_read(img, o, buf, n);
		if (img->size - o >= step + 4096)
			(void)bc_read(img, o + step - 4096, buf, 8192);
	}
	if (img->size > 1024)
		(void)bc_read(img, img->size - 1024, buf, 1024);
	for (int i = 0; i < 64 && off < img->size; i++) {
		if (bc_block_status(img, off, img->size - off, &ext) < 0 || !ext.len ||
		    ext.len > img->size - off)
			break;
		off += ext.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmdk_desc d;
	struct vmdk_header h;
	struct bc_err err = { 0 };
	struct bc_image *img;

	if (vmdk_desc_parse((const char *)data, size, &d, NULL, &err) == 0)
		vmdk_desc_free(&d);
	(void)vmdk_header_decode(data, size, &h, NULL, &err);

	if ((img = fuzz_open(FUZZ_NAME, "vmdk", data, size, FUZZ_GROWTH, BC_OPEN_NO_BACKING))) {
		struct bc_info info = { 0 };
		struct bc_check chk = { 0 };
		struct vmdk_state *s = img->priv;

		exercise_reads(img);
		if (bc_get_info(img, &info, &err) == 0)
			bc_info_free(&info);
		/* check walks every grain: only for images of modest size */
		if (s->next == 1 && (s->ext[0].type != VMDK_EXT_SPARSE ||
				     s->ext[0].length / s->ext[0].grain_bytes < (1u << 18))) {
			(void)bc_check(img, &chk, 0, &err);
			bc_check_free(&chk);
		}
		bc_close(img);
	}
	if ((img = fuzz_open(FUZZ_NAME, "vmdk", data, size, FUZZ_GROWTH, BC_OPEN_RDWR | BC_OPEN_NO_BACKING))) {
		static uint8_t w[70000], r[70000];

		memset(w, 0xa5, sizeof(w));
		if (img->size >= sizeof(w)) {
			uint64_t mid = (img->size / 2) & ~(uint64_t)511;
			if (mid + sizeof(w) > img->size)
				mid = 0;
			if (bc_write(img, mid, w, 65536) == 0)
				(void)bc_read(img, mid, r, 65536);
			(void)bc_write(img, 512, w, 4096);
			(void)bc_write_zeroes(img, 0, 65536, 0);
			(void)bc_read(img, 0, r, 8192);
		}
		(void)bc_flush(img);
		bc_close(img);
	}
	return 0;
}
