/*
 * Host I/O for the vdi driver. Without O_DIRECT these are the host layer's calls. With it
 * (cache=none) buffers must be aligned and offsets and lengths whole sectors: VDI lays out
 * everything in 512-byte sectors (header, block map offset, data offset, 1 MiB blocks), so
 * requests are widened to sectors through an aligned bounce buffer, read-modify-write for
 * partial sectors. The driver is the only writer of its file, so the read-modify-write is safe.
 */
#include "formats/vdi/vdi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool vdi_host_needs_bounce(const struct bc_file *f, const void *buf, size_t len,
				  uint64_t off)
{
	uint64_t a = f->align > 1 ? f->align : 1;

	if (!f->direct)
		return false;
	return (uintptr_t)buf % a || len % VDI_SECTOR || off % VDI_SECTOR;
}

int vdi_host_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	uint64_t aoff, aend;
	uint8_t *b;
	int ret;

	if (!len)
		return 0;
	if (!vdi_host_needs_bounce(f, buf, len, off))
		return bc_file_pread(f, buf, len, off);
	aoff = off / VDI_SECTOR * VDI_SECTOR;
	aend = (off + len + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	b = bc_alloc_aligned((size_t)(aend - aoff));
	if (!b)
		return -ENOMEM;
	ret = bc_file_pread(f, b, (size_t)(aend - aoff), aoff);
	if (ret == 0)
		memcpy(buf, b + (off - aoff), len);
	free(b);
	return ret;
}

int vdi_host_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	uint64_t aoff, aend;
	uint8_t *b;
	int ret = 0;

	if (!len)
		return 0;
	if (!vdi_host_needs_bounce(f, buf, len, off))
		return bc_file_pwrite(f, buf, len, off);
	aoff = off / VDI_SECTOR * VDI_SECTOR;
	aend = (off + len + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	b = bc_alloc_aligned((size_t)(aend - aoff));
	if (!b)
		return -ENOMEM;
	/* Only the partial first and last sectors need their old bytes. */
	if (aoff < off)
		ret = bc_file_pread(f, b, VDI_SECTOR, aoff);
	if (ret == 0 && off + len < aend && (aend - VDI_SECTOR > aoff || aoff == off))
		ret = bc_file_pread(f, b + (aend - aoff - VDI_SECTOR), VDI_SECTOR, aend - VDI_SECTOR);
	if (ret == 0) {
		memcpy(b + (off - aoff), buf, len);
		ret = bc_file_pwrite(f, b, (size_t)(aend - aoff), aoff);
	}
	free(b);
	return ret;
}
