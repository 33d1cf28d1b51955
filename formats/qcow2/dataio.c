/*
 * Guest data at host offsets in the data file, decrypted after reading and encrypted before
 * writing when the image is encrypted (the ciphers are set up by crypt.c, above). Used by
 * the mapping layer and copy-on-write; calls nothing of the driver.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

static int run(struct qcow2 *s, bool enc, uint64_t host, uint64_t guest, uint8_t *buf,
	       size_t len)
{
	struct bc_sector_cipher *c = s->luks ? bc_luks_cipher(s->luks) : s->aes;
	uint64_t sector = (s->luks ? host : guest) / BC_CRYPTO_SECTOR;

	if (!c)
		return -EACCES;   /* opened without its secret (info) */
	return bc_crypt_pool_run(&s->cpool, s->img, c, enc, sector, buf, len);
}

int qcow2_data_pread(struct qcow2 *s, void *buf, size_t len, uint64_t host, uint64_t guest)
{
	bc_file_event(s->file, BC_EV_READ_AIO);
	int ret = bc_file_pread(s->data_file, buf, len, host);

	if (ret == 0 && s->h.crypt_method)
		ret = run(s, false, host, guest, buf, len);
	return ret;
}

int qcow2_data_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t host,
		      uint64_t guest)
{
	const uint8_t *p = buf;

	bc_file_event(s->file, BC_EV_WRITE_AIO);
	if (!s->h.crypt_method)
		return bc_file_pwrite(s->data_file, buf, len, host);
	while (len) {
		size_t n = len < s->cluster_size ? len : s->cluster_size;
		int ret;

		memcpy(s->cbounce, p, n);
		ret = run(s, true, host, guest, s->cbounce, n);
		if (ret == 0)
			ret = bc_file_pwrite(s->data_file, s->cbounce, n, host);
		if (ret < 0)
			return ret;
		p += n;
		host += n;
		guest += n;
		len -= n;
	}
	return 0;
}
