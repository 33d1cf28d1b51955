/* hugemem.h - large anonymous mappings the host kernel may back with transparent huge pages.
 * Guest RAM and the JIT's code buffer are touched all over on every wake of an idle guest;
 * with 4 KiB host pages each wake paid hundreds of host TLB misses (QEMU asks for huge pages
 * for the same two regions). The mapping is 2 MiB aligned and advised MADV_HUGEPAGE; where
 * the host refuses, it is plain lazily zeroed memory. */
#ifndef STRATA_EMULATOR_HOST_HUGEMEM_H
#define STRATA_EMULATOR_HOST_HUGEMEM_H

#include <stddef.h>

/* Returns the mapping (prot as for mmap) or NULL with errno set. */
void *vm_huge_map(size_t size, int prot);
void vm_huge_unmap(void *p, size_t size);

#endif
