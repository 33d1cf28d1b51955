/* Sector ciphers: AES in xts/cbc/ctr/ecb, one IV per 512-byte sector from an IV generator.
 * XTS with AES-192 (which libcrypto lacks) runs on two ECB keys here. */
#include "crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cmode { M_XTS, M_CBC, M_CTR, M_ECB };

struct bc_sector_cipher {
	enum cmode mode;
	EVP_CIPHER_CTX *enc, *dec;   /* keyed once; the IV is set per sector */
	EVP_CIPHER_CTX *tweak;       /* own XTS: ECB under the second key half */
	bool own_xts;
	struct bc_ivgen *ivgen;
};

static size_t aes_bytes(const char *alg)
{
	return !strcmp(alg, "aes-128") ? 16 : !strcmp(alg, "aes-192") ? 24
	       : !strcmp(alg, "aes-256") ? 32 : 0;
}

static int mode_of(const char *mode)
{
	return !strcmp(mode, "xts") ? M_XTS : !strcmp(mode, "cbc") ? M_CBC
	       : !strcmp(mode, "ctr") ? M_CTR : !strcmp(mode, "ecb") ? M_ECB : -1;
}

size_t bc_cipher_key_bytes(const char *alg, const char *mode)
{
	size_t n = aes_bytes(alg);

	if (mode_of(mode) < 0)
		return 0;
	return mode_of(mode) == M_XTS ? 2 * n : n;
}

static const EVP_CIPHER *evp_of(size_t bytes, enum cmode m)
{
	static const char *const names[] = { "XTS", "CBC", "CTR", "ECB" };
	char name[32];

	if (m == M_XTS && bytes == 24)
		return NULL;                 /* no AES-192-XTS in libcrypto */
	snprintf(name, sizeof(name), "AES-%zu-%s", bytes * 8, names[m]);
	return EVP_get_cipherbyname(name);
}

static EVP_CIPHER_CTX *keyed(const EVP_CIPHER *c, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1)
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

int bc_sector_cipher_new(struct bc_sector_cipher **out, const char *alg, const char *mode,
			 const char *ivgen, const char *ivhash, const uint8_t *key, size_t keylen,
			 struct bc_err *err)
{
	size_t bytes = aes_bytes(alg);
	int m = mode_of(mode);
	struct bc_sector_cipher *c;
	const EVP_CIPHER *evp;
	int ret;

	if (!bytes)
		return bc_err_set(err, -ENOTSUP, "Algorithm '%s' not supported", alg);
	if (m < 0)
		return bc_err_set(err, -ENOTSUP, "Unsupported cipher mode %s", mode);
	if (keylen != bc_cipher_key_bytes(alg, mode))
		return bc_err_set(err, -EINVAL, "Cipher key length %zu should be %zu", keylen,
				  bc_cipher_key_bytes(alg, mode));
	c = calloc(1, sizeof(*c));
	if (!c)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	c->mode = (enum cmode)m;
	evp = evp_of(bytes, c->mode);
	if (!evp && c->mode == M_XTS) {
		c->own_xts = true;
		evp = evp_of(bytes, M_ECB);
		c->tweak = keyed(evp, key + bytes, 1);
	}
	c->enc = evp ? keyed(evp, key, 1) : NULL;
	c->dec = evp ? keyed(evp, key, 0) : NULL;
	if (!c->enc || !c->dec || (c->own_xts && !c->tweak)) {
		bc_sector_cipher_free(c);
		return bc_err_set(err, -ENOTSUP, "Cipher %s-%s is not available", alg, mode);
	}
	ret = bc_ivgen_new(&c->ivgen, ivgen, ivhash, alg, key, keylen, err);
	if (ret < 0) {
		bc_sector_cipher_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* XTS by hand: T = E2(iv); C = E1(P ^ T) ^ T; T *= x in GF(2^128), little endian. */
static int own_xts(struct bc_sector_cipher *c, bool enc, const uint8_t *iv, uint8_t *buf,
		   size_t len)
{
	uint8_t t[16], x[16];
	int n;

	if (EVP_EncryptUpdate(c->tweak, t, &n, iv, 16) != 1)
		return -EIO;
	for (size_t off = 0; off < len; off += 16) {
		for (int i = 0; i < 16; i++)
			x[i] = buf[off + i] ^ t[i];
		if (EVP_CipherUpdate(enc ? c->enc : c->dec, buf + off, &n, x, 16) != 1)
			return -EIO;
		for (int i = 0; i < 16; i++)
			buf[off + i] ^= t[i];
		uint8_t carry = t[15] >> 7;

		for (int i = 15; i > 0; i--)
			t[i] = (uint8_t)(t[i] << 1 | t[i - 1] >> 7);
		t[0] = (uint8_t)(t[0] << 1) ^ (carry ? 0x87 : 0);
	}
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(x, sizeof(x));
	return 0;
}

int bc_sector_cipher_run(struct bc_sector_cipher *c, bool enc, uint64_t sector, uint8_t *buf,
			 size_t len)
{
	EVP_CIPHER_CTX *ctx = enc || c->mode == M_CTR ? c->enc : c->dec;
	uint8_t iv[16];
	int n;

	if (len % BC_CRYPTO_SECTOR)
		return -EINVAL;
	for (size_t off = 0; off < len; off += BC_CRYPTO_SECTOR, sector++) {
		if (bc_ivgen_make(c->ivgen, sector, iv, sizeof(iv)) < 0)
			return -EIO;
		if (c->own_xts) {
			if (own_xts(c, enc, iv, buf + off, BC_CRYPTO_SECTOR) < 0)
				return -EIO;
			continue;
		}
		if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, c->mode == M_ECB ? NULL : iv, -1) != 1 ||
		    EVP_CipherUpdate(ctx, buf + off, &n, buf + off, BC_CRYPTO_SECTOR) != 1 ||
		    n != BC_CRYPTO_SECTOR)
			return -EIO;
	}
	return 0;
}

static EVP_CIPHER_CTX *ctx_dup(EVP_CIPHER_CTX *from)
{
	EVP_CIPHER_CTX *ctx = from ? EVP_CIPHER_CTX_new() : NULL;

	if (ctx && EVP_CIPHER_CTX_copy(ctx, from) == 1)
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

int bc_sector_cipher_dup(const struct bc_sector_cipher *c, struct bc_sector_cipher **out)
{
	struct bc_sector_cipher *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->mode = c->mode;
	d->own_xts = c->own_xts;
	d->enc = ctx_dup(c->enc);
	d->dec = ctx_dup(c->dec);
	d->tweak = ctx_dup(c->tweak);
	if (!d->enc || !d->dec || (c->tweak && !d->tweak) || bc_ivgen_dup(c->ivgen, &d->ivgen) < 0) {
		bc_sector_cipher_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void bc_sector_cipher_free(struct bc_sector_cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_CIPHER_CTX_free(c->tweak);
	bc_ivgen_free(c->ivgen);
	free(c);
}
