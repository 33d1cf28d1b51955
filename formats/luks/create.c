/* luks create, measure and amend: options as qemu-img 7.2's luks driver. */
#include "luks.h"
#include "secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* In the order qemu-img's "Formatting" line shows them. */
const struct bc_opt_desc luks_create_opts[] = {
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ "key-secret", BC_OPT_STRING, "ID of the secret that provides the keyslot passphrase", NULL },
	{ "cipher-alg", BC_OPT_STRING, "Name of encryption cipher algorithm", NULL },
	{ "cipher-mode", BC_OPT_STRING, "Name of encryption cipher mode", NULL },
	{ "ivgen-alg", BC_OPT_STRING, "Name of IV generator algorithm", NULL },
	{ "ivgen-hash-alg", BC_OPT_STRING, "Name of IV generator hash algorithm", NULL },
	{ "hash-alg", BC_OPT_STRING, "Name of encryption hash algorithm", NULL },
	{ "iter-time", BC_OPT_NUMBER, "Time to spend in PBKDF in milliseconds", NULL },
	{ "preallocation", BC_OPT_STRING, NULL, NULL },
	{ NULL, BC_OPT_STRING, NULL, NULL },
};

const struct bc_opt_desc luks_amend_opts[] = {
	{ "state", BC_OPT_STRING, "Select new state of affected keyslots (active/inactive)", NULL },
	{ "keyslot", BC_OPT_NUMBER, "Select a single keyslot to modify explicitly", NULL },
	{ "old-secret", BC_OPT_STRING, "Select all keyslots that match this password", NULL },
	{ "new-secret", BC_OPT_STRING, "New secret to set in the matching keyslots. Empty string "
	  "to erase", NULL },
	{ "iter-time", BC_OPT_NUMBER, "Time to spend in PBKDF in milliseconds", NULL },
	{ NULL, BC_OPT_STRING, NULL, NULL },
};

static int file_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	return bc_file_pread(opaque, buf, len, off);
}

static int file_write(void *opaque, uint64_t off, const void *buf, size_t len)
{
	return bc_file_pwrite(opaque, buf, len, off);
}

void luks_file_io(struct bc_luks_io *io, struct bc_file *f)
{
	io->read = file_read;
	io->write = file_write;
	io->opaque = f;
}

int luks_get_secret(const struct bc_opts *opts, const struct bc_open_opts *oo, const char *key,
		    uint8_t **data, size_t *len, struct bc_err *err)
{
	const char *id = opts ? bc_opts_get(opts, key) : NULL;

	*data = NULL;
	*len = 0;
	if (!id)
		return 0;
	return bc_secret_get(oo, id, data, len, err);
}

int luks_create(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	struct bc_luks_params p;
	struct bc_luks_io io;
	struct bc_luks *l = NULL;
	struct bc_file *f;
	uint8_t *pass;
	size_t plen;
	uint64_t size = 0;
	int ret;

	ret = bc_opts_get_size(opts, "size", 0, &size, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = bc_luks_params_get(&p, opts, "", err);
	if (ret < 0)
		return ret;
	if (!bc_opts_get(opts, "key-secret"))
		return bc_err_set(err, -EINVAL, "Parameter 'key-secret' is required for cipher");
	ret = luks_get_secret(opts, NULL, "key-secret", &pass, &plen, err);
	if (ret < 0)
		return ret;
	ret = bc_create_file(&f, filename, err);
	if (ret < 0) {
		bc_secret_free(pass, plen);
		return ret;
	}
	luks_file_io(&io, f);
	ret = bc_luks_create(&l, &io, &p, pass, plen, err);
	bc_secret_free(pass, plen);
	if (ret == 0 && (ret = bc_file_truncate(f, bc_luks_payload_offset(l) + size)) < 0)
		bc_err_set(err, ret, "Could not resize file: %s", strerror(-ret));
	if (ret == 0 && (ret = bc_file_flush(f)) < 0)
		bc_err_set(err, ret, "Could not flush '%s': %s", filename, strerror(-ret));
	bc_luks_free(l);
	bc_file_close(f);
	if (ret < 0)
		unlink(filename);   /* qemu removes what a failed luks create left */
	return ret;
}

int luks_measure(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		 struct bc_measure *out, struct bc_err *err)
{
	struct bc_luks_params p;
	uint64_t hdr;
	int ret = bc_luks_params_get(&p, opts, "", err);

	if (ret == 0)
		ret = bc_luks_header_len(&p, &hdr, err);
	if (ret < 0)
		return ret;
	if (src)
		size = bc_length(src);
	out->required = out->fully_allocated = hdr + size;
	return 0;
}

int luks_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
	       struct bc_err *err)
{
	struct luks_state *s = img->priv;
	struct bc_luks_amend a = { .state = bc_opts_get(opts, "state"), .slot = -1 };
	uint8_t *np = NULL, *op = NULL;
	struct bc_luks_io io;
	uint64_t v;
	int ret;

	ret = bc_opts_get_u64(opts, "keyslot", 0, &v, err);
	if (ret == 0)
		a.slot = v > 8 ? 8 : (int)v;
	else if (ret != -ENOENT)
		return ret;
	ret = bc_opts_get_u64(opts, "iter-time", 2000, &a.iter_time, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = luks_get_secret(opts, NULL, "new-secret", &np, &a.new_len, err);
	if (ret == 0)
		ret = luks_get_secret(opts, NULL, "old-secret", &op, &a.old_len, err);
	a.new_pass = np;
	a.old_pass = op;
	if (ret == 0 && hooks && hooks->start)
		hooks->start(hooks->opaque);
	luks_file_io(&io, img->file);
	if (ret == 0)
		ret = bc_luks_amend_slots(s->luks, &io, &a, err);
	if (ret == 0)
		ret = bc_file_flush(img->file);
	if (ret == 0 && hooks && hooks->progress)
		hooks->progress(hooks->opaque, 1, 1);
	bc_secret_free(np, a.new_len);
	bc_secret_free(op, a.old_len);
	return ret;
}
