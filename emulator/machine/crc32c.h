/* crc32c.h - CRC-32C (Castagnoli), the VM state stream's checksum from format 2 on: the
 * x86 SSE4.2 instruction when the host has it (a 64 MiB state in milliseconds, where zlib's
 * CRC-32 took a third of loadvm), a table otherwise. Chained like zlib's crc32: start at 0. */
#ifndef STRATA_EMULATOR_MACHINE_CRC32C_H
#define STRATA_EMULATOR_MACHINE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t vm_crc32c(uint32_t crc, const void *buf, size_t n);

#endif
