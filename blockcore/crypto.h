/*
 * crypto.h — disk encryption on libcrypto: the LUKS1 engine shared by the luks format and
 * qcow2's encrypt.format=luks, and the pieces it is built of (sector ciphers with IV
 * generators, the anti-forensic splitter, PBKDF2 with an iteration benchmark).
 * Sectors are 512 bytes. Key material is wiped (OPENSSL_cleanse) before memory is freed.
 */
#ifndef STRATA_CRYPTO_H
#define STRATA_CRYPTO_H

#include "bc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BC_CRYPTO_SECTOR 512u

/* ---- crypto-cipher.c / crypto-ivgen.c: a keyed sector cipher ---- */
/* alg: "aes-128" "aes-192" "aes-256"; mode: "xts" "cbc" "ctr" "ecb";
 * ivgen: "plain" "plain64" "essiv" (ivhash: the essiv hash, e.g. "sha256"). */
struct bc_sector_cipher;
/* Key bytes the algorithm and mode take (xts: twice the cipher's), 0 when unknown. */
size_t bc_cipher_key_bytes(const char *alg, const char *mode);
int bc_sector_cipher_new(struct bc_sector_cipher **out, const char *alg, const char *mode,
			 const char *ivgen, const char *ivhash, const uint8_t *key, size_t keylen,
			 struct bc_err *err);
/* Encrypts (enc) or decrypts len bytes (a multiple of 512) in place; the first is sector. */
int bc_sector_cipher_run(struct bc_sector_cipher *c, bool enc, uint64_t sector, uint8_t *buf,
			 size_t len);
void bc_sector_cipher_free(struct bc_sector_cipher *c);
/* An independent copy (same key, own contexts) for another thread: a cipher is not
 * thread-safe, copies are. -ENOMEM on failure. */
int bc_sector_cipher_dup(const struct bc_sector_cipher *c, struct bc_sector_cipher **out);

/* crypto-workers.c: c run over buf (as bc_sector_cipher_run), split among img's codec workers
 * when the request is large enough; *pool (start NULL) keeps the workers' cipher copies. */
struct bc_crypt_pool;
struct bc_image;
int bc_crypt_pool_run(struct bc_crypt_pool **pool, struct bc_image *img,
		      struct bc_sector_cipher *c, bool enc, uint64_t sector, uint8_t *buf,
		      size_t len);
void bc_crypt_pool_free(struct bc_crypt_pool *p);

/* IV generator (crypto-ivgen.c): fills iv (ivlen bytes) for sector. */
struct bc_ivgen;
int bc_ivgen_new(struct bc_ivgen **out, const char *ivgen, const char *ivhash, const char *alg,
		 const uint8_t *key, size_t keylen, struct bc_err *err);
int bc_ivgen_make(struct bc_ivgen *g, uint64_t sector, uint8_t *iv, size_t ivlen);
int bc_ivgen_dup(const struct bc_ivgen *g, struct bc_ivgen **out);
void bc_ivgen_free(struct bc_ivgen *g);

/* ---- crypto-pbkdf.c ---- */
bool bc_hash_known(const char *hash);
size_t bc_hash_len(const char *hash);
int bc_hash(const char *hash, const uint8_t *in, size_t len, uint8_t *out);
int bc_pbkdf2(const char *hash, const uint8_t *pass, size_t plen, const uint8_t *salt,
	      size_t slen, uint32_t iters, uint8_t *out, size_t outlen);
/* Iterations that take iter_ms of CPU time, measured on this thread's CPU clock, doubling
 * the trial until it is long enough to be exact: it cannot fail the way a coarse clock does. */
uint64_t bc_pbkdf2_iters_for(const char *hash, size_t outlen, uint64_t iter_ms);
int bc_random(uint8_t *buf, size_t len);

/* ---- crypto-afsplit.c: LUKS1 anti-forensic splitter ---- */
int bc_af_split(const char *hash, const uint8_t *key, size_t keylen, uint32_t stripes,
		uint8_t *out);
int bc_af_merge(const char *hash, const uint8_t *in, size_t keylen, uint32_t stripes,
		uint8_t *key);

/* ---- crypto-luks.c: LUKS1 volumes ---- */
#define BC_LUKS_HDR_LEN 592
#define BC_LUKS_SLOTS 8
#define BC_LUKS_STRIPES 4000

/* Where the header lives: offsets are relative to the start of the LUKS header. */
struct bc_luks_io {
	int (*read)(void *opaque, uint64_t off, void *buf, size_t len);
	int (*write)(void *opaque, uint64_t off, const void *buf, size_t len);
	void *opaque;
};

struct bc_luks_params {
	const char *cipher_alg, *cipher_mode, *ivgen_alg, *ivgen_hash_alg, *hash_alg;
	uint64_t iter_time;          /* ms */
};
/* Fills p from create options named prefix+"cipher-alg" etc. (qemu's defaults for the rest). */
int bc_luks_params_get(struct bc_luks_params *p, const struct bc_opts *o, const char *prefix,
		       struct bc_err *err);

struct bc_luks;
/* The header length a volume with these parameters needs (the payload offset), in bytes. */
int bc_luks_header_len(const struct bc_luks_params *p, uint64_t *len, struct bc_err *err);
/* Makes a new volume: a random master key in keyslot 0 under pass, header written via io. */
int bc_luks_create(struct bc_luks **out, const struct bc_luks_io *io,
		   const struct bc_luks_params *p, const uint8_t *pass, size_t plen,
		   struct bc_err *err);
/* Reads and validates the header; with pass, unlocks a keyslot (else: no data access).
 * Wrong pass: -EPERM "Invalid password, cannot unlock any keyslot". */
int bc_luks_open(struct bc_luks **out, const struct bc_luks_io *io, const uint8_t *pass,
		 size_t plen, struct bc_err *err);
void bc_luks_free(struct bc_luks *l);
uint64_t bc_luks_payload_offset(const struct bc_luks *l);   /* bytes */
bool bc_luks_unlocked(const struct bc_luks *l);
/* In place, len a multiple of 512; sector numbers the data as the format does. */
int bc_luks_encrypt(struct bc_luks *l, uint64_t sector, uint8_t *buf, size_t len);
int bc_luks_decrypt(struct bc_luks *l, uint64_t sector, uint8_t *buf, size_t len);
/* The unlocked volume's data cipher (NULL when locked), e.g. to copy it for workers. */
struct bc_sector_cipher *bc_luks_cipher(struct bc_luks *l);
/* qemu-img info's luks object (ivgen-alg, hash-alg, ..., slots, payload-offset). */
void bc_luks_info(const struct bc_luks *l, struct bc_node *data, bool with_format);

/* amend: state "active" adds new_pass (slot -1: the first free one); "inactive" erases the
 * slots old_pass opens or slot. The volume must be unlocked for "active". */
struct bc_luks_amend {
	const char *state;
	const uint8_t *new_pass, *old_pass;
	size_t new_len, old_len;
	int slot;                    /* -1: not given */
	uint64_t iter_time;
	bool force;
};
int bc_luks_amend_slots(struct bc_luks *l, const struct bc_luks_io *io,
			const struct bc_luks_amend *a, struct bc_err *err);

/* The header parser alone (fuzzing): validates buf of BC_LUKS_HDR_LEN bytes. */
int bc_luks_header_check(const uint8_t *buf, size_t len, struct bc_err *err);

#endif
