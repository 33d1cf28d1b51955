/*
 * luks: the standalone LUKS1 format. The file holds the LUKS header and keyslots (written
 * by blockcore/crypto-luks.c) and then the payload, each 512-byte sector encrypted with the
 * master key, sector numbers counted from the payload's start.
 *
 * Crash safety:
 *  1. Data writes are encrypted in a bounce buffer and written in place: a torn write tears
 *     guest sectors only, as on raw.
 *  2. The header is rewritten only by amend, after the keyslot material it points to is
 *     written; a keyslot being erased is marked inactive in the same header write.
 */
#include "luks.h"
#include "secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

static int luks_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	return len >= 8 && !memcmp(buf, magic, 6) && bc_rd_be16(buf + 6) == 1 ? 100 : 0;
}

static void luks_close(struct bc_image *img)
{
	struct luks_state *s = img->priv;

	if (!s)
		return;
	bc_crypt_pool_free(s->cpool);
	bc_luks_free(s->luks);
	free(s->bounce);
	free(s);
	img->priv = NULL;
}

static int luks_open(struct bc_image *img, struct bc_err *err)
{
	const struct bc_opts *dopts = img->open_opts ? img->open_opts->driver_opts : NULL;
	struct luks_state *s = calloc(1, sizeof(*s));
	struct bc_luks_io io;
	uint8_t *pass = NULL;
	size_t plen = 0;
	int64_t flen = bc_file_length(img->file);
	int ret = s ? 0 : bc_err_set(err, -ENOMEM, "Out of memory");

	img->priv = s;
	if (ret == 0 && !(dopts && bc_opts_get(dopts, "key-secret")) &&
	    !(img->flags & BC_OPEN_NO_IO))
		ret = bc_err_set(err, -EINVAL, "Parameter 'key-secret' is required for cipher");
	if (ret == 0)
		ret = luks_get_secret(dopts, img->open_opts, "key-secret", &pass, &plen, err);
	luks_file_io(&io, img->file);
	if (ret == 0)
		ret = bc_luks_open(&s->luks, &io, pass, pass ? plen : 0, err);
	bc_secret_free(pass, plen);
	if (ret == 0 && !(s->bounce = malloc(LUKS_BOUNCE)))
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
	if (ret == 0 && flen < 0)
		ret = bc_err_set(err, (int)flen, "Could not get the file size");
	if (ret < 0) {
		luks_close(img);
		return ret;
	}
	s->payload = bc_luks_payload_offset(s->luks);
	/* qemu: the payload's size in whole sectors; a partial last one reads as zeros */
	img->size = (uint64_t)flen > s->payload
			    ? ((uint64_t)flen - s->payload + BC_CRYPTO_SECTOR - 1) &
				      ~(uint64_t)(BC_CRYPTO_SECTOR - 1)
			    : 0;
	img->align = BC_CRYPTO_SECTOR;
	return 0;
}

/* Data sectors numbered from the payload's start, split among the codec workers when large. */
static int transform(struct bc_image *img, bool enc, uint64_t off, uint8_t *buf, size_t len)
{
	struct luks_state *s = img->priv;
	struct bc_sector_cipher *c = bc_luks_cipher(s->luks);

	if (!c)
		return -EACCES;
	return bc_crypt_pool_run(&s->cpool, img, c, enc, off / BC_CRYPTO_SECTOR, buf, len);
}

static int luks_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	struct luks_state *s = img->priv;
	int ret = bc_file_pread(img->file, buf, len, s->payload + off);

	if (ret == 0)
		ret = transform(img, false, off, buf, len);
	return ret;
}

static int luks_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct luks_state *s = img->priv;
	const uint8_t *p = buf;

	while (len) {
		size_t n = len < LUKS_BOUNCE ? len : LUKS_BOUNCE;
		int ret;

		memcpy(s->bounce, p, n);
		ret = transform(img, true, off, s->bounce, n);
		if (ret == 0)
			ret = bc_file_pwrite(img->file, s->bounce, n, s->payload + off);
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* qemu reports the whole payload as data, with no host offset (it is ciphertext). */
static int luks_block_status(struct bc_image *img, uint64_t off, uint64_t len,
			     struct bc_extent *ext)
{
	(void)img;
	(void)off;
	ext->len = len;
	ext->flags = BC_EXT_ALLOCATED | BC_EXT_DATA;
	return 0;
}

static int luks_truncate(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc,
			 bool shrink, struct bc_err *err)
{
	struct luks_state *s = img->priv;
	int ret;

	(void)shrink;
	if (prealloc != BC_PREALLOC_OFF)
		return bc_err_set(err, -ENOTSUP, "Unsupported preallocation mode '%s'",
				  prealloc == BC_PREALLOC_METADATA ? "metadata"
				  : prealloc == BC_PREALLOC_FALLOC ? "falloc" : "full");
	ret = bc_file_truncate(img->file, s->payload + size);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not resize file: %s", strerror(-ret));
	img->size = (size + BC_CRYPTO_SECTOR - 1) & ~(uint64_t)(BC_CRYPTO_SECTOR - 1);
	return 0;
}

static int luks_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err)
{
	struct luks_state *s = img->priv;
	struct bc_node *n = bc_node_new(BC_NODE_OBJECT, "luks");

	(void)err;
	if (!n)
		return -ENOMEM;
	info->encrypted = true;
	info->no_zero_init = true;
	bc_luks_info(s->luks, n, false);
	info->specific = n;
	return 0;
}

const struct bc_format bc_format_luks = {
	.name = "luks",
	.probe = luks_probe,
	.create_opts = luks_create_opts,
	.create = luks_create,
	.measure = luks_measure,
	.open = luks_open,
	.close = luks_close,
	.read = luks_read,
	.write = luks_write,
	.block_status = luks_block_status,
	.truncate = luks_truncate,
	.get_info = luks_get_info,
	.amend_opts = luks_amend_opts,
	.amend = luks_amend,
};
