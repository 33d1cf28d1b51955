/* hugemem.c - see hugemem.h. */
#include "emulator/host/hugemem.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_ALIGN ((size_t)2 << 20)

void *vm_huge_map(size_t size, int prot)
{
	/* over-map by the alignment, then give back the unaligned head and the tail */
	size_t len = size + HUGE_ALIGN;
	uint8_t *raw = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	size_t tail = (size_t)(raw + len - (p + size));
	if (tail)
		munmap(p + size, tail);
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE); /* advice only: without it pages stay 4 KiB */
#endif
	return p;
}

void vm_huge_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
