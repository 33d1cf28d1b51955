/* crc32c.c - CRC-32C with a run-time choice between the SSE4.2 instruction and a table. */
#include "emulator/machine/crc32c.h"

#include <stdbool.h>
#include <string.h>

#define POLY 0x82f63b78u /* Castagnoli, reflected */

static uint32_t soft(uint32_t c, const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static bool ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;
			for (int k = 0; k < 8; k++)
				v = v & 1 ? (v >> 1) ^ POLY : v >> 1;
			table[i] = v;
		}
		ready = true;
	}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t hard(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

static bool have_hard(void)
{
	static int have = -1;
	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	}
	return have;
}
#else
static uint32_t hard(uint32_t c, const uint8_t *p, size_t n) { return soft(c, p, n); }
static bool have_hard(void) { return false; }
#endif

uint32_t vm_crc32c(uint32_t crc, const void *buf, size_t n)
{
	uint32_t c = ~crc;
	c = have_hard() ? hard(c, buf, n) : soft(c, buf, n);
	return ~c;
}
