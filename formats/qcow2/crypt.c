/*
 * qcow2 encryption. LUKS (crypt_method 2): a LUKS1 header in clusters named by the crypto
 * header extension (offset, length), data sectors encrypted with the sector number of their
 * host offset, as qemu does. Legacy AES (crypt_method 1): AES-128-CBC, plain64 IVs from the
 * guest offset, the key the passphrase's first 16 bytes (zero padded).
 */
#include "qcow2.h"
#include "secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct crypt_io {
	struct bc_file *f;
	uint64_t base, len;
};

static int hdr_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	struct crypt_io *c = opaque;

	if (off + len > c->len)
		return -EINVAL;
	return bc_file_pread(c->f, buf, len, c->base + off);
}

static int hdr_write(void *opaque, uint64_t off, const void *buf, size_t len)
{
	struct crypt_io *c = opaque;

	if (off + len > c->len)
		return -EINVAL;
	return bc_file_pwrite(c->f, buf, len, c->base + off);
}

static void make_io(struct qcow2 *s, struct crypt_io *c, struct bc_luks_io *io)
{
	c->f = s->file;
	c->base = s->crypto_off;
	c->len = s->crypto_len;
	io->read = hdr_read;
	io->write = hdr_write;
	io->opaque = c;
}

/* The crypto header extension: be64 offset, be64 length. */
static int find_crypto_ext(struct qcow2 *s, struct bc_err *err)
{
	for (const struct qcow2_ext *e = s->h.unknown; e; e = e->next) {
		if (e->type != QCOW2_EXT_CRYPTO)
			continue;
		if (e->len != 16)
			return bc_err_set(err, -EINVAL, "Invalid encryption header extension length");
		s->crypto_off = bc_rd_be64(e->data);
		s->crypto_len = bc_rd_be64(e->data + 8);
		if (s->crypto_off % s->cluster_size || s->crypto_len > (1ull << 30))
			return bc_err_set(err, -EINVAL, "Invalid encryption header offset");
		return 0;
	}
	return bc_err_set(err, -EINVAL, "Missing encryption header extension");
}

static int get_pass(struct qcow2 *s, uint8_t **pass, size_t *plen, struct bc_err *err)
{
	const struct bc_open_opts *oo = s->img->open_opts;
	const char *id = oo && oo->driver_opts ? bc_opts_get(oo->driver_opts, "encrypt.key-secret")
					       : NULL;

	*pass = NULL;
	*plen = 0;
	if (!id && (s->img->flags & BC_OPEN_NO_IO))
		return 0;
	if (!id)
		return bc_err_set(err, -EINVAL, "Parameter 'encrypt.key-secret' is required for "
				  "cipher");
	return bc_secret_get(oo, id, pass, plen, err);
}

int qcow2_crypt_open(struct qcow2 *s, struct bc_err *err)
{
	struct crypt_io c;
	struct bc_luks_io io;
	uint8_t *pass, key[16] = { 0 };
	size_t plen;
	int ret;

	if (s->h.crypt_method > 2)
		return bc_err_set(err, -EINVAL, "Unsupported encryption method %u",
				  s->h.crypt_method);
	if (s->h.crypt_method == 2 && (ret = find_crypto_ext(s, err)) < 0)
		return ret;
	ret = get_pass(s, &pass, &plen, err);
	if (ret < 0)
		return ret;
	if (s->h.crypt_method == 2) {
		make_io(s, &c, &io);
		ret = bc_luks_open(&s->luks, &io, pass, plen, err);
	} else if (pass) {
		memcpy(key, pass, plen < 16 ? plen : 16);
		ret = bc_sector_cipher_new(&s->aes, "aes-128", "cbc", "plain64", NULL, key, 16, err);
		OPENSSL_cleanse(key, sizeof(key));
	}
	bc_secret_free(pass, plen);
	if (ret == 0 && !(s->cbounce = malloc(s->cluster_size)))
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
	if (ret < 0)
		return ret;
	if (s->img->align < BC_CRYPTO_SECTOR)
		s->img->align = BC_CRYPTO_SECTOR;
	return 0;
}

void qcow2_crypt_close(struct qcow2 *s)
{
	bc_crypt_pool_free(s->cpool);
	s->cpool = NULL;
	bc_luks_free(s->luks);
	bc_sector_cipher_free(s->aes);
	free(s->cbounce);
	s->luks = NULL;
	s->aes = NULL;
	s->cbounce = NULL;
}

int qcow2_crypt_check_secret(struct bc_opts *opts, struct bc_err *err)
{
	const char *id = bc_opts_get(opts, "encrypt.key-secret");
	uint8_t *pass = NULL;
	size_t plen = 0;
	int ret;

	if (!id)
		return bc_err_set(err, -EINVAL, "Parameter 'encrypt.key-secret' is required for "
				  "cipher");
	ret = bc_secret_get(NULL, id, &pass, &plen, err);
	bc_secret_free(pass, plen);
	return ret;
}

/* Legacy AES: only the header's method changes; data is encrypted as it is written. */
static int aes_create(struct qcow2 *s, struct bc_err *err)
{
	int ret;

	s->h.crypt_method = 1;
	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = qcow2_write_header(s);
	return ret < 0 ? bc_err_set(err, ret, "Could not write the qcow2 header") : 0;
}

/* create: the LUKS header in newly allocated clusters, then the extension and method. */
int qcow2_crypt_create(struct qcow2 *s, struct bc_opts *opts, bool luks, struct bc_err *err)
{
	struct bc_luks_params p;
	struct bc_luks_io io;
	struct crypt_io c;
	struct qcow2_ext *e;
	uint8_t *pass = NULL;
	size_t plen = 0;
	uint64_t len, off;
	const char *id = bc_opts_get(opts, "encrypt.key-secret");
	int ret;

	if (!luks)
		return aes_create(s, err);
	ret = bc_luks_params_get(&p, opts, "encrypt.", err);

	if (ret == 0)
		ret = bc_luks_header_len(&p, &len, err);
	if (ret == 0 && !id)
		ret = bc_err_set(err, -EINVAL, "Parameter 'encrypt.key-secret' is required for "
				 "cipher");
	if (ret == 0)
		ret = bc_secret_get(NULL, id, &pass, &plen, err);
	if (ret == 0 && (ret = qcow2_alloc_clusters(s, qcow2_align_up(len, s->cluster_size) /
						    s->cluster_size, &off)) < 0)
		bc_err_set(err, ret, "Could not allocate the encryption header");
	if (ret == 0) {
		s->crypto_off = off;
		s->crypto_len = len;
		make_io(s, &c, &io);
		ret = bc_luks_create(&s->luks, &io, &p, pass, plen, err);
	}
	/* the file covers every cluster of the header, written or not (qemu's layout) */
	uint64_t end = off + qcow2_align_up(len, s->cluster_size);
	int64_t flen = ret == 0 ? bc_file_length(s->file) : 0;
	if (ret == 0 && flen >= 0 && (uint64_t)flen < end && (ret = bc_file_truncate(s->file, end)) < 0)
		bc_err_set(err, ret, "Could not resize the image file");
	bc_secret_free(pass, plen);
	if (ret < 0)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->data = malloc(16))) {
		free(e);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	e->type = QCOW2_EXT_CRYPTO;
	e->len = 16;
	bc_wr_be64(e->data, off);
	bc_wr_be64(e->data + 8, len);
	e->next = s->h.unknown;
	s->h.unknown = e;
	s->h.has_crypto_ext = true;
	s->h.crypt_method = 2;
	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = qcow2_write_header(s);
	return ret < 0 ? bc_err_set(err, ret, "Could not write the qcow2 header") : 0;
}

int qcow2_crypt_amend(struct qcow2 *s, struct bc_opts *opts, struct bc_err *err)
{
	struct bc_luks_amend a = { .state = bc_opts_get(opts, "encrypt.state"), .slot = -1 };
	const char *nid = bc_opts_get(opts, "encrypt.new-secret");
	const char *oid = bc_opts_get(opts, "encrypt.old-secret");
	uint8_t *np = NULL, *op = NULL;
	struct bc_luks_io io;
	struct crypt_io c;
	uint64_t v;
	int ret = 0;

	if (!s->luks)
		return bc_err_set(err, -EACCES, "Parameter 'encrypt.key-secret' is required for "
				  "cipher");
	if (bc_opts_get_u64(opts, "encrypt.keyslot", 0, &v, err) == 0)
		a.slot = v > 8 ? 8 : (int)v;
	if ((ret = bc_opts_get_u64(opts, "encrypt.iter-time", 2000, &a.iter_time, err)) == -ENOENT)
		ret = 0;
	if (ret == 0 && nid)
		ret = bc_secret_get(NULL, nid, &np, &a.new_len, err);
	if (ret == 0 && oid)
		ret = bc_secret_get(NULL, oid, &op, &a.old_len, err);
	a.new_pass = np;
	a.old_pass = op;
	make_io(s, &c, &io);
	if (ret == 0)
		ret = bc_luks_amend_slots(s->luks, &io, &a, err);
	if (ret == 0 && (ret = bc_file_flush(s->file)) < 0)
		bc_err_set(err, ret, "Could not flush the image");
	bc_secret_free(np, a.new_len);
	bc_secret_free(op, a.old_len);
	return ret;
}

void qcow2_crypt_info(struct qcow2 *s, struct bc_node *parent)
{
	struct bc_node *n;

	if (s->h.crypt_method == 1) {
		n = bc_node_add(parent, BC_NODE_OBJECT, "encrypt");
		bc_node_add_str(n, "format", "aes");
	} else if (s->h.crypt_method == 2 && s->luks) {
		n = bc_node_add(parent, BC_NODE_OBJECT, "encrypt");
		bc_luks_info(s->luks, n, true);
	}
}

/* For check: the clusters the LUKS header occupies (len 0: none). */
void qcow2_crypt_range(const struct qcow2 *s, uint64_t *off, uint64_t *len)
{
	*off = s->crypto_off;
	*len = s->h.crypt_method == 2 ? s->crypto_len : 0;
}
