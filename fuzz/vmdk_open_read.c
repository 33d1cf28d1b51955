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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "/nonexistent-strata-fuzz/fuzz.vmdk"
#define FUZZ_GROWTH (4u << 20)

static int open_bytes(struct bc_image *img, struct bc_file **f, const uint8_t *data, size_t size,
		      bool rw)
{
	static const struct bc_open_opts oo = { 0 };
	struct bc_err err = { 0 };
	int ret = bc_file_open_mem(f, FUZZ_NAME, data, size, size + FUZZ_GROWTH);

	if (ret < 0)
		return ret;
	(*f)->writable = rw;
	memset(img, 0, sizeof(*img));
	img->fmt = &bc_format_vmdk;
	img->file = *f;
	img->filename = (char *)FUZZ_NAME;
	img->flags = rw ? BC_OPEN_RDWR : 0;
	img->align = 1;
	img->open_opts = &oo;
	ret = bc_format_vmdk.open(img, &err);
	if (ret < 0) {
		bc_file_close(*f);
		return ret;
	}
	return 0;
}

static void close_img(struct bc_image *img, struct bc_file *f)
{
	bc_format_vmdk.close(img);
	free(img->backing_name);
	free(img->backing_fmt);
	bc_file_close(f);
}

static void exercise_reads(struct bc_image *img)
{
	static uint8_t buf[8192];
	struct bc_extent ext;
	uint64_t off = 0, step = 65536;

	for (uint64_t i = 0; i < 128 && i * step < img->size; i++) {
		uint64_t o = i * step;
		size_t n = img->size - o < 512 ? (size_t)(img->size - o) : 512;
		(void)bc_format_vmdk.read(img, o, buf, n);
		if (img->size - o >= step + 4096)
			(void)bc_format_vmdk.read(img, o + step - 4096, buf, 8192);
	}
	if (img->size > 1024)
		(void)bc_format_vmdk.read(img, img->size - 1024, buf, 1024);
	for (int i = 0; i < 64 && off < img->size; i++) {
		if (bc_format_vmdk.block_status(img, off, img->size - off, &ext) < 0 || !ext.len ||
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
	struct bc_image img;
	struct bc_file *f;

	if (vmdk_desc_parse((const char *)data, size, &d, NULL, &err) == 0)
		vmdk_desc_free(&d);
	(void)vmdk_header_decode(data, size, &h, NULL, &err);

	if (open_bytes(&img, &f, data, size, false) == 0) {
		struct bc_info info = { 0 };
		struct bc_check chk = { 0 };
		struct vmdk_state *s = img.priv;

		exercise_reads(&img);
		if (bc_format_vmdk.get_info(&img, &info, &err) == 0)
			bc_node_free(info.specific);
		/* check walks every grain: only for images of modest size */
		if (s->next == 1 && (s->ext[0].type != VMDK_EXT_SPARSE ||
				     s->ext[0].length / s->ext[0].grain_bytes < (1u << 18))) {
			(void)bc_format_vmdk.check(&img, &chk, 0, &err);
			bc_check_free(&chk);
		}
		close_img(&img, f);
	}
	if (open_bytes(&img, &f, data, size, true) == 0) {
		static uint8_t w[70000], r[70000];

		memset(w, 0xa5, sizeof(w));
		if (img.size >= sizeof(w)) {
			uint64_t mid = (img.size / 2) & ~(uint64_t)511;
			if (mid + sizeof(w) > img.size)
				mid = 0;
			if (bc_format_vmdk.write(&img, mid, w, 65536) == 0)
				(void)bc_format_vmdk.read(&img, mid, r, 65536);
			(void)bc_format_vmdk.write(&img, 512, w, 4096);
			(void)bc_format_vmdk.write_zeroes(&img, 0, 65536, 0);
			(void)bc_format_vmdk.read(&img, 0, r, 8192);
		}
		(void)bc_format_vmdk.flush(&img);
		close_img(&img, f);
	}
	return 0;
}
