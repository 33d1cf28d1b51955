/*
 * vdi.h — private to formats/vdi: the VirtualBox Disk Image v1.1 layout and the functions the
 * driver's files share. Nothing here is part of the engine's API.
 *
 * On-disk layout (all integers little-endian):
 *
 *   0x000  pre-header text, 64 bytes ("<<< QEMU VM Virtual Disk Image >>>\n", or VirtualBox's)
 *   0x040  signature 0xbeda107f        0x044  version (major << 16 | minor), 1.1 = 0x00010001
 *   0x048  header size: bytes of header that follow this point (0x180 qemu, 0x190 VirtualBox)
 *   0x04c  image type (1 dynamic, 2 static)  0x050  image flags
 *   0x054  description, 256 bytes
 *   0x154  block map offset            0x158  data offset
 *   0x15c  legacy geometry: cylinders, heads, sectors, sector size (must be 512)
 *   0x16c  unused                      0x170  disk size (u64)
 *   0x178  block size (1 MiB)          0x17c  block extra data (0)
 *   0x180  blocks in image             0x184  blocks allocated
 *   0x188  UUID of the image           0x198  UUID of the last snapshot (VirtualBox: "modify")
 *   0x1a8  UUID link                   0x1b8  UUID parent (both must be null: no differencing)
 *   0x1c8  LCHC geometry (VirtualBox only, inside header size 0x190)
 *
 * The block map is one u32 per virtual block: the index of its host block (data at
 * data offset + index * block size), 0xffffffff unallocated, 0xfffffffe discarded (VirtualBox's
 * "zero block"). Both special values read as zeros.
 */
#ifndef STRATA_FORMATS_VDI_H
#define STRATA_FORMATS_VDI_H

#include "bc_driver.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VDI_SECTOR          512u
#define VDI_HEADER_SECTOR   512u          /* the header lives in the first sector */
#define VDI_SIGNATURE       0xbeda107fu
#define VDI_VERSION_1_1     0x00010001u
#define VDI_HEADER_SIZE     0x180u        /* what qemu writes; VirtualBox writes 0x190 */
#define VDI_HEADER_SIZE_OFF 0x48u         /* header size counts bytes from here */
#define VDI_TYPE_DYNAMIC    1u
#define VDI_TYPE_STATIC     2u
#define VDI_BLOCK_SIZE      (1u << 20)
#define VDI_UNALLOCATED     0xffffffffu
#define VDI_DISCARDED       0xfffffffeu
/* Largest block count: the block map (4 bytes a block) must stay below 2 GiB (qemu's limit). */
#define VDI_BLOCKS_MAX      0x1fffff80u
#define VDI_DISK_SIZE_MAX   ((uint64_t)VDI_BLOCKS_MAX * VDI_BLOCK_SIZE)
#define VDI_TEXT            "<<< QEMU VM Virtual Disk Image >>>\n"

/* Field offsets in the header sector. */
enum {
	VDI_OFF_SIGNATURE = 0x40, VDI_OFF_VERSION = 0x44, VDI_OFF_HEADER_SIZE = 0x48,
	VDI_OFF_TYPE = 0x4c, VDI_OFF_FLAGS = 0x50, VDI_OFF_OFFSET_BMAP = 0x154,
	VDI_OFF_OFFSET_DATA = 0x158, VDI_OFF_SECTOR_SIZE = 0x168, VDI_OFF_DISK_SIZE = 0x170,
	VDI_OFF_BLOCK_SIZE = 0x178, VDI_OFF_BLOCK_EXTRA = 0x17c, VDI_OFF_BLOCKS = 0x180,
	VDI_OFF_ALLOCATED = 0x184, VDI_OFF_UUID_IMAGE = 0x188, VDI_OFF_UUID_SNAP = 0x198,
	VDI_OFF_UUID_LINK = 0x1a8, VDI_OFF_UUID_PARENT = 0x1b8,
};

/* The header fields the driver uses, decoded. */
struct vdi_header {
	uint32_t signature, version, header_size, image_type, image_flags;
	uint32_t offset_bmap, offset_data;
	uint32_t sector_size;
	uint64_t disk_size;
	uint32_t block_size, block_extra;
	uint32_t blocks_in_image, blocks_allocated;
	uint8_t uuid_image[16], uuid_last_snap[16], uuid_link[16], uuid_parent[16];
};

/* Driver state of an open image. */
struct vdi_state {
	struct vdi_header h;
	uint8_t raw[VDI_HEADER_SECTOR];   /* the header sector as read: rewritten whole */
	uint32_t *bmap;                   /* blocks_in_image entries, host order */
	uint64_t file_len;                /* host file length at open (grows with allocations) */
	uint32_t next_block;              /* host block index the next allocation takes */
	uint8_t *zbuf;                    /* one block, for building newly allocated blocks */
	bool broken;                      /* a metadata write failed: refuse further writes */
};

/* header.c: parsing and encoding on-disk bytes, no I/O. */
void vdi_header_decode(const uint8_t *buf, struct vdi_header *h);
void vdi_header_encode(const struct vdi_header *h, uint8_t *buf);
/* Checks the decoded header against the format and a host file of file_len bytes; on failure
 * fills msg (qemu's words where qemu has them) and returns -EINVAL / -ENOTSUP / -EFBIG. */
int vdi_header_validate(const struct vdi_header *h, uint64_t file_len, char *msg, size_t msglen);
/* Bytes the block map of blocks entries takes on disk (rounded up to a sector). */
uint64_t vdi_bmap_bytes(uint32_t blocks);
bool vdi_uuid_is_null(const uint8_t *uuid);

/* True when a block map entry names a host block (rather than unallocated/discarded). */
static inline bool vdi_entry_allocated(uint32_t e) { return e < VDI_DISCARDED; }

/* hostio.c: the host layer's pread/pwrite, widened to aligned sectors under O_DIRECT. */
int vdi_host_pread(struct bc_file *f, void *buf, size_t len, uint64_t off);
int vdi_host_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off);

/* create.c */
extern const struct bc_opt_desc vdi_create_opts[];
int vdi_create(const char *filename, struct bc_opts *opts, struct bc_err *err);

/* check.c */
int vdi_check(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err);
/* Whether host block e is inside the image's block count and starts inside the file. */
bool vdi_block_usable(const struct vdi_state *s, uint32_t e);

#endif
