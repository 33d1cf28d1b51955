/* IV generators for sector ciphers: plain (32-bit sector), plain64, essiv (the sector
 * number encrypted under the hash of the key, in the same cipher family). */
#include "crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

enum ivgen_kind { IV_PLAIN, IV_PLAIN64, IV_ESSIV };

struct bc_ivgen {
	enum ivgen_kind kind;
	EVP_CIPHER_CTX *essiv;       /* ECB encryption under hash(key) */
};

static const EVP_CIPHER *aes_ecb(size_t keylen)
{
	return keylen == 16 ? EVP_aes_128_ecb() : keylen == 24 ? EVP_aes_192_ecb()
	       : keylen == 32 ? EVP_aes_256_ecb() : NULL;
}

static int essiv_init(struct bc_ivgen *g, const char *ivhash, const uint8_t *key, size_t keylen,
		      struct bc_err *err)
{
	uint8_t salt[64];
	size_t slen = bc_hash_len(ivhash);
	const EVP_CIPHER *c = aes_ecb(slen);
	int ret = 0;

	if (!slen)
		return bc_err_set(err, -ENOTSUP, "Algorithm '%s' not supported", ivhash);
	if (!c)
		return bc_err_set(err, -ENOTSUP, "No AES cipher with key size %zu available", slen);
	if (bc_hash(ivhash, key, keylen, salt) < 0)
		return bc_err_set(err, -EIO, "Unable to hash the key");
	g->essiv = EVP_CIPHER_CTX_new();
	if (!g->essiv || EVP_EncryptInit_ex(g->essiv, c, NULL, salt, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(g->essiv, 0) != 1)
		ret = bc_err_set(err, -EIO, "Unable to set up the ESSIV cipher");
	OPENSSL_cleanse(salt, sizeof(salt));
	return ret;
}

int bc_ivgen_new(struct bc_ivgen **out, const char *ivgen, const char *ivhash, const char *alg,
		 const uint8_t *key, size_t keylen, struct bc_err *err)
{
	struct bc_ivgen *g = calloc(1, sizeof(*g));
	int ret = 0;

	(void)alg;   /* only the AES family exists here; essiv picks its key size by hash */
	if (!g)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (!strcmp(ivgen, "plain"))
		g->kind = IV_PLAIN;
	else if (!strcmp(ivgen, "plain64"))
		g->kind = IV_PLAIN64;
	else if (!strcmp(ivgen, "essiv")) {
		g->kind = IV_ESSIV;
		ret = essiv_init(g, ivhash ? ivhash : "sha256", key, keylen, err);
	} else
		ret = bc_err_set(err, -ENOTSUP, "Unsupported IV generator '%s'", ivgen);
	if (ret < 0) {
		bc_ivgen_free(g);
		return ret;
	}
	*out = g;
	return 0;
}

int bc_ivgen_make(struct bc_ivgen *g, uint64_t sector, uint8_t *iv, size_t ivlen)
{
	uint8_t tmp[16];
	int n = 0;

	memset(iv, 0, ivlen);
	if (g->kind == IV_PLAIN)
		sector &= 0xffffffffu;
	for (size_t i = 0; i < 8 && i < ivlen; i++)
		iv[i] = (uint8_t)(sector >> (8 * i));
	if (g->kind != IV_ESSIV)
		return 0;
	if (ivlen != 16 || EVP_EncryptUpdate(g->essiv, tmp, &n, iv, 16) != 1 || n != 16)
		return -EIO;
	memcpy(iv, tmp, 16);
	return 0;
}

int bc_ivgen_dup(const struct bc_ivgen *g, struct bc_ivgen **out)
{
	struct bc_ivgen *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->kind = g->kind;
	if (g->essiv && (!(d->essiv = EVP_CIPHER_CTX_new()) ||
			 EVP_CIPHER_CTX_copy(d->essiv, g->essiv) != 1)) {
		bc_ivgen_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void bc_ivgen_free(struct bc_ivgen *g)
{
	if (!g)
		return;
	EVP_CIPHER_CTX_free(g->essiv);
	free(g);
}
