/* elf.c - ELF64 little-endian RISC-V loader. Fields are read with explicit little-endian
 * helpers from a buffer, never through packed structs, so a damaged file cannot make us
 * read outside it. */
#include "emulator/machine/elf.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rd(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			free(b);
			close(fd);
			return e;
		}
		got += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

/* Looks up tohost/fromhost in the first SHT_SYMTAB section, if any. */
static void find_symbols(const uint8_t *b, size_t len, struct vm_elf_info *info)
{
	uint64_t shoff = rd(b + 0x28, 8);
	unsigned shentsize = (unsigned)rd(b + 0x3a, 2), shnum = (unsigned)rd(b + 0x3c, 2);
	if (shentsize < 64 || shoff > len || (uint64_t)shnum * shentsize > len - shoff)
		return;
	for (unsigned i = 0; i < shnum; i++) {
		const uint8_t *sh = b + shoff + (uint64_t)i * shentsize;
		if (rd(sh + 4, 4) != 2) /* SHT_SYMTAB */
			continue;
		uint64_t off = rd(sh + 0x18, 8), size = rd(sh + 0x20, 8);
		unsigned link = (unsigned)rd(sh + 0x28, 4);
		if (link >= shnum || off > len || size > len - off)
			return;
		const uint8_t *strsh = b + shoff + (uint64_t)link * shentsize;
		uint64_t stroff = rd(strsh + 0x18, 8), strsize = rd(strsh + 0x20, 8);
		if (stroff > len || strsize > len - stroff)
			return;
		for (uint64_t s = 0; s + 24 <= size; s += 24) {
			const uint8_t *sym = b + off + s;
			uint64_t name = rd(sym, 4);
			if (name >= strsize)
				continue;
			const char *n = (const char *)b + stroff + name;
			size_t maxn = strsize - name;
			if (strnlen(n, maxn) == maxn)
				continue;
			if (strcmp(n, "tohost") == 0)
				info->tohost = rd(sym + 8, 8);
			else if (strcmp(n, "fromhost") == 0)
				info->fromhost = rd(sym + 8, 8);
		}
		return;
	}
}

int vm_elf_load(struct vm_bus *bus, const char *path, struct vm_elf_info *info, char *err, size_t errlen)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = read_file(path, &b, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	memset(info, 0, sizeof(*info));
	rc = -ENOEXEC;
	if (len < 64 || memcmp(b, "\177ELF", 4) || b[4] != 2 || b[5] != 1 || rd(b + 0x12, 2) != 243) {
		snprintf(err, errlen, "%s: not a little-endian 64-bit RISC-V ELF file", path);
		goto out_free;
	}
	info->entry = rd(b + 0x18, 8);
	info->low = UINT64_MAX;
	uint64_t phoff = rd(b + 0x20, 8);
	unsigned phentsize = (unsigned)rd(b + 0x36, 2), phnum = (unsigned)rd(b + 0x38, 2);
	if (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
		snprintf(err, errlen, "%s: bad program header table", path);
		goto out_free;
	}
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = b + phoff + (uint64_t)i * phentsize;
		if (rd(ph, 4) != 1) /* PT_LOAD */
			continue;
		uint64_t off = rd(ph + 8, 8), paddr = rd(ph + 0x18, 8);
		uint64_t filesz = rd(ph + 0x20, 8), memsz = rd(ph + 0x28, 8);
		if (memsz < filesz || off > len || filesz > len - off) {
			snprintf(err, errlen, "%s: segment %u is truncated", path, i);
			goto out_free;
		}
		uint8_t *dst = memsz ? vm_bus_ram(bus, paddr, memsz) : NULL;
		if (memsz && !dst) {
			snprintf(err, errlen, "%s: segment %u (0x%llx, %llu bytes) is outside RAM", path, i,
				 (unsigned long long)paddr, (unsigned long long)memsz);
			rc = -ERANGE;
			goto out_free;
		}
		if (memsz) {
			info->low = paddr < info->low ? paddr : info->low;
			info->end = paddr + memsz > info->end ? paddr + memsz : info->end;
			memcpy(dst, b + off, filesz);
			memset(dst + filesz, 0, memsz - filesz);
			if (info->nseg < VM_ELF_MAX_SEGS)
				info->seg[info->nseg++] = (struct vm_elf_seg){ i, paddr, memsz };
		}
	}
	if (info->low == UINT64_MAX)
		info->low = info->end = info->entry;
	find_symbols(b, len, info);
	rc = 0;
out_free:
	free(b);
	return rc;
}
