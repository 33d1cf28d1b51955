/* VDI header: decoding, encoding and validation of on-disk bytes, separate from any I/O. */
#include "formats/vdi/vdi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void vdi_header_decode(const uint8_t *buf, struct vdi_header *h)
{
	memset(h, 0, sizeof(*h));
	h->signature = bc_rd_le32(buf + VDI_OFF_SIGNATURE);
	h->version = bc_rd_le32(buf + VDI_OFF_VERSION);
	h->header_size = bc_rd_le32(buf + VDI_OFF_HEADER_SIZE);
	h->image_type = bc_rd_le32(buf + VDI_OFF_TYPE);
	h->image_flags = bc_rd_le32(buf + VDI_OFF_FLAGS);
	h->offset_bmap = bc_rd_le32(buf + VDI_OFF_OFFSET_BMAP);
	h->offset_data = bc_rd_le32(buf + VDI_OFF_OFFSET_DATA);
	h->sector_size = bc_rd_le32(buf + VDI_OFF_SECTOR_SIZE);
	h->disk_size = bc_rd_le64(buf + VDI_OFF_DISK_SIZE);
	h->block_size = bc_rd_le32(buf + VDI_OFF_BLOCK_SIZE);
	h->block_extra = bc_rd_le32(buf + VDI_OFF_BLOCK_EXTRA);
	h->blocks_in_image = bc_rd_le32(buf + VDI_OFF_BLOCKS);
	h->blocks_allocated = bc_rd_le32(buf + VDI_OFF_ALLOCATED);
	memcpy(h->uuid_image, buf + VDI_OFF_UUID_IMAGE, 16);
	memcpy(h->uuid_last_snap, buf + VDI_OFF_UUID_SNAP, 16);
	memcpy(h->uuid_link, buf + VDI_OFF_UUID_LINK, 16);
	memcpy(h->uuid_parent, buf + VDI_OFF_UUID_PARENT, 16);
}

/* Writes the decoded fields over buf (a 512-byte header sector); other bytes are kept, so a
 * VirtualBox header's description and LCHC geometry survive a rewrite. */
void vdi_header_encode(const struct vdi_header *h, uint8_t *buf)
{
	bc_wr_le32(buf + VDI_OFF_SIGNATURE, h->signature);
	bc_wr_le32(buf + VDI_OFF_VERSION, h->version);
	bc_wr_le32(buf + VDI_OFF_HEADER_SIZE, h->header_size);
	bc_wr_le32(buf + VDI_OFF_TYPE, h->image_type);
	bc_wr_le32(buf + VDI_OFF_FLAGS, h->image_flags);
	bc_wr_le32(buf + VDI_OFF_OFFSET_BMAP, h->offset_bmap);
	bc_wr_le32(buf + VDI_OFF_OFFSET_DATA, h->offset_data);
	bc_wr_le32(buf + VDI_OFF_SECTOR_SIZE, h->sector_size);
	bc_wr_le64(buf + VDI_OFF_DISK_SIZE, h->disk_size);
	bc_wr_le32(buf + VDI_OFF_BLOCK_SIZE, h->block_size);
	bc_wr_le32(buf + VDI_OFF_BLOCK_EXTRA, h->block_extra);
	bc_wr_le32(buf + VDI_OFF_BLOCKS, h->blocks_in_image);
	bc_wr_le32(buf + VDI_OFF_ALLOCATED, h->blocks_allocated);
	memcpy(buf + VDI_OFF_UUID_IMAGE, h->uuid_image, 16);
	memcpy(buf + VDI_OFF_UUID_SNAP, h->uuid_last_snap, 16);
	memcpy(buf + VDI_OFF_UUID_LINK, h->uuid_link, 16);
	memcpy(buf + VDI_OFF_UUID_PARENT, h->uuid_parent, 16);
}

uint64_t vdi_bmap_bytes(uint32_t blocks)
{
	uint64_t n = (uint64_t)blocks * 4;

	return (n + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
}

bool vdi_uuid_is_null(const uint8_t *uuid)
{
	for (int i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}

#define FAIL(code, ...) (snprintf(msg, msglen, __VA_ARGS__), (code))

/*
 * The checks qemu makes come first, in its order and words; then the ones qemu leaves out
 * (header size, overlapping areas, a block map past the end of the file), which keep a damaged
 * image from making the driver read or allocate far outside what the file holds.
 */
int vdi_header_validate(const struct vdi_header *h, uint64_t file_len, char *msg, size_t msglen)
{
	uint64_t bmap_end, room;

	if (file_len < VDI_HEADER_SECTOR)
		return FAIL(-EINVAL, "VDI image is truncated (%" PRIu64 " bytes, the header needs %u)",
			    file_len, VDI_HEADER_SECTOR);
	if (h->signature != VDI_SIGNATURE)
		return FAIL(-EINVAL, "Image not in VDI format (bad signature %08" PRIx32 ")",
			    h->signature);
	if (h->version != VDI_VERSION_1_1)
		return FAIL(-ENOTSUP, "unsupported VDI image (version %" PRIu32 ".%" PRIu32 ")",
			    h->version >> 16, h->version & 0xffff);
	if (h->offset_bmap % VDI_SECTOR)
		return FAIL(-ENOTSUP, "unsupported VDI image (unaligned block map offset 0x%" PRIx32 ")",
			    h->offset_bmap);
	if (h->offset_data % VDI_SECTOR)
		return FAIL(-ENOTSUP, "unsupported VDI image (unaligned data offset 0x%" PRIx32 ")",
			    h->offset_data);
	if (h->sector_size != VDI_SECTOR)
		return FAIL(-ENOTSUP, "unsupported VDI image (sector size %" PRIu32 " is not %u)",
			    h->sector_size, VDI_SECTOR);
	if (h->block_size != VDI_BLOCK_SIZE)
		return FAIL(-ENOTSUP, "unsupported VDI image (block size %" PRIu32 " is not %u)",
			    h->block_size, VDI_BLOCK_SIZE);
	if (h->disk_size > VDI_DISK_SIZE_MAX)
		return FAIL(-ENOTSUP,
			    "Unsupported VDI image size (size is 0x%" PRIx64 ", max supported is 0x%" PRIx64 ")",
			    h->disk_size, VDI_DISK_SIZE_MAX);
	room = (uint64_t)h->blocks_in_image * VDI_BLOCK_SIZE;
	if (h->disk_size > room)
		return FAIL(-ENOTSUP,
			    "unsupported VDI image (disk size %" PRIu64 ", image bitmap has room for %" PRIu64 ")",
			    h->disk_size, room);
	if (!vdi_uuid_is_null(h->uuid_link))
		return FAIL(-ENOTSUP, "unsupported VDI image (non-NULL link UUID)");
	if (!vdi_uuid_is_null(h->uuid_parent))
		return FAIL(-ENOTSUP, "unsupported VDI image (non-NULL parent UUID)");
	if (h->blocks_in_image > VDI_BLOCKS_MAX)
		return FAIL(-ENOTSUP, "unsupported VDI image (too many blocks %" PRIu32 ", max is %u)",
			    h->blocks_in_image, VDI_BLOCKS_MAX);

	/* Beyond qemu. */
	if (h->image_type != VDI_TYPE_DYNAMIC && h->image_type != VDI_TYPE_STATIC)
		return FAIL(-ENOTSUP, "unsupported VDI image (image type %" PRIu32 ")", h->image_type);
	if (h->block_extra != 0)
		return FAIL(-ENOTSUP, "unsupported VDI image (block extra data %" PRIu32 ")",
			    h->block_extra);
	if (h->header_size < VDI_HEADER_SIZE ||
	    h->header_size > VDI_HEADER_SECTOR - VDI_HEADER_SIZE_OFF)
		return FAIL(-EINVAL, "invalid VDI image (header size 0x%" PRIx32 ")", h->header_size);
	if (h->offset_bmap < VDI_HEADER_SECTOR)
		return FAIL(-EINVAL, "invalid VDI image (block map offset 0x%" PRIx32
			    " overlaps the header)", h->offset_bmap);
	bmap_end = (uint64_t)h->offset_bmap + (uint64_t)h->blocks_in_image * 4;
	if (h->offset_data < bmap_end)
		return FAIL(-EINVAL, "invalid VDI image (data offset 0x%" PRIx32
			    " overlaps the block map, which ends at 0x%" PRIx64 ")",
			    h->offset_data, bmap_end);
	if (file_len < bmap_end)
		return FAIL(-EINVAL, "VDI image is truncated (the block map ends at %" PRIu64
			    ", the file at %" PRIu64 ")", bmap_end, file_len);
	return 0;
}
