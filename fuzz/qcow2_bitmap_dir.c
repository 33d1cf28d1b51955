/*
 * Fuzzes the qcow2 bitmap directory: the bytes as a directory alone (the first two bytes the
 * entry count), then as a qcow2 image opened read-write, so the bitmaps are loaded (tables
 * and data clusters), listed, dirtied by a write, added to and stored again at close.
 */
#include "formats/qcow2/qcow2.h"
#include "fuzz_image.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_err err = { 0 };
	struct qcow2_bitmap *b;
	struct bc_image *img;

	if (size >= 2 && qcow2_bitmap_dir_parse(data + 2, size - 2, bc_rd_be16(data), &b,
						&err) == 0)
		qcow2_bitmaps_free(b, bc_rd_be16(data));
	img = fuzz_open("fuzz.qcow2", "qcow2", data, size, 1u << 20, BC_OPEN_RDWR);
	if (!img)
		return 0;
	struct bc_bitmap_req req = { .op = BC_BITMAP_LIST };
	if (bc_bitmap(img, &req, &err) == 0)
		bc_bitmap_list_free(req.list, req.n);
	static const uint8_t pat[4096] = { 0x5a };
	(void)bc_write(img, 0, pat, sizeof(pat));
	struct bc_bitmap_req add = { .op = BC_BITMAP_ADD, .name = "fuzz" };
	(void)bc_bitmap(img, &add, &err);
	bc_close(img);
	return 0;
}
