/* loader.c - kernel, firmware and initrd images into guest RAM. A gzip stream is inflated
 * straight into RAM at the load address (no second copy of a 30 MiB kernel); the Image header
 * is read from RAM afterwards with little-endian helpers. */
#include "emulator/machine/loader.h"
#include "emulator/machine/elf.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define INITRD_MAX_OFFSET (128ULL << 20) /* QEMU: initrd at most 128 MiB above the kernel */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reads the whole stream into [dst, dst + room); -EFBIG if there is more. */
static int read_into(FILE *f, uint8_t *dst, uint64_t room, uint64_t *len)
{
	size_t n = room ? fread(dst, 1, (size_t)room, f) : 0;
	if (ferror(f))
		return -EIO;
	if (n == room && fgetc(f) != EOF)
		return -EFBIG;
	*len = n;
	return 0;
}

/* Inflates a gzip file into [dst, dst + room). -EFBIG when the output does not fit, -EINVAL
 * for corrupt data. Concatenated members are inflated one after the other, as gunzip does. */
static int gunzip_into(FILE *f, uint8_t *dst, uint64_t room, uint64_t *len)
{
	static uint8_t in[1 << 16];
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	uint64_t out = 0;
	int rc = 0, zr = Z_OK;
	for (;;) {
		if (z.avail_in == 0) {
			z.avail_in = (uInt)fread(in, 1, sizeof(in), f);
			z.next_in = in;
			if (z.avail_in == 0) {
				rc = ferror(f) ? -EIO : zr == Z_STREAM_END ? 0 : -EINVAL;
				break;
			}
		}
		if (zr == Z_STREAM_END && inflateReset(&z) != Z_OK) {
			rc = -EINVAL;
			break;
		}
		uint64_t chunk = room - out > (1u << 30) ? (1u << 30) : room - out;
		z.next_out = dst + out;
		z.avail_out = (uInt)chunk;
		zr = inflate(&z, Z_NO_FLUSH);
		out += chunk - z.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && out == room)) {
			rc = -EINVAL;
			break;
		}
		if (out == room && zr != Z_STREAM_END) {
			rc = -EFBIG;
			break;
		}
	}
	inflateEnd(&z);
	*len = out;
	return rc;
}

static int fail(char *err, size_t errlen, int rc, const char *path, const char *what, uint64_t addr)
{
	snprintf(err, errlen, what, path, (unsigned long long)addr);
	return rc;
}

int vm_load_kernel(struct vm_bus *bus, const char *path, uint64_t start, struct vm_kernel_info *info, char *err,
		   size_t errlen)
{
	struct vm_elf_info elf;
	memset(info, 0, sizeof(*info));
	int rc = vm_elf_load(bus, path, &elf, err, errlen);
	if (rc != -ENOEXEC) {
		if (rc == 0) {
			*info = (struct vm_kernel_info){ VM_KERNEL_ELF, elf.entry, elf.low, elf.end, elf.tohost,
							 elf.fromhost, 0, elf };
		}
		return rc;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	uint8_t magic[2] = { 0, 0 };
	size_t got = fread(magic, 1, 2, f);
	rewind(f);
	bool gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	uint8_t *dst = vm_bus_ram(bus, start, 1);
	uint64_t room = dst ? bus->ram_base + bus->ram_size - start : 0, len = 0;
	rc = !dst ? -EFBIG : gz ? gunzip_into(f, dst, room, &len) : read_into(f, dst, room, &len);
	fclose(f);
	if (rc == -EFBIG)
		return fail(err, errlen, rc, path, "%s: does not fit in RAM at 0x%llx", start);
	if (rc == -EINVAL)
		return fail(err, errlen, -ENOEXEC, path, "%s: corrupt gzip data, not a kernel", 0);
	if (rc)
		return fail(err, errlen, rc, path, "%s: read error", 0);
	if (len == 0)
		return fail(err, errlen, -ENOEXEC, path, "%s: empty file, not a kernel", 0);
	*info = (struct vm_kernel_info){ VM_KERNEL_RAW, start, start, start + len, 0, 0, len, { 0 } };
	if (len >= VM_IMAGE_HEADER_LEN && !memcmp(dst + VM_IMAGE_MAGIC2_OFF, VM_IMAGE_MAGIC2, 4)) {
		/* image_size covers the bss the kernel clears itself: it must be RAM too */
		uint64_t image_size = le64(dst + 0x10);
		info->kind = VM_KERNEL_IMAGE;
		if (image_size > len)
			info->end = start + image_size;
		if (!vm_bus_ram(bus, start, info->end - start))
			return fail(err, errlen, -EFBIG, path, "%s: does not fit in RAM at 0x%llx (image_size)", start);
	} else if (gz) {
		/* QEMU would load compressed bytes nobody can run; say so instead */
		return fail(err, errlen, -ENOEXEC, path, "%s: gzip data is not a RISC-V Linux Image, not a kernel", 0);
	}
	return 0;
}

uint64_t vm_initrd_addr(uint64_t kernel_entry, uint64_t ram_size)
{
	uint64_t off = ram_size / 2 < INITRD_MAX_OFFSET ? ram_size / 2 : INITRD_MAX_OFFSET;
	return kernel_entry + off;
}

int vm_load_initrd(struct vm_bus *bus, const char *path, uint64_t start, uint64_t limit, uint64_t kernel_low,
		   uint64_t kernel_end, uint64_t *end, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	uint8_t *dst = vm_bus_ram(bus, start, 1);
	uint64_t len = 0;
	int rc = dst && start < limit ? read_into(f, dst, limit - start, &len) : -EFBIG;
	fclose(f);
	if (rc == -EFBIG) {
		snprintf(err, errlen, "%s: initrd too large: does not fit between 0x%llx and 0x%llx", path,
			 (unsigned long long)start, (unsigned long long)limit);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "%s: read error", path);
		return rc;
	}
	if (start < kernel_end && start + len > kernel_low) {
		snprintf(err, errlen, "%s: initrd at 0x%llx overlaps the kernel (ends at 0x%llx)", path,
			 (unsigned long long)start, (unsigned long long)kernel_end);
		return -EFBIG;
	}
	*end = start + len;
	return 0;
}
