/*
 * Unit tests of the vmdk driver: descriptor parsing and writing, header codec and qemu's
 * layout, and whole images in memory (sparse writes keeping both directories in step, zeroed
 * grains, reopen, streamOptimized append rules, hostile headers).
 */
#include "formats/vmdk/vmdk.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024u * 1024u)

static const char qemu_desc[] =
	"# Disk DescriptorFile\n"
	"version=1\n"
	"CID=44676c98\n"
	"parentCID=ffffffff\n"
	"createType=\"monolithicSparse\"\n"
	"\n"
	"# Extent description\n"
	"RW 20480 SPARSE \"a.vmdk\"\n"
	"\n"
	"# The Disk Data Base\n"
	"#DDB\n"
	"\n"
	"ddb.virtualHWVersion = \"4\"\n"
	"ddb.geometry.cylinders = \"20\"\n"
	"ddb.geometry.heads = \"16\"\n"
	"ddb.geometry.sectors = \"63\"\n"
	"ddb.adapterType = \"ide\"\n"
	"ddb.toolsVersion = \"2147483647\"\n";

static void test_descriptor(void)
{
	struct vmdk_desc d;
	struct bc_err err = { 0 };

	tap_ok(vmdk_desc_parse(qemu_desc, sizeof(qemu_desc), &d, NULL, &err) == 0,
	       "parse qemu's descriptor");
	tap_ok(d.cid == 0x44676c98 && d.has_parent_cid && d.parent_cid == 0xffffffffu,
	       "CID and parentCID");
	tap_ok(d.create_type && !strcmp(d.create_type, "monolithicSparse"), "createType");
	tap_ok(d.nextents == 1 && d.extents[0].sectors == 20480 &&
	       !strcmp(d.extents[0].type, "SPARSE") && !strcmp(d.extents[0].filename, "a.vmdk"),
	       "extent line");
	tap_ok(d.adapter_type && !strcmp(d.adapter_type, "ide"), "ddb.adapterType");
	vmdk_desc_free(&d);

	static const char tolerant[] =
		"# Disk DescriptorFile\r\n  # indented comment\r\nversion = 1\r\nCID = 0000abcd\r\n"
		"encoding=\"UTF-8\"\r\ncreateType = \"twoGbMaxExtentFlat\"\r\n"
		"parentFileNameHint=\"base dir/base.vmdk\"\r\n"
		"RW 100 FLAT \"with space-f001.vmdk\" 7\r\nRDONLY 28 ZERO\r\n"
		"NOACCESS 5 VMFS \"v.vmdk\"\r\nddb.unknown.key = \"kept\"\r\n\0trailing junk";
	tap_ok(vmdk_desc_parse(tolerant, sizeof(tolerant), &d, NULL, &err) == 0,
	       "tolerant parse: CR-LF, comments, spaces, unknown keys, NUL end");
	tap_ok(d.cid == 0xabcd && !d.has_parent_cid, "tolerant: CID, no parentCID");
	tap_ok(d.parent_hint && !strcmp(d.parent_hint, "base dir/base.vmdk"), "quoted hint");
	tap_ok(d.nextents == 3 && d.extents[0].offset == 7 &&
	       !strcmp(d.extents[0].filename, "with space-f001.vmdk") &&
	       !strcmp(d.extents[1].type, "ZERO") && !d.extents[1].filename &&
	       !strcmp(d.extents[2].access, "NOACCESS"),
	       "extents with spaces, ZERO and access modes");
	vmdk_desc_free(&d);

	static const char *const bad[] = {
		"createType=\"x\"\nRW 10 FLAT \"a\" 1 2\n",
		"createType=\"x\"\nRW 10 FLAT a\n",
		"createType=\"x\"\nRW -1 FLAT \"a\"\n",
		"createType=\"x\"\nRW 18446744073709551616 FLAT \"a\"\n",
		"createType=\"x\"\nRW 10 FLAT \"a\" 99999999999999999999\n",
		"createType=\"x\"\nRW 10 NOPE \"a\"\n",
		"createType=\"x\"\nRW 10 FLAT \"\"\n",
		"createType=\"x\"\nRW 10 FLAT \"unterminated\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = 0;
		int ret = vmdk_desc_parse(bad[i], strlen(bad[i]), &d, "t.vmdk", &err);
		tap_ok(ret == -EINVAL && err.msg[0], "bad descriptor %zu refused: %s", i, err.msg);
	}

	static const char nocid[] = "# Disk DescriptorFile\nparentCID=0000beef\nRW 1 ZERO\n";
	tap_ok(vmdk_desc_parse(nocid, sizeof(nocid), &d, NULL, &err) == 0 && d.cid == 0xbeef &&
	       !d.create_type, "no CID line: parentCID's value, as qemu reads it; no createType");
	vmdk_desc_free(&d);

	size_t nlen;
	char *t = vmdk_desc_set_cid(qemu_desc, sizeof(qemu_desc), 0x1234, &nlen);
	tap_ok(t && strstr(t, "\nCID=1234\n") && nlen == strlen(qemu_desc) - 4 &&
	       !strcmp(strstr(t, "parentCID"), strstr(qemu_desc, "parentCID")),
	       "set CID rewrites only the CID line");
	free(t);

	struct vmdk_desc_params p = {
		.cid = 0x44676c98, .parent_cid = 0xffffffffu, .create_type = "monolithicSparse",
		.extent_lines = "RW 20480 SPARSE \"a.vmdk\"\n", .hwversion = "4",
		.adapter_type = "ide", .toolsversion = "2147483647", .total_sectors = 20480,
	};
	t = vmdk_desc_format(&p);
	tap_ok(t && !strcmp(t, qemu_desc), "writer produces qemu-img's text");
	free(t);
	p.parent_hint = "b.vmdk";
	p.adapter_type = "lsilogic";
	p.total_sectors = UINT64_C(1) << 40;
	t = vmdk_desc_format(&p);
	tap_ok(t && strstr(t, "createType=\"monolithicSparse\"\nparentFileNameHint=\"b.vmdk\"\n# Extent") &&
	       strstr(t, "cylinders = \"16383\"") && strstr(t, "heads = \"255\""),
	       "writer: parent hint line, capped cylinders, SCSI heads");
	free(t);
}

static void test_header(void)
{
	struct vmdk_header h, g;
	struct bc_err err = { 0 };
	uint8_t buf[VMDK_SECTOR];

	vmdk_sparse_layout(&h, 20480, false, false);
	tap_ok(h.version == 1 && h.flags == 3 && h.rgd_offset == 21 && h.gd_offset == 26 &&
	       h.overhead == 128, "10 MiB layout as qemu-img's");
	vmdk_sparse_layout(&h, 2097152, true, false);
	tap_ok(h.version == 2 && h.flags == 7 && h.gd_offset == 150 && h.overhead == 384,
	       "1 GiB zeroed-grain layout as qemu-img's");
	vmdk_sparse_layout(&h, 4194304, false, true);
	tap_ok(h.version == 3 && h.flags == 0x30003 && h.gd_offset == 278 && h.overhead == 640 &&
	       h.compress_algorithm == 1, "2 GiB stream layout as qemu-img's");
	vmdk_header_encode(&h, buf);
	tap_ok(vmdk_header_decode(buf, sizeof(buf), &g, NULL, &err) == 0 &&
	       g.version == h.version && g.flags == h.flags && g.capacity == h.capacity &&
	       g.grain_sectors == h.grain_sectors && g.desc_offset == h.desc_offset &&
	       g.desc_size == h.desc_size && g.gtes_per_gt == h.gtes_per_gt &&
	       g.rgd_offset == h.rgd_offset && g.gd_offset == h.gd_offset &&
	       g.overhead == h.overhead && g.compress_algorithm == h.compress_algorithm,
	       "header round trip");
	tap_ok(buf[73] == '\n' && buf[74] == ' ' && buf[75] == '\r' && buf[76] == '\n',
	       "newline-detection bytes");
	buf[0] = 'X';
	tap_ok(vmdk_header_decode(buf, sizeof(buf), &g, NULL, &err) == -EINVAL, "bad magic");
	vmdk_header_encode(&h, buf);
	bc_wr_le64(buf + 20, 3);
	tap_ok(vmdk_header_decode(buf, sizeof(buf), &g, NULL, &err) == -EINVAL,
	       "grain size not a power of two");
	vmdk_header_encode(&h, buf);
	bc_wr_le64(buf + 12, UINT64_MAX);
	tap_ok(vmdk_header_decode(buf, sizeof(buf), &g, NULL, &err) == -EFBIG, "capacity overflow");
	vmdk_header_encode(&h, buf);
	bc_wr_le32(buf + 4, 4);
	tap_ok(vmdk_header_decode(buf, sizeof(buf), &g, NULL, &err) == -ENOTSUP, "version 4");
	vmdk_header_encode(&h, buf);
	tap_ok(vmdk_header_decode(buf, 40, &g, NULL, &err) == -EINVAL, "short header");
}

/* ---- whole images in memory ------------------------------------------------------------ */

static uint8_t *mem_image(uint64_t size, bool zeroed, bool stream, size_t *len)
{
	struct vmdk_header h;
	struct bc_file *f;
	struct bc_err err = { 0 };
	const uint8_t *d;
	uint8_t *copy = NULL;

	vmdk_sparse_layout(&h, size / VMDK_SECTOR, zeroed, stream);
	if (bc_file_open_mem(&f, "mem.vmdk", NULL, 0, 64 * MiB) < 0)
		return NULL;
	f->writable = true;
	char desc[600];
	snprintf(desc, sizeof(desc), "# Disk DescriptorFile\nversion=1\nCID=00000001\n"
		 "parentCID=ffffffff\ncreateType=\"%s\"\nRW %llu SPARSE \"mem.vmdk\"\n",
		 stream ? "streamOptimized" : "monolithicSparse",
		 (unsigned long long)(size / VMDK_SECTOR));
	if (vmdk_sparse_init_file(f, &h, desc, &err, "mem.vmdk") == 0) {
		d = bc_file_mem_data(f, len);
		copy = malloc(*len);
		if (copy)
			memcpy(copy, d, *len);
	}
	bc_file_close(f);
	return copy;
}

static struct bc_image *open_mem(const uint8_t *data, size_t len, bool rw)
{
	struct bc_open_opts o = { .format = "vmdk", .flags = rw ? BC_OPEN_RDWR : 0 };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;

	if (bc_file_open_mem(&f, "mem.vmdk", data, len, 64 * MiB) < 0)
		return NULL;
	f->writable = rw;
	if (bc_open_file(&img, f, &o, &err) < 0) {
		tap_diag("open: %s", err.msg);
		return NULL;
	}
	return img;
}

static uint8_t *image_bytes(struct bc_image *img, size_t *len)
{
	const uint8_t *d = bc_file_mem_data(img->file, len);
	uint8_t *c = malloc(*len);

	if (c)
		memcpy(c, d, *len);
	return c;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 31 + i / 509);
}

static void test_sparse_mem(void)
{
	size_t len;
	uint8_t *data = mem_image(4 * MiB, true, false, &len);
	struct bc_image *img;
	static uint8_t w[300000], r[300000], z[65536];

	if (!tap_ok(data != NULL, "make a 4 MiB sparse image in memory"))
		return;
	img = open_mem(data, len, true);
	free(data);
	if (!tap_ok(img != NULL, "open it read-write"))
		return;
	tap_ok(bc_length(img) == 4 * MiB && img->align == VMDK_SECTOR, "size and alignment");
	fill(w, sizeof(w), 3);
	tap_ok(bc_write(img, 1000, w, sizeof(w)) == 0, "unaligned write over five grains");
	tap_ok(bc_read(img, 1000, r, sizeof(r)) == 0 && !memcmp(w, r, sizeof(r)), "read back");
	tap_ok(bc_read(img, 0, r, 1000) == 0 && !memcmp(r, z, 1000), "head of first grain is zero");
	tap_ok(bc_write(img, 3 * MiB + 100, w, 100) == 0, "small write in a far grain");
	tap_ok(bc_write_zeroes(img, 65536, 131072, BC_ZERO_MAY_UNMAP) == 0, "zero two whole grains");
	tap_ok(bc_read(img, 65536, r, 131072) == 0 && !memcmp(r, z, 65536) &&
	       !memcmp(r + 65536, z, 65536), "zeroed grains read as zeros");

	struct bc_extent ext;
	tap_ok(bc_block_status_layer(img, 65536, 131072, &ext) == 0 &&
	       ext.flags == (BC_EXT_ALLOCATED | BC_EXT_ZERO) && ext.len == 131072,
	       "block status: zeroed grains");
	tap_ok(bc_block_status_layer(img, 0, 65536, &ext) == 0 &&
	       (ext.flags & BC_EXT_DATA) && (ext.flags & BC_EXT_OFFSET), "block status: data");
	tap_ok(bc_block_status_layer(img, 2 * MiB, MiB, &ext) == 0 && ext.flags == 0 &&
	       ext.len == MiB, "block status: unallocated run");

	/* both directories and both tables agree */
	struct vmdk_state *s = img->priv;
	struct vmdk_extent *e = &s->ext[0];
	size_t flen;
	uint8_t *bytes = image_bytes(img, &flen);
	bool same = bytes != NULL;
	for (uint32_t i = 0; same && i < e->gd_entries; i++) {
		uint32_t g = bc_rd_le32(bytes + e->hdr.gd_offset * 512 + 4 * i);
		uint32_t rg = bc_rd_le32(bytes + e->hdr.rgd_offset * 512 + 4 * i);
		same = g && rg && g != rg &&
		       !memcmp(bytes + (size_t)g * 512, bytes + (size_t)rg * 512, e->gt_bytes);
	}
	tap_ok(same, "grain tables and redundant grain tables in step");
	char *desc = (char *)bytes + 512;
	tap_ok(bytes && !strstr(desc, "CID=00000001") && strstr(desc, "CID="),
	       "CID changed by the first write");
	bc_close(img);

	img = open_mem(bytes, flen, false);
	free(bytes);
	if (!tap_ok(img != NULL, "reopen read-only"))
		return;
	tap_ok(bc_read(img, 1000 + 65536 * 2, r, 1000) == 0 && !memcmp(r, z, 1000),
	       "zeroed grain persisted");
	tap_ok(bc_read(img, 1000 + 200000, r, 50000) == 0 && !memcmp(r, w + 200000, 50000),
	       "data persisted");
	tap_ok(bc_read(img, 3 * MiB + 100, r, 100) == 0 && !memcmp(r, w, 100), "far grain persisted");
	tap_ok(bc_write(img, 0, w, 512) == -EACCES, "read-only image refuses writes");

	struct bc_check chk = { 0 };
	struct bc_err err = { 0 };
	tap_ok(bc_check(img, &chk, 0, &err) == 0 && chk.corruptions == 0, "check: clean");
	bc_check_free(&chk);

	struct bc_info info;
	tap_ok(bc_get_info(img, &info, &err) == 0 && info.cluster_size == 65536 && info.specific &&
	       !strcmp(info.specific->key, "vmdk"), "info: cluster size and vmdk tree");
	bc_info_free(&info);
	bc_close(img);
}

static void test_check_corrupt(void)
{
	size_t len;
	uint8_t *data = mem_image(MiB, false, false, &len);
	struct bc_image *img;
	uint8_t w[65536];

	if (!data)
		return;
	img = open_mem(data, len, true);
	free(data);
	if (!img)
		return;
	fill(w, sizeof(w), 9);
	bc_write(img, 0, w, sizeof(w));
	bc_write(img, 65536, w, sizeof(w));
	size_t flen;
	uint8_t *bytes = image_bytes(img, &flen);
	bc_close(img);
	if (!bytes)
		return;
	uint32_t gt = bc_rd_le32(bytes + 26 * 512);
	bc_wr_le32(bytes + (size_t)gt * 512 + 4, 999999);
	img = open_mem(bytes, flen, false);
	free(bytes);
	if (!tap_ok(img != NULL, "open image with a grain past EOF"))
		return;
	struct bc_check chk = { 0 };
	struct bc_err err = { 0 };
	int ret = bc_check(img, &chk, 0, &err);
	tap_ok(ret == -EINVAL && chk.corruptions == 1 && chk.nmessages == 1 &&
	       !strcmp(chk.messages[0], "ERROR: cluster offset for sector 128 points after EOF"),
	       "check reports the grain past EOF as qemu-img does");
	bc_check_free(&chk);
	bc_close(img);
}

static void test_stream_mem(void)
{
	size_t len;
	uint8_t *data = mem_image(MiB + 4096, false, true, &len);
	struct bc_image *img;
	static uint8_t w[MiB + 4096], r[MiB + 4096];

	if (!tap_ok(data != NULL, "make a stream image in memory"))
		return;
	img = open_mem(data, len, true);
	free(data);
	if (!img)
		return;
	fill(w, sizeof(w), 77);
	memset(w + 65536, 0, 65536);
	tap_ok(bc_write(img, 0, w, 131072) == 0, "append two whole grains");
	tap_ok(bc_write(img, 0, w, 65536) == -EIO, "rewriting a grain: EIO");
	tap_ok(bc_write(img, 196608, w, 4096) == -EINVAL, "partial grain: EINVAL");
	tap_ok(bc_write(img, 131072 + 512, w, 65536) == -EINVAL, "misaligned grain: EINVAL");
	tap_ok(bc_write(img, MiB, w + MiB, 4096) == 0, "short last grain up to the end");
	tap_ok(bc_read(img, 0, r, 131072) == 0 && !memcmp(r, w, 131072), "read back");
	tap_ok(bc_flush(img) == 0, "flush");
	size_t flen;
	uint8_t *bytes = image_bytes(img, &flen);
	bc_close(img);
	if (!bytes)
		return;
	uint32_t lba = (uint32_t)bc_rd_le64(bytes + 128 * 512);
	tap_ok(bc_rd_le32(bytes + 128 * 512 + 8) > 0 && lba == 0 && bytes[128 * 512 + 12] == 0x78,
	       "grain marker: LBA, size, zlib data");
	static const uint8_t zero_sector[512];
	tap_ok(flen % 512 == 0 && !memcmp(bytes + flen - 512, zero_sector, 512) &&
	       memcmp(bytes + flen - 1024, zero_sector, 512),
	       "end-of-stream marker right after the last grain");
	img = open_mem(bytes, flen, false);
	free(bytes);
	if (!img)
		return;
	tap_ok(bc_read(img, 0, r, sizeof(r)) == 0 && !memcmp(r, w, 131072) &&
	       !memcmp(r + MiB, w + MiB, 4096), "reopened stream reads back");
	struct bc_extent ext;
	tap_ok(bc_block_status_layer(img, 0, 65536, &ext) == 0 && (ext.flags & BC_EXT_COMPRESSED),
	       "block status: compressed");
	bc_close(img);

	static uint8_t dst[65536];
	tap_ok(vmdk_inflate((const uint8_t *)"junk", 4, dst, sizeof(dst)) == -EIO,
	       "inflate refuses junk");
}

static void test_bad_mem(void)
{
	size_t len;
	uint8_t *data = mem_image(MiB, false, false, &len);

	if (!data)
		return;
	bc_wr_le64(data + 56, 1u << 30);        /* GD past the end */
	tap_ok(open_mem(data, len, false) == NULL, "grain directory past the end refused");
	free(data);

	static const char text[] = "# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\n"
				   "RW 2048 FLAT \"/etc/passwd\" 0\n";
	tap_ok(open_mem((const uint8_t *)text, sizeof(text) - 1, false) == NULL,
	       "absolute extent path refused");
}

int main(void)
{
	test_descriptor();
	test_header();
	test_sparse_mem();
	test_check_corrupt();
	test_stream_mem();
	test_bad_mem();
	return tap_done();
}
