/* Internet checksums the way a kernel computes them on a 64-bit host: whole aligned words
 * with the carries counted by compares (sltu), the head and tail words masked by shifts,
 * 64 -> 32 -> 16 bit folds with rotates, a byte swap for odd starts, 32-bit partial sums
 * combined by end-around-carry adds (addw + sltu on zero-extended values) and rotated by 8
 * for odd offsets, and a copy-and-checksum over unaligned buffers. Loops with compares on
 * W results are what the JIT keeps in host registers (lazy sign extension, cmov); every
 * result is checked against a byte-at-a-time reference here and the totals printed for
 * comparison with QEMU. */
#include "rvtest.h"

#include <stddef.h>

static uint8_t src[8192 + 64] __attribute__((aligned(4096)));
static uint8_t dst[8192 + 64] __attribute__((aligned(4096)));

static uint32_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* reference: little-endian 16-bit words counted from buf's own start */
static uint32_t csum_ref(const uint8_t *b, size_t len)
{
	uint64_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? (uint64_t)b[i] << 8 : b[i];
	return fold16(s);
}

static __attribute__((noinline)) uint32_t csum_words(const uint8_t *buf, size_t len)
{
	if (!len)
		return 0;
	size_t off = (uintptr_t)buf & 7, end = off + len;
	const uint64_t *p = (const uint64_t *)(buf - off);
	uint64_t w = *p++ & (~0ULL << (off * 8)), sum = 0, carry = 0;
	while (end > 8) {
		sum += w;
		carry += sum < w;
		w = *p++;
		end -= 8;
	}
	if (end < 8)
		w &= ~0ULL >> ((8 - end) * 8);
	sum += w;
	carry += sum < w;
	sum += carry;
	sum += sum < carry;
	sum += (sum >> 32) | (sum << 32); /* the high half: both halves and their carry */
	uint32_t s = (uint32_t)(sum >> 32);
	if (off & 1)
		s = ((s >> 8) & 0x00ff00ffu) | ((s & 0x00ff00ffu) << 8);
	return fold16(s);
}

static __attribute__((noinline)) uint32_t csum_add32(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;
	return r + (r < b);
}

/* a block's sum added at OFFSET into a running one (odd offsets swap the bytes) */
static __attribute__((noinline)) uint32_t csum_block(uint32_t total, uint32_t part, size_t offset)
{
	if (offset & 1)
		part = (part >> 8) | (part << 24);
	return csum_add32(total, part);
}

/* copy LEN bytes from s to d a word at a time where both allow, and sum what was copied */
static __attribute__((noinline)) uint32_t copy_csum(uint8_t *d, const uint8_t *s, size_t len)
{
	size_t i = 0;
	if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
		for (; i < len && ((uintptr_t)(s + i) & 7); i++)
			d[i] = s[i];
		for (; i + 8 <= len; i += 8)
			*(uint64_t *)(d + i) = *(const uint64_t *)(s + i);
	}
	for (; i < len; i++)
		d[i] = s[i];
	return csum_words(d, len);
}

int main(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, bad = 0, hash = 0;
	for (size_t i = 0; i < sizeof(src); i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		src[i] = (uint8_t)(seed >> 56);
	}
	for (unsigned round = 0; round < 3000; round++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t off = (seed >> 20) & 63, len = (seed >> 33) % 4000, doff = (seed >> 50) & 15;
		uint32_t got = csum_words(src + off, len), want = csum_ref(src + off, len);
		bad += got % 0xffff != want % 0xffff;
		/* the same bytes as two blocks, the second at an odd or even offset */
		size_t cut = len ? (seed >> 12) % len : 0;
		uint32_t a = csum_words(src + off, cut), b = csum_words(src + off + cut, len - cut);
		uint32_t whole = fold16(csum_block(a, b, cut));
		bad += whole % 0xffff != want % 0xffff;
		uint32_t c = copy_csum(dst + doff, src + off, len);
		bad += c % 0xffff != want % 0xffff;
		for (size_t i = 0; i < len; i += 97)
			bad += dst[doff + i] != src[off + i];
		hash = (hash ^ got ^ (uint64_t)whole << 16 ^ (uint64_t)c << 32) * 0x100000001b3ULL;
	}
	rv_puts("csum mismatches ");
	rv_puthex64(bad);
	rv_puts("\nhash ");
	rv_puthex64(hash);
	rv_puts("\n");
	return 0;
}
