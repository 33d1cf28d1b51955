/*
 * VDI create: the same file qemu-img 7.2 writes. A header sector, the block map at 0x200
 * (rounded up to a sector), data from there on. Dynamic images end after the block map; static
 * ones map block i to host block i and are extended (sparsely) to their full size.
 */
#include "formats/vdi/vdi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Order as qemu-img prints them in "Formatting ...": vdi's own, then the file protocol's. */
const struct bc_opt_desc vdi_create_opts[] = {
	{ .name = "size", .type = BC_OPT_SIZE, .help = "Virtual disk size" },
	{ .name = "static", .type = BC_OPT_BOOL, .help = "VDI static (pre-allocated) image",
	  .def = "off" },
	/* The host file's options, which qemu appends after the format's; no help text: accepted
	 * but not listed by "-o help" (qemu lists them only when given a file name). */
	{ .name = "nocow", .type = BC_OPT_BOOL },
	{ .name = "preallocation", .type = BC_OPT_STRING },
	{ .name = "extent_size_hint", .type = BC_OPT_SIZE },
	{ .name = NULL },
};

/* A random (version 4) UUID in VirtualBox's byte order: the first three fields little-endian. */
static void vdi_uuid_generate(uint8_t *uuid)
{
	size_t got = 0;

	while (got < 16) {
		ssize_t r = getrandom(uuid + got, 16 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	for (; got < 16; got++)             /* no entropy: still unique enough per process */
		uuid[got] = (uint8_t)rand();
	uuid[7] = (uint8_t)((uuid[7] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

static int vdi_create_opts_parse(struct bc_opts *opts, uint64_t *size, bool *is_static,
				 struct bc_err *err)
{
	const char *pa;
	enum bc_prealloc prealloc;
	int ret;

	if (bc_opts_get(opts, "backing_file"))
		return bc_err_set(err, -ENOTSUP, "Backing file not supported for file format 'vdi'");
	ret = bc_opts_get_size(opts, "size", 0, size, err);
	if (ret == -ENOENT)
		return bc_err_set(err, -EINVAL, "Image creation needs a size parameter");
	if (ret < 0)
		return ret;
	ret = bc_opts_get_bool(opts, "static", false, is_static, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	pa = bc_opts_get(opts, "preallocation");
	if (pa) {
		if (bc_parse_prealloc(pa, &prealloc) < 0)
			return bc_err_set(err, -EINVAL, "invalid parameter value: %s", pa);
		/* Accepted as by qemu's file layer; the data area stays sparse, as with qemu. */
		if (prealloc == BC_PREALLOC_METADATA)
			return bc_err_set(err, -ENOTSUP, "Unsupported preallocation mode: %s", pa);
	}
	if (*size > VDI_DISK_SIZE_MAX)
		return bc_err_set(err, -ENOTSUP,
				  "Unsupported VDI image size (size is 0x%" PRIx64
				  ", max supported is 0x%" PRIx64 ")",
				  *size, VDI_DISK_SIZE_MAX);
	return 0;
}

/* Writes the block map: 0xffffffff for a dynamic image, block i -> i for a static one. */
static int vdi_create_bmap(struct bc_file *f, const struct vdi_header *h, bool is_static)
{
	uint64_t bytes = vdi_bmap_bytes(h->blocks_in_image);
	uint64_t done = 0;
	size_t chunk = 64 * 1024;
	uint8_t *buf;
	int ret = 0;

	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	while (done < bytes && ret == 0) {
		size_t k = bytes - done < chunk ? (size_t)(bytes - done) : chunk;

		for (size_t i = 0; i < k; i += 4) {
			uint64_t idx = (done + i) / 4;
			uint32_t e = 0;

			if (idx < h->blocks_in_image)
				e = is_static ? (uint32_t)idx : VDI_UNALLOCATED;
			bc_wr_le32(buf + i, e);
		}
		ret = bc_file_pwrite(f, buf, k, h->offset_bmap + done);
		done += k;
	}
	free(buf);
	return ret;
}

int vdi_create(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	struct vdi_header h;
	uint8_t sector[VDI_HEADER_SECTOR];
	struct bc_file *f;
	uint64_t size, blocks;
	bool is_static = false;
	int ret;

	ret = vdi_create_opts_parse(opts, &size, &is_static, err);
	if (ret < 0)
		return ret;
	size = (size + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	blocks = (size + VDI_BLOCK_SIZE - 1) / VDI_BLOCK_SIZE;

	memset(&h, 0, sizeof(h));
	h.signature = VDI_SIGNATURE;
	h.version = VDI_VERSION_1_1;
	h.header_size = VDI_HEADER_SIZE;
	h.image_type = is_static ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC;
	h.offset_bmap = VDI_HEADER_SECTOR;
	h.offset_data = (uint32_t)(VDI_HEADER_SECTOR + vdi_bmap_bytes((uint32_t)blocks));
	h.sector_size = VDI_SECTOR;
	h.disk_size = size;
	h.block_size = VDI_BLOCK_SIZE;
	h.blocks_in_image = (uint32_t)blocks;
	h.blocks_allocated = is_static ? (uint32_t)blocks : 0;
	vdi_uuid_generate(h.uuid_image);
	vdi_uuid_generate(h.uuid_last_snap);
	memset(sector, 0, sizeof(sector));
	memcpy(sector, VDI_TEXT, strlen(VDI_TEXT));
	vdi_header_encode(&h, sector);

	ret = bc_create_file(&f, filename, err);
	if (ret < 0)
		return ret;
	ret = bc_file_pwrite(f, sector, sizeof(sector), 0);
	if (ret == 0)
		ret = vdi_create_bmap(f, &h, is_static);
	if (ret == 0 && is_static)
		ret = bc_file_truncate(f, h.offset_data + blocks * VDI_BLOCK_SIZE);
	if (ret == 0)
		ret = bc_file_flush(f);
	if (ret < 0)
		bc_err_set(err, ret, "Could not write the VDI header and block map: %s", strerror(-ret));
	bc_file_close(f);
	return ret;
}
