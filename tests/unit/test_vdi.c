/* Unit tests of the vdi driver: header parsing and validation, create layout, the data path,
 * block status, check, and the refusal of damaged images. qemu interop is in tests/cli/vdi-*.sh. */
#include "formats/vdi/vdi.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024u * 1024u)

static char tmpdir[512];

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static int create(const char *path, const char *optstr)
{
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	int ret = bc_opts_parse(o, optstr, &err);

	if (ret == 0)
		ret = bc_create("vdi", path, o, &err);
	if (ret < 0)
		tap_diag("create %s: %s", optstr, err.msg);
	bc_opts_free(o);
	return ret;
}

/* A header sector as qemu-img writes it for a 3 MiB dynamic image. */
static void qemu_like_header(uint8_t *sec, uint32_t blocks, uint64_t size)
{
	struct vdi_header h = { 0 };

	memset(sec, 0, VDI_HEADER_SECTOR);
	memcpy(sec, VDI_TEXT, strlen(VDI_TEXT));
	h.signature = VDI_SIGNATURE;
	h.version = VDI_VERSION_1_1;
	h.header_size = VDI_HEADER_SIZE;
	h.image_type = VDI_TYPE_DYNAMIC;
	h.offset_bmap = 512;
	h.offset_data = (uint32_t)(512 + vdi_bmap_bytes(blocks));
	h.sector_size = 512;
	h.disk_size = size;
	h.block_size = VDI_BLOCK_SIZE;
	h.blocks_in_image = blocks;
	h.uuid_image[0] = 1;
	vdi_header_encode(&h, sec);
}

static void test_header(void)
{
	uint8_t sec[512];
	struct vdi_header h, h2;
	char msg[256];

	qemu_like_header(sec, 3, 3 * MiB);
	vdi_header_decode(sec, &h);
	tap_ok(h.signature == VDI_SIGNATURE && h.blocks_in_image == 3 && h.disk_size == 3 * MiB &&
		       h.offset_data == 1024 && h.uuid_image[0] == 1,
	       "header: decode of a qemu-like header");
	tap_ok(vdi_header_validate(&h, 1024, msg, sizeof(msg)) == 0, "header: a good header validates");
	uint8_t sec2[512];
	memcpy(sec2, sec, sizeof(sec2));
	vdi_header_encode(&h, sec2);
	vdi_header_decode(sec2, &h2);
	tap_ok(!memcmp(sec, sec2, sizeof(sec)), "header: encode(decode(x)) == x");

	static const struct {
		unsigned off, width;
		uint64_t val;
		uint64_t file_len;
		const char *want;
	} bad[] = {
		{ VDI_OFF_SIGNATURE, 4, 0x12345678, 1024, "Image not in VDI format (bad signature 12345678)" },
		{ VDI_OFF_VERSION, 4, 0x00010002, 1024, "unsupported VDI image (version 1.2)" },
		{ VDI_OFF_OFFSET_BMAP, 4, 0x201, 1024, "unsupported VDI image (unaligned block map offset 0x201)" },
		{ VDI_OFF_OFFSET_DATA, 4, 0x401, 1024, "unsupported VDI image (unaligned data offset 0x401)" },
		{ VDI_OFF_SECTOR_SIZE, 4, 4096, 1024, "unsupported VDI image (sector size 4096 is not 512)" },
		{ VDI_OFF_BLOCK_SIZE, 4, 2 * MiB, 1024, "unsupported VDI image (block size 2097152 is not 1048576)" },
		{ VDI_OFF_DISK_SIZE, 8, 1ull << 40, 1024,
		  "unsupported VDI image (disk size 1099511627776, image bitmap has room for 3145728)" },
		{ VDI_OFF_DISK_SIZE, 8, UINT64_MAX, 1024,
		  "Unsupported VDI image size (size is 0xffffffffffffffff, max supported is 0x1fffff8000000)" },
		{ VDI_OFF_UUID_LINK, 4, 5, 1024, "unsupported VDI image (non-NULL link UUID)" },
		{ VDI_OFF_UUID_PARENT + 12, 4, 5, 1024, "unsupported VDI image (non-NULL parent UUID)" },
		{ VDI_OFF_BLOCKS, 4, 0x20000000, 1024,
		  "unsupported VDI image (too many blocks 536870912, max is 536870784)" },
		{ VDI_OFF_TYPE, 4, 4, 1024, "unsupported VDI image (image type 4)" },
		{ VDI_OFF_BLOCK_EXTRA, 4, 512, 1024, "unsupported VDI image (block extra data 512)" },
		{ VDI_OFF_HEADER_SIZE, 4, 0x100, 1024, "invalid VDI image (header size 0x100)" },
		{ VDI_OFF_HEADER_SIZE, 4, 0x10000, 1024, "invalid VDI image (header size 0x10000)" },
		{ VDI_OFF_OFFSET_BMAP, 4, 0, 1024, "invalid VDI image (block map offset 0x0 overlaps the header)" },
		{ VDI_OFF_OFFSET_DATA, 4, 0x200, 1024,
		  "invalid VDI image (data offset 0x200 overlaps the block map, which ends at 0x20c)" },
		{ VDI_OFF_BLOCKS, 4, 1000, 1024 * 1024 * 1024,
		  "invalid VDI image (data offset 0x400 overlaps the block map, which ends at 0x11a0)" },
		{ VDI_OFF_OFFSET_BMAP, 4, 0x10000000, 1u << 31,
		  "invalid VDI image (data offset 0x400 overlaps the block map, which ends at 0x1000000c)" },
		{ VDI_OFF_TYPE, 4, VDI_TYPE_DYNAMIC, 520,
		  "VDI image is truncated (the block map ends at 524, the file at 520)" },
		{ VDI_OFF_TYPE, 4, VDI_TYPE_DYNAMIC, 300,
		  "VDI image is truncated (300 bytes, the header needs 512)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[512];
		int ret;

		memcpy(b, sec, sizeof(b));
		if (bad[i].width == 8)
			bc_wr_le64(b + bad[i].off, bad[i].val);
		else
			bc_wr_le32(b + bad[i].off, (uint32_t)bad[i].val);
		vdi_header_decode(b, &h);
		msg[0] = 0;
		ret = vdi_header_validate(&h, bad[i].file_len, msg, sizeof(msg));
		if (!tap_ok(ret < 0 && !strcmp(msg, bad[i].want), "header: rejects: %s", bad[i].want))
			tap_diag("got %d '%s'", ret, msg);
	}
}

static void test_create(void)
{
	char p[600];
	uint8_t *d;
	size_t len = 0;
	struct vdi_header h;

	path_of(p, sizeof(p), "dyn.vdi");
	tap_ok(create(p, "size=1G") == 0, "create: dynamic 1 GiB");
	d = slurp(p, &len);
	if (tap_ok(d && len == 4608, "create: dynamic file is header + block map (%zu bytes)", len)) {
		vdi_header_decode(d, &h);
		tap_ok(!memcmp(d, VDI_TEXT, strlen(VDI_TEXT)) && h.header_size == 0x180 &&
			       h.image_type == 1 && h.offset_bmap == 0x200 && h.offset_data == 0x1200 &&
			       h.sector_size == 512 && h.disk_size == (1ull << 30) &&
			       h.blocks_in_image == 1024 && h.blocks_allocated == 0,
		       "create: dynamic header fields as qemu-img's");
		tap_ok((d[VDI_OFF_UUID_IMAGE + 7] & 0xf0) == 0x40 &&
			       !vdi_uuid_is_null(h.uuid_last_snap) && vdi_uuid_is_null(h.uuid_link) &&
			       vdi_uuid_is_null(h.uuid_parent),
		       "create: random v4 image and snapshot UUIDs, null link and parent");
		bool all = true;
		for (size_t i = 0; i < 1024; i++)
			all &= bc_rd_le32(d + 512 + i * 4) == VDI_UNALLOCATED;
		tap_ok(all, "create: every block unallocated");
	}
	free(d);

	path_of(p, sizeof(p), "static.vdi");
	tap_ok(create(p, "size=5M,static=on") == 0, "create: static 5 MiB");
	d = slurp(p, &len);
	if (tap_ok(d && len == 1024 + 5 * MiB, "create: static file is full size (%zu bytes)", len)) {
		vdi_header_decode(d, &h);
		tap_ok(h.image_type == 2 && h.blocks_allocated == 5 && h.offset_data == 1024,
		       "create: static header");
		bool ident = true;
		for (uint32_t i = 0; i < 5; i++)
			ident &= bc_rd_le32(d + 512 + i * 4) == i;
		tap_ok(ident && bc_rd_le32(d + 512 + 20) == 0, "create: static block map is i -> i");
	}
	free(d);

	path_of(p, sizeof(p), "odd.vdi");
	tap_ok(create(p, "size=1000") == 0, "create: odd size");
	d = slurp(p, &len);
	if (d && len == 1024) {
		vdi_header_decode(d, &h);
		tap_ok(h.disk_size == 1024 && h.blocks_in_image == 1, "create: size rounded up to a sector");
	} else {
		tap_ok(false, "create: odd size file length %zu", len);
	}
	free(d);

	path_of(p, sizeof(p), "zero.vdi");
	tap_ok(create(p, "size=0") == 0, "create: empty image");
	d = slurp(p, &len);
	tap_ok(d && len == 512, "create: empty image is one header sector");
	free(d);

	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	path_of(p, sizeof(p), "big.vdi");
	bc_opts_parse(o, "size=10P", &err);
	tap_ok(bc_create("vdi", p, o, &err) == -ENOTSUP &&
		       !strcmp(err.msg, "Unsupported VDI image size (size is 0x28000000000000, max "
					"supported is 0x1fffff8000000)"),
	       "create: too big, qemu's message (%s)", err.msg);
	bc_opts_parse(o, "size=1M,preallocation=metadata", &err);
	tap_ok(bc_create("vdi", p, o, &err) < 0 &&
		       !strcmp(err.msg, "Unsupported preallocation mode: metadata"),
	       "create: preallocation=metadata refused (%s)", err.msg);
	bc_opts_free(o);
}

static struct bc_image *open_img(const char *path, bool rw)
{
	struct bc_open_opts oo = { .format = "vdi", .flags = rw ? BC_OPEN_RDWR : 0 };
	struct bc_image *img = NULL;
	struct bc_err err = { 0 };

	if (bc_open(&img, path, &oo, &err) < 0) {
		tap_diag("open %s: %s", path, err.msg);
		return NULL;
	}
	return img;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static void test_data_path(void)
{
	char p[600];
	struct bc_image *img;
	uint8_t *buf = malloc(3 * MiB), *rd = malloc(3 * MiB), *d;
	struct bc_extent ext;
	size_t len = 0;

	path_of(p, sizeof(p), "rw.vdi");
	create(p, "size=8M");
	img = open_img(p, true);
	if (!tap_ok(img && buf && rd, "data: open read-write"))
		goto out;
	tap_ok(bc_length(img) == 8 * MiB, "data: virtual size");
	/* Block 3 first (gets host block 0), then a write across blocks 0..2 (host 1..3). */
	fill(buf, 4096, 1);
	tap_ok(bc_write(img, 3 * MiB + 100, buf, 4096) == 0, "data: unaligned write in block 3");
	fill(buf, 2 * MiB + 10, 2);
	tap_ok(bc_write(img, MiB - 5, buf, 2 * MiB + 10) == 0, "data: write across blocks 0..2");
	memset(rd, 0xee, 3 * MiB);
	tap_ok(bc_read(img, MiB - 5, rd, 2 * MiB + 10) == 0 && !memcmp(rd, buf, 2 * MiB + 10),
	       "data: read back across blocks");
	tap_ok(bc_read(img, 0, rd, MiB - 5) == 0 && rd[0] == 0 && rd[MiB - 6] == 0,
	       "data: new block's untouched part reads zero");
	fill(buf, 4096, 1);
	tap_ok(bc_read(img, 3 * MiB + 100, rd, 4096) == 0 && !memcmp(rd, buf, 4096),
	       "data: first write intact");
	memset(buf, 0, MiB);
	tap_ok(bc_read(img, 5 * MiB, rd, MiB) == 0 && !memcmp(rd, buf, MiB),
	       "data: unallocated block reads zero");

	tap_ok(bc_block_status_layer(img, 0, 8 * MiB, &ext) == 0 &&
		       ext.flags == (BC_EXT_DATA | BC_EXT_OFFSET | BC_EXT_ALLOCATED) &&
		       ext.host_off == 1024 + MiB && ext.len == 3 * MiB,
	       "data: block status merges a contiguous host run (len %llu off %llu)",
	       (unsigned long long)ext.len, (unsigned long long)ext.host_off);
	tap_ok(bc_block_status_layer(img, 3 * MiB + 512, MiB, &ext) == 0 &&
		       ext.host_off == 1024 + 512 && ext.len == MiB - 512,
	       "data: block status inside a block");
	tap_ok(bc_block_status_layer(img, 4 * MiB, 4 * MiB, &ext) == 0 &&
		       ext.flags == (BC_EXT_ZERO | BC_EXT_ALLOCATED) && ext.len == 4 * MiB,
	       "data: unallocated run is ZERO without DATA");

	/* write_zeroes: unallocated stays unallocated, allocated is zeroed in place. */
	tap_ok(bc_write_zeroes(img, 4 * MiB, 2 * MiB, BC_ZERO_MAY_UNMAP) == 0 &&
		       bc_block_status_layer(img, 4 * MiB, MiB, &ext) == 0 &&
		       !(ext.flags & BC_EXT_DATA),
	       "data: write_zeroes on unallocated blocks allocates nothing");
	tap_ok(bc_write_zeroes(img, 3 * MiB, MiB, 0) == 0 && bc_read(img, 3 * MiB, rd, MiB) == 0 &&
		       !memcmp(rd, buf, MiB),
	       "data: write_zeroes on an allocated block reads zero");
	memset(rd, 0x5a, 8192);
	tap_ok(bc_write(img, 3 * MiB, rd, 8192) == 0 &&
		       bc_write_zeroes(img, 3 * MiB + 100, 4096, BC_ZERO_MAY_UNMAP) == 0 &&
		       bc_read(img, 3 * MiB, rd, 8192) == 0 && rd[99] == 0x5a && rd[100] == 0 &&
		       !memcmp(rd + 100, buf, 4096) && rd[4196] == 0x5a &&
		       bc_block_status_layer(img, 3 * MiB, 1, &ext) == 0 && (ext.flags & BC_EXT_DATA),
	       "data: write_zeroes may-unmap in an allocated block: zeros, still allocated");
	tap_ok(bc_discard(img, 0, MiB) == 0 && bc_block_status_layer(img, 0, MiB, &ext) == 0 &&
		       (ext.flags & BC_EXT_DATA),
	       "data: discard keeps the block (as qemu)");
	tap_ok(bc_close(img) == 0, "data: close");

	d = slurp(p, &len);
	if (tap_ok(d && len == 1024 + 4 * MiB, "data: file grew by four whole blocks (%zu)", len)) {
		tap_ok(bc_rd_le32(d + VDI_OFF_ALLOCATED) == 4, "data: header allocated count 4");
		tap_ok(bc_rd_le32(d + 512) == 1 && bc_rd_le32(d + 516) == 2 &&
			       bc_rd_le32(d + 520) == 3 && bc_rd_le32(d + 524) == 0 &&
			       bc_rd_le32(d + 528) == VDI_UNALLOCATED,
		       "data: block map 1 2 3 0 -");
	}
	free(d);

	/* Reopen read-only: the data survived, writes are refused. */
	img = open_img(p, false);
	fill(buf, 2 * MiB + 10, 2);
	tap_ok(img && bc_read(img, MiB - 5, rd, 2 * MiB + 5) == 0 && !memcmp(rd, buf, 2 * MiB + 5),
	       "data: reopened image reads the same");
	tap_ok(img && bc_write(img, 0, buf, 512) < 0, "data: read-only open refuses writes");
	bc_close(img);
out:
	free(buf);
	free(rd);
}

static void test_static(void)
{
	char p[600];
	struct bc_image *img;
	uint8_t buf[4096];
	struct bc_extent ext;

	path_of(p, sizeof(p), "static.vdi");
	img = open_img(p, true);
	if (!tap_ok(img != NULL, "static: open"))
		return;
	fill(buf, sizeof(buf), 9);
	tap_ok(bc_write(img, 2 * MiB + 7, buf, sizeof(buf)) == 0, "static: write");
	/* Every block is data at its identity offset; host holes add ZERO (qemu's map). */
	bool all_data = true;
	int nz = 0;
	for (uint64_t off = 0; off < 5 * MiB && all_data; off += ext.len) {
		all_data = bc_block_status_layer(img, off, 5 * MiB - off, &ext) == 0 && ext.len &&
			   (ext.flags & BC_EXT_DATA) && (ext.flags & BC_EXT_OFFSET) &&
			   ext.host_off == 1024 + off;
		nz += !!(ext.flags & BC_EXT_ZERO);
	}
	tap_ok(all_data, "static: all data at identity offsets");
	tap_ok(nz > 0, "static: the sparse data area shows as zero (as qemu's map)");
	bc_close(img);
	size_t len = 0;
	uint8_t *d = slurp(p, &len);
	tap_ok(d && len == 1024 + 5 * MiB && bc_rd_le32(d + VDI_OFF_ALLOCATED) == 5 &&
		       !memcmp(d + 1024 + 2 * MiB + 7, buf, sizeof(buf)),
	       "static: written in place, no allocation");
	free(d);
}

/* Opens bytes as a vdi image straight through the driver (the fuzzer's way). */
static int open_mem(struct bc_image *img, struct bc_file **f, const uint8_t *data, size_t len,
		    bool rw, struct bc_err *err)
{
	int ret = bc_file_open_mem(f, "mem.vdi", data, len, 64 * MiB);

	if (ret < 0)
		return ret;
	(*f)->writable = rw;
	memset(img, 0, sizeof(*img));
	img->fmt = &bc_format_vdi;
	img->file = *f;
	img->filename = (char *)"mem.vdi";
	img->flags = rw ? BC_OPEN_RDWR : 0;
	img->align = 1;
	ret = bc_format_vdi.open(img, err);
	if (ret < 0)
		bc_file_close(*f);
	return ret;
}

/* A 5-block static image in memory with the given block map entries and count. */
static uint8_t *static_image(const uint32_t *map, uint32_t count, size_t *len)
{
	uint8_t *d = calloc(1, 1024 + 5 * MiB);

	if (!d)
		return NULL;
	qemu_like_header(d, 5, 5 * MiB);
	bc_wr_le32(d + VDI_OFF_TYPE, VDI_TYPE_STATIC);
	bc_wr_le32(d + VDI_OFF_ALLOCATED, count);
	for (int i = 0; i < 5; i++)
		bc_wr_le32(d + 512 + i * 4, map[i]);
	*len = 1024 + 5 * MiB;
	return d;
}

static void run_check(const char *name, const uint32_t *map, uint32_t count, int corruptions,
		      const char *const *msgs)
{
	struct bc_image img;
	struct bc_file *f;
	struct bc_err err = { 0 };
	struct bc_check res;
	size_t len;
	uint8_t *d = static_image(map, count, &len);
	bool same;

	if (!d || open_mem(&img, &f, d, len, true, &err) < 0) {
		tap_ok(false, "check %s: open (%s)", name, err.msg);
		free(d);
		return;
	}
	memset(&res, 0, sizeof(res));
	int ret = bc_check(&img, &res, 0, &err);
	same = ret == 0 && res.corruptions == corruptions;
	for (int i = 0; same && msgs[i]; i++)
		same = i < res.nmessages && !strcmp(res.messages[i], msgs[i]);
	if (!tap_ok(same, "check %s: %d corruptions, qemu's messages", name, corruptions)) {
		tap_diag("ret %d corruptions %d", ret, res.corruptions);
		for (int i = 0; i < res.nmessages; i++)
			tap_diag("%s", res.messages[i]);
	}
	bc_check_free(&res);
	tap_ok(bc_check(&img, &res, BC_FIX_ERRORS, &err) == -ENOTSUP, "check %s: no repair", name);
	bc_check_free(&res);
	bc_format_vdi.close(&img);
	bc_file_close(f);
	free(d);
}

static void test_check(void)
{
	static const uint32_t ok[] = { 0, 1, 2, 3, 4 };
	static const uint32_t big[] = { 0, 7, 1, 3, 4 };
	static const uint32_t dup[] = { 0, 0, VDI_DISCARDED, 3, 4 };
	static const uint32_t dup2[] = { 3, 1, 2, 3, 4 };
	static const uint32_t edge[] = { 0, 1, 2, 3, 5 };
	static const char *const none[] = { NULL };
	static const char *const m_big[] = { "ERROR: block index 1 too large, is 7",
					     "ERROR: allocated blocks mismatch, is 4, should be 5", NULL };
	static const char *const m_dup[] = { "ERROR: block index 0 also used by 0",
					     "ERROR: allocated blocks mismatch, is 4, should be 5", NULL };
	static const char *const m_dup2[] = { "ERROR: block index 3 also used by 3", NULL };
	static const char *const m_edge[] = { "ERROR: block index 4 too large, is 5",
					      "ERROR: allocated blocks mismatch, is 4, should be 5", NULL };
	static const char *const m_count[] = { "ERROR: allocated blocks mismatch, is 5, should be 9", NULL };

	run_check("clean", ok, 5, 0, none);
	run_check("too large", big, 5, 2, m_big);
	run_check("duplicate", dup, 5, 2, m_dup);
	run_check("duplicate 2", dup2, 5, 1, m_dup2);
	run_check("edge", edge, 5, 2, m_edge);
	run_check("count", ok, 9, 1, m_count);
}

static void test_damaged(void)
{
	static const uint32_t map[] = { 0, 7, VDI_UNALLOCATED, 3, VDI_DISCARDED };
	struct bc_image img;
	struct bc_file *f;
	struct bc_err err = { 0 };
	uint8_t buf[512];
	size_t len;
	uint8_t *d = static_image(map, 3, &len);

	if (!d || open_mem(&img, &f, d, len, true, &err) < 0) {
		tap_ok(false, "damaged: opens for check (%s)", err.msg);
		free(d);
		return;
	}
	tap_ok(bc_format_vdi.read(&img, MiB, buf, sizeof(buf)) == -EIO,
	       "damaged: read of an out-of-range entry fails with EIO");
	tap_ok(bc_format_vdi.write(&img, MiB, buf, sizeof(buf)) == -EIO,
	       "damaged: write to an out-of-range entry fails with EIO");
	memset(buf, 1, sizeof(buf));
	tap_ok(bc_format_vdi.read(&img, 4 * MiB, buf, sizeof(buf)) == 0 && buf[0] == 0 && buf[511] == 0,
	       "damaged: discarded (VirtualBox zero) block reads zero");
	/* The next allocation goes past the highest entry in use (3); the count follows it. */
	memset(buf, 0x5a, sizeof(buf));
	tap_ok(bc_format_vdi.write(&img, 2 * MiB, buf, sizeof(buf)) == 0, "damaged: allocating write");
	size_t mlen;
	const uint8_t *m = bc_file_mem_data(f, &mlen);
	tap_ok(bc_rd_le32(m + 512 + 8) == 4 && bc_rd_le32(m + VDI_OFF_ALLOCATED) == 5 &&
		       m[1024 + 4 * MiB] == 0x5a,
	       "damaged: new block placed after the highest used one");
	bc_format_vdi.close(&img);
	bc_file_close(f);

	/* The block map claims a block beyond the end of a truncated file. */
	static const uint32_t map2[] = { 0, 1, 2, 3, 4 };
	free(d);
	d = static_image(map2, 5, &len);
	if (d && open_mem(&img, &f, d, 1024 + 2 * MiB, false, &err) == 0) {
		struct bc_check res;

		tap_ok(bc_format_vdi.read(&img, 4 * MiB, buf, sizeof(buf)) == -EIO,
		       "damaged: block past the end of the file: EIO");
		tap_ok(bc_format_vdi.read(&img, MiB, buf, sizeof(buf)) == 0,
		       "damaged: blocks inside the file still read");
		memset(&res, 0, sizeof(res));
		tap_ok(bc_check(&img, &res, 0, &err) == 0 && res.corruptions == 3,
		       "damaged: check reports the three blocks past the end (%d)", res.corruptions);
		bc_check_free(&res);
		bc_format_vdi.close(&img);
		bc_file_close(f);
	} else {
		tap_ok(false, "damaged: truncated image opens (%s)", err.msg);
	}
	free(d);
}

/* O_DIRECT rules (aligned buffers, whole sectors) on a memory file: the bounce paths. */
static void test_direct(void)
{
	static const uint32_t map[] = { 2, VDI_UNALLOCATED, 0, VDI_UNALLOCATED, 1 };
	struct bc_image img;
	struct bc_file *f;
	struct bc_err err = { 0 };
	size_t len;
	uint8_t *d = static_image(map, 3, &len), *w = malloc(70000), *r = malloc(70004);
	int ret;

	if (!d || !w || !r || bc_file_open_mem(&f, "direct.vdi", d, len, len + 8 * MiB) < 0) {
		tap_ok(false, "direct: setup");
		goto out;
	}
	f->writable = true;
	f->direct = true;
	f->align = 4096;
	memset(&img, 0, sizeof(img));
	img.fmt = &bc_format_vdi;
	img.file = f;
	img.filename = (char *)"direct.vdi";
	img.flags = BC_OPEN_RDWR | BC_OPEN_DIRECT;
	ret = bc_format_vdi.open(&img, &err);
	if (!tap_ok(ret == 0, "direct: open (%s)", err.msg)) {
		bc_file_close(f);
		goto out;
	}
	fill(w, 70000, 5);
	tap_ok(bc_format_vdi.write(&img, MiB - 33, w + 1, 70000 - 1) == 0 &&
		       bc_format_vdi.read(&img, MiB - 33, r + 3, 70000 - 1) == 0 &&
		       !memcmp(w + 1, r + 3, 70000 - 1),
	       "direct: unaligned write across an allocated and a new block reads back");
	tap_ok(bc_format_vdi.write(&img, 4 * MiB + 7, w, 5) == 0 &&
		       bc_format_vdi.read(&img, 4 * MiB, r, 16) == 0 && r[6] == 0 && r[7] == w[0] &&
		       r[11] == w[4] && r[12] == 0,
	       "direct: a 5-byte write inside a sector keeps its neighbours");
	size_t mlen;
	const uint8_t *m = bc_file_mem_data(f, &mlen);
	tap_ok(bc_rd_le32(m + 512 + 4) == 3 && bc_rd_le32(m + VDI_OFF_ALLOCATED) == 4 &&
		       bc_rd_le32(m + 512) == 2 && bc_rd_le32(m + 512 + 8) == 0,
	       "direct: block map and count updated through sector read-modify-write");
	bc_format_vdi.close(&img);
	bc_file_close(f);
out:
	free(d);
	free(w);
	free(r);
}

int main(void)
{
	const char *t = getenv("TEST_TMPDIR");

	if (t && *t) {
		snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_vdi.XXXXXX");
		if (!mkdtemp(tmpdir))
			return 1;
	}
	test_header();
	test_create();
	test_data_path();
	test_static();
	test_check();
	test_damaged();
	test_direct();
	return tap_done();
}
