/*
 * LUKS1 volumes (cryptsetup's on-disk format, as qemu 7.2 lays it out): a 592-byte header,
 * 8 keyslots each holding the master key AF-split into 4000 stripes and encrypted under a
 * PBKDF2-derived key, keyslot areas aligned to 4096 bytes, then the payload.
 */
#include "crypto.h"
#include "bc_driver.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LUKS_ACTIVE 0x00ac71f3u
#define LUKS_INACTIVE 0x0000deadu
#define LUKS_SALT 32
#define LUKS_DIGEST 20
#define LUKS_ALIGN 4096u
#define LUKS_MIN_ITERS 1000u

static const uint8_t luks_magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

struct luks_slot {
	uint32_t active, iters, key_offset, stripes;   /* key_offset in sectors */
	uint8_t salt[LUKS_SALT];
};

struct bc_luks {
	char cipher_name[33], cipher_mode[33], hash[33], uuid[41];
	uint32_t payload_offset, key_bytes, mk_iters;   /* payload_offset in sectors */
	uint8_t mk_digest[LUKS_DIGEST], mk_salt[LUKS_SALT];
	struct luks_slot slot[BC_LUKS_SLOTS];
	/* derived */
	char alg[48], mode[8], ivgen[8], ivhash[33];
	uint8_t *mk;                                    /* NULL: locked */
	struct bc_sector_cipher *cipher;
};

/* ---- header bytes ---- */

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void luks_decode(struct bc_luks *l, const uint8_t *b)
{
	copy_str(l->cipher_name, b + 8, 32);
	copy_str(l->cipher_mode, b + 40, 32);
	copy_str(l->hash, b + 72, 32);
	l->payload_offset = bc_rd_be32(b + 104);
	l->key_bytes = bc_rd_be32(b + 108);
	memcpy(l->mk_digest, b + 112, LUKS_DIGEST);
	memcpy(l->mk_salt, b + 132, LUKS_SALT);
	l->mk_iters = bc_rd_be32(b + 164);
	copy_str(l->uuid, b + 168, 40);
	for (int i = 0; i < BC_LUKS_SLOTS; i++) {
		const uint8_t *s = b + 208 + 48 * i;

		l->slot[i].active = bc_rd_be32(s);
		l->slot[i].iters = bc_rd_be32(s + 4);
		memcpy(l->slot[i].salt, s + 8, LUKS_SALT);
		l->slot[i].key_offset = bc_rd_be32(s + 40);
		l->slot[i].stripes = bc_rd_be32(s + 44);
	}
}

static void luks_encode(const struct bc_luks *l, uint8_t *b)
{
	memset(b, 0, BC_LUKS_HDR_LEN);
	memcpy(b, luks_magic, 6);
	bc_wr_be16(b + 6, 1);
	memcpy(b + 8, l->cipher_name, strlen(l->cipher_name));
	memcpy(b + 40, l->cipher_mode, strlen(l->cipher_mode));
	memcpy(b + 72, l->hash, strlen(l->hash));
	bc_wr_be32(b + 104, l->payload_offset);
	bc_wr_be32(b + 108, l->key_bytes);
	memcpy(b + 112, l->mk_digest, LUKS_DIGEST);
	memcpy(b + 132, l->mk_salt, LUKS_SALT);
	bc_wr_be32(b + 164, l->mk_iters);
	memcpy(b + 168, l->uuid, strlen(l->uuid));
	for (int i = 0; i < BC_LUKS_SLOTS; i++) {
		uint8_t *s = b + 208 + 48 * i;

		bc_wr_be32(s, l->slot[i].active);
		bc_wr_be32(s + 4, l->slot[i].iters);
		memcpy(s + 8, l->slot[i].salt, LUKS_SALT);
		bc_wr_be32(s + 40, l->slot[i].key_offset);
		bc_wr_be32(s + 44, l->slot[i].stripes);
	}
}

/* "xts-plain64", "cbc-essiv:sha256" -> mode, ivgen, ivhash; "aes" + key bytes -> alg. */
static int luks_derive(struct bc_luks *l, struct bc_err *err)
{
	char *dash = strchr(l->cipher_mode, '-'), *colon;
	size_t mlen = dash ? (size_t)(dash - l->cipher_mode) : 0;
	unsigned bits;

	if (!dash || mlen >= sizeof(l->mode) || strlen(dash + 1) >= 33)
		return bc_err_set(err, -EINVAL, "Unexpected cipher mode string format %s",
				  l->cipher_mode);
	memcpy(l->mode, l->cipher_mode, mlen);
	l->mode[mlen] = 0;
	snprintf(l->ivhash, sizeof(l->ivhash), "%s", dash + 1);
	colon = strchr(l->ivhash, ':');
	if (colon) {
		*colon = 0;
		if (strlen(l->ivhash) >= sizeof(l->ivgen))
			return bc_err_set(err, -ENOTSUP, "IV generator '%s' not supported", l->ivhash);
		strcpy(l->ivgen, l->ivhash);
		memmove(l->ivhash, colon + 1, strlen(colon + 1) + 1);
	} else {
		if (strlen(l->ivhash) >= sizeof(l->ivgen))
			return bc_err_set(err, -ENOTSUP, "IV generator '%s' not supported", l->ivhash);
		strcpy(l->ivgen, l->ivhash);
		l->ivhash[0] = 0;
	}
	if (strcmp(l->ivgen, "plain") && strcmp(l->ivgen, "plain64") && strcmp(l->ivgen, "essiv"))
		return bc_err_set(err, -ENOTSUP, "IV generator '%s' not supported", l->ivgen);
	if (!strcmp(l->ivgen, "essiv") && !bc_hash_known(l->ivhash))
		return bc_err_set(err, -ENOTSUP, "Hash algorithm '%s' not supported", l->ivhash);
	bits = l->key_bytes * 8 / (strcmp(l->mode, "xts") ? 1 : 2);
	snprintf(l->alg, sizeof(l->alg), "%s-%u", l->cipher_name, bits);
	if (!bc_cipher_key_bytes(l->alg, l->mode) ||
	    bc_cipher_key_bytes(l->alg, l->mode) != l->key_bytes)
		return bc_err_set(err, -ENOTSUP, "Cipher name '%s' mode '%s' with key size %u "
				  "not supported", l->cipher_name, l->cipher_mode, l->key_bytes);
	if (!bc_hash_known(l->hash))
		return bc_err_set(err, -ENOTSUP, "Hash algorithm '%s' not supported", l->hash);
	return 0;
}

static uint32_t split_sectors(uint32_t key_bytes)
{
	uint64_t n = (uint64_t)key_bytes * BC_LUKS_STRIPES;

	return (uint32_t)((n + LUKS_ALIGN - 1) / LUKS_ALIGN * LUKS_ALIGN / BC_CRYPTO_SECTOR);
}

/* Keyslots inside the header area, outside the first 592 bytes, not overlapping. */
static int luks_check_slots(const struct bc_luks *l, struct bc_err *err)
{
	uint32_t hdr = (BC_LUKS_HDR_LEN + BC_CRYPTO_SECTOR - 1) / BC_CRYPTO_SECTOR;

	for (int i = 0; i < BC_LUKS_SLOTS; i++) {
		const struct luks_slot *s = &l->slot[i];
		uint64_t end = s->key_offset + ((uint64_t)l->key_bytes * s->stripes +
					        BC_CRYPTO_SECTOR - 1) / BC_CRYPTO_SECTOR;

		if (s->active != LUKS_ACTIVE && s->active != LUKS_INACTIVE)
			return bc_err_set(err, -EINVAL, "Keyslot %d state (active/disable) is "
					  "corrupted", i);
		if (s->stripes != BC_LUKS_STRIPES)
			return bc_err_set(err, -EINVAL, "Keyslot %d is corrupted (stripes %u != %u)",
					  i, s->stripes, BC_LUKS_STRIPES);
		if (s->key_offset < hdr)
			return bc_err_set(err, -EINVAL, "Keyslot %d is overlapping with the LUKS "
					  "header", i);
		if (end > l->payload_offset)
			return bc_err_set(err, -EINVAL, "Keyslot %d is overlapping with the "
					  "encrypted payload", i);
		if (s->active == LUKS_ACTIVE && (s->iters == 0 || s->iters > INT32_MAX))
			return bc_err_set(err, -EINVAL, "Keyslot %d iteration count is invalid", i);
		for (int j = 0; j < i; j++) {
			const struct luks_slot *t = &l->slot[j];
			uint64_t tend = t->key_offset + ((uint64_t)l->key_bytes * t->stripes +
						         BC_CRYPTO_SECTOR - 1) / BC_CRYPTO_SECTOR;

			if (s->key_offset < tend && t->key_offset < end)
				return bc_err_set(err, -EINVAL, "Keyslots %d and %d are overlapping "
						  "in the header", j, i);
		}
	}
	return 0;
}

static int luks_parse(struct bc_luks *l, const uint8_t *b, size_t len, struct bc_err *err)
{
	int ret;

	if (len < BC_LUKS_HDR_LEN || memcmp(b, luks_magic, 6))
		return bc_err_set(err, -EINVAL, "Volume is not in LUKS format");
	if (bc_rd_be16(b + 6) != 1)
		return bc_err_set(err, -ENOTSUP, "LUKS version %u is not supported",
				  bc_rd_be16(b + 6));
	luks_decode(l, b);
	if (l->key_bytes == 0 || l->key_bytes > 64)
		return bc_err_set(err, -EINVAL, "LUKS key size %u is not supported", l->key_bytes);
	if (l->mk_iters == 0 || l->mk_iters > INT32_MAX)
		return bc_err_set(err, -EINVAL, "LUKS master key iteration count is invalid");
	ret = luks_derive(l, err);
	return ret < 0 ? ret : luks_check_slots(l, err);
}

int bc_luks_header_check(const uint8_t *buf, size_t len, struct bc_err *err)
{
	struct bc_luks l;

	memset(&l, 0, sizeof(l));
	return luks_parse(&l, buf, len, err);
}

/* ---- keyslots ---- */

static size_t material_len(const struct bc_luks *l)
{
	size_t n = (size_t)l->key_bytes * BC_LUKS_STRIPES;

	return (n + BC_CRYPTO_SECTOR - 1) / BC_CRYPTO_SECTOR * BC_CRYPTO_SECTOR;
}

/* The cipher a keyslot's material is encrypted with, keyed from pass. */
static int slot_cipher(const struct bc_luks *l, const struct luks_slot *s, const uint8_t *pass,
		       size_t plen, struct bc_sector_cipher **c, struct bc_err *err)
{
	uint8_t key[64];
	int ret = bc_pbkdf2(l->hash, pass, plen, s->salt, LUKS_SALT, s->iters, key, l->key_bytes);

	if (ret < 0)
		ret = bc_err_set(err, ret, "Unable to derive the keyslot key");
	else
		ret = bc_sector_cipher_new(c, l->alg, l->mode, l->ivgen, l->ivhash, key,
					   l->key_bytes, err);
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

static int mk_matches(const struct bc_luks *l, const uint8_t *mk)
{
	uint8_t d[LUKS_DIGEST];
	int ret = bc_pbkdf2(l->hash, mk, l->key_bytes, l->mk_salt, LUKS_SALT, l->mk_iters, d,
			    LUKS_DIGEST);

	if (ret < 0)
		return ret;
	return CRYPTO_memcmp(d, l->mk_digest, LUKS_DIGEST) == 0;
}

/* Tries slot i with pass: 1 and mk filled when it opens, 0 when not, -errno on I/O. */
static int slot_try(const struct bc_luks *l, const struct bc_luks_io *io, int i,
		    const uint8_t *pass, size_t plen, uint8_t *mk, struct bc_err *err)
{
	const struct luks_slot *s = &l->slot[i];
	size_t mlen = material_len(l);
	struct bc_sector_cipher *c = NULL;
	uint8_t *m = malloc(mlen);
	int ret = m ? 0 : -ENOMEM;

	if (ret == 0)
		ret = io->read(io->opaque, (uint64_t)s->key_offset * BC_CRYPTO_SECTOR, m, mlen);
	if (ret < 0)
		bc_err_set(err, ret, "Unable to read keyslot %d", i);
	if (ret == 0)
		ret = slot_cipher(l, s, pass, plen, &c, err);
	if (ret == 0)
		ret = bc_sector_cipher_run(c, false, 0, m, mlen);
	if (ret == 0)
		ret = bc_af_merge(l->hash, m, l->key_bytes, s->stripes, mk);
	if (ret == 0)
		ret = mk_matches(l, mk);
	bc_sector_cipher_free(c);
	if (m)
		OPENSSL_cleanse(m, mlen);
	free(m);
	return ret;
}

/* Writes mk into slot i under pass with iters (header not written here). */
static int slot_store(struct bc_luks *l, const struct bc_luks_io *io, int i, const uint8_t *pass,
		      size_t plen, uint64_t iter_time, struct bc_err *err)
{
	struct luks_slot *s = &l->slot[i];
	uint64_t iters = bc_pbkdf2_iters_for(l->hash, l->key_bytes, iter_time);
	size_t mlen = material_len(l);
	struct bc_sector_cipher *c = NULL;
	uint8_t *m = calloc(1, mlen);
	int ret = m ? 0 : -ENOMEM;

	if (iters > UINT32_MAX)
		ret = bc_err_set(err, -ERANGE, "PBKDF iterations %llu larger than %u",
				 (unsigned long long)iters, UINT32_MAX);
	s->iters = iters < LUKS_MIN_ITERS ? LUKS_MIN_ITERS : (uint32_t)iters;
	s->stripes = BC_LUKS_STRIPES;
	if (ret == 0 && bc_random(s->salt, LUKS_SALT) < 0)
		ret = bc_err_set(err, -EIO, "Unable to generate random data");
	if (ret == 0)
		ret = slot_cipher(l, s, pass, plen, &c, err);
	if (ret == 0)
		ret = bc_af_split(l->hash, l->mk, l->key_bytes, s->stripes, m);
	if (ret == 0)
		ret = bc_sector_cipher_run(c, true, 0, m, mlen);
	if (ret == 0)
		ret = io->write(io->opaque, (uint64_t)s->key_offset * BC_CRYPTO_SECTOR, m, mlen);
	if (ret < 0 && err && !err->code)
		bc_err_set(err, ret, "Unable to write keyslot %d", i);
	if (ret == 0)
		s->active = LUKS_ACTIVE;
	bc_sector_cipher_free(c);
	if (m)
		OPENSSL_cleanse(m, mlen);
	free(m);
	return ret;
}

static int header_write(const struct bc_luks *l, const struct bc_luks_io *io, struct bc_err *err)
{
	uint8_t b[BC_LUKS_HDR_LEN];
	int ret;

	luks_encode(l, b);
	ret = io->write(io->opaque, 0, b, sizeof(b));
	return ret < 0 ? bc_err_set(err, ret, "Unable to write the LUKS header") : 0;
}

static int luks_set_key(struct bc_luks *l, uint8_t *mk, struct bc_err *err)
{
	l->mk = mk;
	return bc_sector_cipher_new(&l->cipher, l->alg, l->mode, l->ivgen, l->ivhash, mk,
				    l->key_bytes, err);
}

int bc_luks_open(struct bc_luks **out, const struct bc_luks_io *io, const uint8_t *pass,
		 size_t plen, struct bc_err *err)
{
	struct bc_luks *l = calloc(1, sizeof(*l));
	uint8_t b[BC_LUKS_HDR_LEN];
	int ret = l ? 0 : -ENOMEM;

	if (ret == 0)
		ret = io->read(io->opaque, 0, b, sizeof(b));
	if (ret < 0)
		bc_err_set(err, ret, ret == -ENOMEM ? "Out of memory" : "Unable to read LUKS header");
	if (ret == 0)
		ret = luks_parse(l, b, sizeof(b), err);
	if (ret == 0 && pass) {
		uint8_t *mk = malloc(l->key_bytes);

		ret = mk ? 0 : bc_err_set(err, -ENOMEM, "Out of memory");
		for (int i = 0; ret == 0 && i < BC_LUKS_SLOTS; i++) {
			if (l->slot[i].active != LUKS_ACTIVE)
				continue;
			ret = slot_try(l, io, i, pass, plen, mk, err);
			if (ret == 1)
				break;
		}
		if (ret == 1)
			ret = luks_set_key(l, mk, err);
		else if (ret == 0)
			ret = bc_err_set(err, -EPERM, "Invalid password, cannot unlock any keyslot");
		if (mk && !l->mk) {
			OPENSSL_cleanse(mk, l->key_bytes);
			free(mk);
		}
	}
	if (ret < 0) {
		bc_luks_free(l);
		return ret;
	}
	*out = l;
	return 0;
}

void bc_luks_free(struct bc_luks *l)
{
	if (!l)
		return;
	bc_sector_cipher_free(l->cipher);
	if (l->mk)
		OPENSSL_cleanse(l->mk, l->key_bytes);
	free(l->mk);
	free(l);
}

uint64_t bc_luks_payload_offset(const struct bc_luks *l)
{
	return (uint64_t)l->payload_offset * BC_CRYPTO_SECTOR;
}

bool bc_luks_unlocked(const struct bc_luks *l)
{
	return l->cipher != NULL;
}

int bc_luks_encrypt(struct bc_luks *l, uint64_t sector, uint8_t *buf, size_t len)
{
	return l->cipher ? bc_sector_cipher_run(l->cipher, true, sector, buf, len) : -EACCES;
}

int bc_luks_decrypt(struct bc_luks *l, uint64_t sector, uint8_t *buf, size_t len)
{
	return l->cipher ? bc_sector_cipher_run(l->cipher, false, sector, buf, len) : -EACCES;
}

struct bc_sector_cipher *bc_luks_cipher(struct bc_luks *l)
{
	return l ? l->cipher : NULL;
}

/* ---- create ---- */

int bc_luks_params_get(struct bc_luks_params *p, const struct bc_opts *o, const char *prefix,
		       struct bc_err *err)
{
	char key[64];
	const char **dst[] = { &p->cipher_alg, &p->cipher_mode, &p->ivgen_alg, &p->ivgen_hash_alg,
			       &p->hash_alg };
	static const char *const names[] = { "cipher-alg", "cipher-mode", "ivgen-alg",
					     "ivgen-hash-alg", "hash-alg" };
	static const char *const dflt[] = { "aes-256", "xts", "plain64", NULL, "sha256" };

	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
		*dst[i] = bc_opts_get(o, key) ? bc_opts_get(o, key) : dflt[i];
	}
	snprintf(key, sizeof(key), "%siter-time", prefix);
	int ret = bc_opts_get_u64(o, key, 2000, &p->iter_time, err);

	return ret == -ENOENT ? 0 : ret;
}

/* Validates p into l's names (qemu's texts for what it rejects). */
static int luks_from_params(struct bc_luks *l, const struct bc_luks_params *p,
			    struct bc_err *err)
{
	static const char *const algs[] = { "aes-128", "aes-192", "aes-256", "des", "3des",
					    "cast5-128", "serpent-128", "serpent-192",
					    "serpent-256", "twofish-128", "twofish-192",
					    "twofish-256", NULL };
	static const char *const modes[] = { "ecb", "cbc", "xts", "ctr", NULL };
	static const char *const ivgens[] = { "plain", "plain64", "essiv", NULL };
	bool essiv = !strcmp(p->ivgen_alg, "essiv");
	const char *ivhash = p->ivgen_hash_alg ? p->ivgen_hash_alg : "sha256";
	int i;

	for (i = 0; algs[i] && strcmp(algs[i], p->cipher_alg); i++)
		;
	if (!algs[i])
		return bc_err_set(err, -EINVAL, "Parameter 'cipher-alg' does not accept value "
				  "'%s'", p->cipher_alg);
	for (i = 0; modes[i] && strcmp(modes[i], p->cipher_mode); i++)
		;
	if (!modes[i])
		return bc_err_set(err, -EINVAL, "Parameter 'cipher-mode' does not accept value "
				  "'%s'", p->cipher_mode);
	for (i = 0; ivgens[i] && strcmp(ivgens[i], p->ivgen_alg); i++)
		;
	if (!ivgens[i])
		return bc_err_set(err, -EINVAL, "Parameter 'ivgen-alg' does not accept value "
				  "'%s'", p->ivgen_alg);
	if (!bc_hash_known(p->hash_alg))
		return bc_err_set(err, -EINVAL, "Parameter 'hash-alg' does not accept value '%s'",
				  p->hash_alg);
	if (essiv && !bc_hash_known(ivhash))
		return bc_err_set(err, -EINVAL, "Parameter 'ivgen-hash-alg' does not accept "
				  "value '%s'", ivhash);
	if (!bc_cipher_key_bytes(p->cipher_alg, p->cipher_mode))
		return bc_err_set(err, -ENOTSUP, "Algorithm '%s' not supported", p->cipher_alg);
	if (essiv && bc_hash_len(ivhash) != 16 && bc_hash_len(ivhash) != 24 &&
	    bc_hash_len(ivhash) != 32)
		return bc_err_set(err, -ENOTSUP, "No AES cipher with key size %zu available",
				  bc_hash_len(ivhash));
	snprintf(l->cipher_name, sizeof(l->cipher_name), "aes");
	snprintf(l->alg, sizeof(l->alg), "%s", p->cipher_alg);
	snprintf(l->mode, sizeof(l->mode), "%s", p->cipher_mode);
	snprintf(l->ivgen, sizeof(l->ivgen), "%s", p->ivgen_alg);
	snprintf(l->ivhash, sizeof(l->ivhash), "%s", essiv ? ivhash : "");
	if (essiv)
		snprintf(l->cipher_mode, sizeof(l->cipher_mode), "%s-essiv:%s", p->cipher_mode,
			 ivhash);
	else
		snprintf(l->cipher_mode, sizeof(l->cipher_mode), "%s-%s", p->cipher_mode,
			 p->ivgen_alg);
	snprintf(l->hash, sizeof(l->hash), "%s", p->hash_alg);
	l->key_bytes = (uint32_t)bc_cipher_key_bytes(p->cipher_alg, p->cipher_mode);
	return 0;
}

static void luks_layout(struct bc_luks *l)
{
	uint32_t hdr = LUKS_ALIGN / BC_CRYPTO_SECTOR, split = split_sectors(l->key_bytes);

	for (int i = 0; i < BC_LUKS_SLOTS; i++) {
		l->slot[i].active = LUKS_INACTIVE;
		l->slot[i].stripes = BC_LUKS_STRIPES;
		l->slot[i].key_offset = hdr + (uint32_t)i * split;
	}
	l->payload_offset = hdr + BC_LUKS_SLOTS * split;
}

int bc_luks_header_len(const struct bc_luks_params *p, uint64_t *len, struct bc_err *err)
{
	struct bc_luks l;
	int ret;

	memset(&l, 0, sizeof(l));
	ret = luks_from_params(&l, p, err);
	if (ret < 0)
		return ret;
	luks_layout(&l);
	*len = (uint64_t)l.payload_offset * BC_CRYPTO_SECTOR;
	return 0;
}

static void make_uuid(char *out, const uint8_t r[16])
{
	uint8_t u[16];

	memcpy(u, r, 16);
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

int bc_luks_create(struct bc_luks **out, const struct bc_luks_io *io,
		   const struct bc_luks_params *p, const uint8_t *pass, size_t plen,
		   struct bc_err *err)
{
	struct bc_luks *l = calloc(1, sizeof(*l));
	uint8_t r[16], *mk = NULL;
	uint64_t iters;
	int ret = l ? 0 : bc_err_set(err, -ENOMEM, "Out of memory");

	if (ret == 0)
		ret = luks_from_params(l, p, err);
	if (ret == 0) {
		luks_layout(l);
		mk = malloc(l->key_bytes);
		if (!mk || bc_random(mk, l->key_bytes) < 0 || bc_random(l->mk_salt, LUKS_SALT) < 0 ||
		    bc_random(r, sizeof(r)) < 0)
			ret = bc_err_set(err, -EIO, "Unable to generate random data");
	}
	if (ret == 0) {
		make_uuid(l->uuid, r);
		/* the master key digest costs an eighth of iter-time, as cryptsetup's */
		iters = bc_pbkdf2_iters_for(l->hash, LUKS_DIGEST, p->iter_time) / 8;
		if (iters > UINT32_MAX)
			ret = bc_err_set(err, -ERANGE, "PBKDF iterations %llu larger than %u",
					 (unsigned long long)iters, UINT32_MAX);
		l->mk_iters = iters < LUKS_MIN_ITERS ? LUKS_MIN_ITERS : (uint32_t)iters;
	}
	if (ret == 0 && bc_pbkdf2(l->hash, mk, l->key_bytes, l->mk_salt, LUKS_SALT, l->mk_iters,
				  l->mk_digest, LUKS_DIGEST) < 0)
		ret = bc_err_set(err, -EIO, "Unable to digest the master key");
	if (ret == 0) {
		ret = luks_set_key(l, mk, err);
		mk = NULL;
	}
	if (ret == 0)
		ret = slot_store(l, io, 0, pass, plen, p->iter_time, err);
	if (ret == 0)
		ret = header_write(l, io, err);
	if (mk) {
		OPENSSL_cleanse(mk, l->key_bytes);
		free(mk);
	}
	if (ret < 0) {
		bc_luks_free(l);
		return ret;
	}
	*out = l;
	return 0;
}

/* ---- info ---- */

void bc_luks_info(const struct bc_luks *l, struct bc_node *data, bool with_format)
{
	struct bc_node *slots;

	bc_node_add_str(data, "ivgen-alg", l->ivgen);
	bc_node_add_str(data, "hash-alg", l->hash);
	bc_node_add_str(data, "cipher-alg", l->alg);
	bc_node_add_str(data, "uuid", l->uuid);
	if (l->ivhash[0])
		bc_node_add_str(data, "ivgen-hash-alg", l->ivhash);
	if (with_format)   /* qcow2's encrypt object names its format here */
		bc_node_add_str(data, "format", "luks");
	bc_node_add_str(data, "cipher-mode", l->mode);
	slots = bc_node_add(data, BC_NODE_LIST, "slots");
	for (int i = 0; i < BC_LUKS_SLOTS; i++) {
		struct bc_node *s = bc_node_add(slots, BC_NODE_OBJECT, NULL);
		bool on = l->slot[i].active == LUKS_ACTIVE;

		bc_node_add_bool(s, "active", on);
		if (on)
			bc_node_add_uint(s, "iters", l->slot[i].iters);
		bc_node_add_uint(s, "key-offset",
				 (uint64_t)l->slot[i].key_offset * BC_CRYPTO_SECTOR);
		if (on)
			bc_node_add_uint(s, "stripes", l->slot[i].stripes);
	}
	bc_node_add_uint(data, "payload-offset", bc_luks_payload_offset(l));
	bc_node_add_uint(data, "master-key-iters", l->mk_iters);
}

/* ---- amend: keyslots ---- */

static int active_slots(const struct bc_luks *l)
{
	int n = 0;

	for (int i = 0; i < BC_LUKS_SLOTS; i++)
		n += l->slot[i].active == LUKS_ACTIVE;
	return n;
}

/* Overwrites slot i's material with random bytes and marks it inactive. */
static int slot_erase(struct bc_luks *l, const struct bc_luks_io *io, int i, struct bc_err *err)
{
	size_t mlen = material_len(l);
	uint8_t *m = malloc(mlen);
	int ret = m ? bc_random(m, mlen) : -ENOMEM;

	if (ret == 0)
		ret = io->write(io->opaque, (uint64_t)l->slot[i].key_offset * BC_CRYPTO_SECTOR, m,
				mlen);
	free(m);
	if (ret < 0)
		return bc_err_set(err, ret, "Unable to erase keyslot %d", i);
	l->slot[i].active = LUKS_INACTIVE;
	l->slot[i].iters = 0;
	memset(l->slot[i].salt, 0, LUKS_SALT);
	return 0;
}

static int amend_activate(struct bc_luks *l, const struct bc_luks_io *io,
			  const struct bc_luks_amend *a, struct bc_err *err)
{
	int slot = a->slot, ret;

	if (!a->new_pass)
		return bc_err_set(err, -EINVAL, "'new-secret' is required to activate a keyslot");
	if (slot >= 0 && l->slot[slot].active == LUKS_ACTIVE)
		return bc_err_set(err, -EINVAL, "Refusing to overwrite active keyslot %d - please "
				  "erase it first", slot);
	for (int i = 0; slot < 0 && i < BC_LUKS_SLOTS; i++)
		if (l->slot[i].active != LUKS_ACTIVE)
			slot = i;
	if (slot < 0)
		return bc_err_set(err, -ENOSPC, "Can't add a keyslot - all keyslots are in use");
	if (a->old_pass) {
		uint8_t *mk = malloc(l->key_bytes);
		int found = 0;

		for (int i = 0; mk && found == 0 && i < BC_LUKS_SLOTS; i++)
			if (l->slot[i].active == LUKS_ACTIVE)
				found = slot_try(l, io, i, a->old_pass, a->old_len, mk, err);
		if (mk)
			OPENSSL_cleanse(mk, l->key_bytes);
		free(mk);
		if (found < 0)
			return found;
		if (!found)
			return bc_err_set(err, -EPERM, "Invalid password, cannot unlock any keyslot");
	}
	if (!l->mk)
		return bc_err_set(err, -EACCES, "Parameter 'key-secret' is required for cipher");
	ret = slot_store(l, io, slot, a->new_pass, a->new_len, a->iter_time, err);
	return ret < 0 ? ret : header_write(l, io, err);
}

static int amend_erase(struct bc_luks *l, const struct bc_luks_io *io,
		       const struct bc_luks_amend *a, struct bc_err *err)
{
	bool match[BC_LUKS_SLOTS] = { false };
	int n = 0, ret;

	if (a->slot >= 0) {
		if (l->slot[a->slot].active != LUKS_ACTIVE)
			return bc_err_set(err, -EINVAL, "Given keyslot %d is already erased "
					  "(inactive) ", a->slot);
		if (active_slots(l) == 1 && !a->force)
			return bc_err_set(err, -EINVAL, "Attempt to erase the only active keyslot %d "
					  "which will erase all the data in the image "
					  "irreversibly - refusing operation", a->slot);
		match[a->slot] = true;
	} else if (a->old_pass) {
		uint8_t *mk = malloc(l->key_bytes);

		if (!mk)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		for (int i = 0; i < BC_LUKS_SLOTS; i++) {
			if (l->slot[i].active != LUKS_ACTIVE)
				continue;
			ret = slot_try(l, io, i, a->old_pass, a->old_len, mk, err);
			if (ret < 0) {
				OPENSSL_cleanse(mk, l->key_bytes);
				free(mk);
				return ret;
			}
			match[i] = ret == 1;
			n += ret == 1;
		}
		OPENSSL_cleanse(mk, l->key_bytes);
		free(mk);
		if (n == 0)
			return bc_err_set(err, -ENOENT, "No keyslots match given (old) password for "
					  "erase operation");
		if (n == active_slots(l) && !a->force)
			return bc_err_set(err, -EINVAL, "All the active keyslots match the (old) "
					  "password that was given and erasing them will erase "
					  "all the data in the image irreversibly - refusing "
					  "operation");
	} else {
		return bc_err_set(err, -EINVAL, "To erase keyslot(s), either explicit keyslot "
				  "index or the password currently contained in them must be "
				  "given");
	}
	for (int i = 0; i < BC_LUKS_SLOTS; i++)
		if (match[i] && (ret = slot_erase(l, io, i, err)) < 0)
			return ret;
	return header_write(l, io, err);
}

int bc_luks_amend_slots(struct bc_luks *l, const struct bc_luks_io *io,
			const struct bc_luks_amend *a, struct bc_err *err)
{
	if (!a->state)
		return bc_err_set(err, -EINVAL, "Parameter 'state' is missing");
	if (a->slot >= BC_LUKS_SLOTS || a->slot < -1)
		return bc_err_set(err, -EINVAL, "Invalid keyslot %d specified, must be between 0 "
				  "and %d", a->slot, BC_LUKS_SLOTS - 1);
	if (!strcmp(a->state, "active"))
		return amend_activate(l, io, a, err);
	if (!strcmp(a->state, "inactive"))
		return amend_erase(l, io, a, err);
	return bc_err_set(err, -EINVAL, "Parameter 'state' does not accept value '%s'", a->state);
}
