/* Hashes, PBKDF2 and its iteration benchmark, random bytes: libcrypto underneath. */
#include "crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

/* The hashes qemu 7.2 accepts for LUKS (sm3 aside). */
static const char *const hashes[] = { "md5", "sha1", "sha224", "sha256", "sha384", "sha512",
				      "ripemd160", NULL };

static const EVP_MD *md_of(const char *hash)
{
	for (int i = 0; hashes[i]; i++)
		if (!strcmp(hashes[i], hash))
			return EVP_get_digestbyname(hash);
	return NULL;
}

bool bc_hash_known(const char *hash)
{
	return md_of(hash) != NULL;
}

size_t bc_hash_len(const char *hash)
{
	const EVP_MD *md = md_of(hash);

	return md ? (size_t)EVP_MD_get_size(md) : 0;
}

int bc_hash(const char *hash, const uint8_t *in, size_t len, uint8_t *out)
{
	const EVP_MD *md = md_of(hash);

	if (!md)
		return -ENOTSUP;
	return EVP_Digest(in, len, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}

int bc_pbkdf2(const char *hash, const uint8_t *pass, size_t plen, const uint8_t *salt,
	      size_t slen, uint32_t iters, uint8_t *out, size_t outlen)
{
	const EVP_MD *md = md_of(hash);

	if (!md || iters == 0 || iters > INT32_MAX)
		return -EINVAL;
	return PKCS5_PBKDF2_HMAC((const char *)pass, (int)plen, salt, (int)slen, (int)iters, md,
				 (int)outlen, out) == 1 ? 0 : -EIO;
}

int bc_random(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0 &&
	    clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bc_pbkdf2_iters_for(const char *hash, size_t outlen, uint64_t iter_ms)
{
	uint8_t pass[32] = { 0 }, salt[32] = { 0 }, out[128];
	uint64_t iters = 1024, t0, ns = 0;

	if (outlen > sizeof(out))
		outlen = sizeof(out);
	/* Double the trial until it lasts 50 ms of CPU time; a trial too short to measure
	 * just runs again longer instead of failing. */
	for (;;) {
		t0 = cpu_ns();
		if (bc_pbkdf2(hash, pass, sizeof(pass), salt, sizeof(salt), (uint32_t)iters, out,
			      outlen) < 0)
			return 0;
		ns = cpu_ns() - t0;
		if (ns >= 50000000ull || iters >= (1ull << 30))
			break;
		iters *= 2;
	}
	OPENSSL_cleanse(out, sizeof(out));
	if (ns == 0)
		ns = 1;
	/* iterations per second, then scaled to iter_ms (qemu's rounding: per second first) */
	uint64_t per_sec = iters * 1000000000ull / ns;

	if (iter_ms && per_sec > UINT64_MAX / iter_ms)
		return UINT64_MAX;
	return per_sec * iter_ms / 1000;
}
