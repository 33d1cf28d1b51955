/* The LUKS1 anti-forensic splitter: a key spread over `stripes` blocks, all of which are
 * needed to get it back (each block is mixed into the next through a hash "diffuse"). */
#include "crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* Replaces block with H(be32(0)||chunk0) || H(be32(1)||chunk1) ..., chunks of digest size,
 * the last one truncated. */
static int diffuse(const char *hash, uint8_t *block, size_t len)
{
	size_t ds = bc_hash_len(hash), done = 0;
	uint8_t in[4 + 64], out[64];
	int ret = 0;

	if (!ds || ds > 64)
		return -ENOTSUP;
	for (uint32_t i = 0; done < len && ret == 0; i++) {
		size_t n = len - done < ds ? len - done : ds;
		uint32_t be = htonl(i);

		memcpy(in, &be, 4);
		memcpy(in + 4, block + done, n);
		ret = bc_hash(hash, in, 4 + n, out);
		memcpy(block + done, out, n);
		done += n;
	}
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(out, sizeof(out));
	return ret;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] ^= src[i];
}

int bc_af_split(const char *hash, const uint8_t *key, size_t keylen, uint32_t stripes,
		uint8_t *out)
{
	uint8_t *d = calloc(1, keylen);
	int ret = d ? 0 : -ENOMEM;

	if (ret == 0 && stripes > 1)
		ret = bc_random(out, keylen * (stripes - 1));
	for (uint32_t i = 0; ret == 0 && i + 1 < stripes; i++) {
		xor_into(d, out + (size_t)i * keylen, keylen);
		ret = diffuse(hash, d, keylen);
	}
	if (ret == 0) {
		memcpy(out + (size_t)(stripes - 1) * keylen, d, keylen);
		xor_into(out + (size_t)(stripes - 1) * keylen, key, keylen);
	}
	if (d)
		OPENSSL_cleanse(d, keylen);
	free(d);
	return ret;
}

int bc_af_merge(const char *hash, const uint8_t *in, size_t keylen, uint32_t stripes,
		uint8_t *key)
{
	uint8_t *d = calloc(1, keylen);
	int ret = d ? 0 : -ENOMEM;

	for (uint32_t i = 0; ret == 0 && i + 1 < stripes; i++) {
		xor_into(d, in + (size_t)i * keylen, keylen);
		ret = diffuse(hash, d, keylen);
	}
	if (ret == 0) {
		memcpy(key, d, keylen);
		xor_into(key, in + (size_t)(stripes - 1) * keylen, keylen);
	}
	if (d)
		OPENSSL_cleanse(d, keylen);
	free(d);
	return ret;
}
