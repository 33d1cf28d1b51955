/* Opening images: probing the format, running the driver's open, resolving the backing chain. */
#include "bc_driver.h"
#include "blkdebug.h"
#include "nbd-client.h"
#include "lock.h"
#include "open-dict.h"
#include "rbd-client.h"
#include "workers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Deep enough for any real chain, shallow enough that a broken one cannot exhaust fds. */
#define BC_MAX_CHAIN 256
#define BC_PROBE_BYTES 2048

const char *bc_format_get_name(const struct bc_format *fmt) { return fmt->name; }
const struct bc_opt_desc *bc_format_create_opts(const struct bc_format *fmt) { return fmt->create_opts; }
bool bc_format_can_compress(const struct bc_format *fmt) { return fmt->write_compressed != NULL; }

const struct bc_format *bc_format_find(const char *name)
{
	const struct bc_format *f;

	for (int i = 0; (f = bc_format_at(i)); i++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* Highest score wins; raw, the last resort, only probes when nothing else does. */
static const struct bc_format *probe_buffer(const uint8_t *buf, size_t len, const char *filename)
{
	const struct bc_format *best = NULL, *f;
	int best_score = 0;

	for (int i = 0; (f = bc_format_at(i)); i++) {
		if (!f->probe)
			continue;
		int score = f->probe(buf, len, filename);
		if (score > best_score) {
			best_score = score;
			best = f;
		}
	}
	return best ? best : &bc_format_raw;
}

static int probe_file(struct bc_file *file, const char *filename, const struct bc_format **out,
		      struct bc_err *err)
{
	uint8_t buf[BC_PROBE_BYTES] = { 0 };    /* null-co leaves it as it is */
	int64_t flen = bc_file_length(file);
	size_t len = flen < 0 ? 0 : (size_t)(flen < BC_PROBE_BYTES ? flen : BC_PROBE_BYTES);
	int ret = len ? bc_file_pread(file, buf, len, 0) : 0;

	if (ret < 0)
		return bc_err_set(err, ret, "Could not read image for determining its format: %s",
				  strerror(-ret));
	*out = probe_buffer(buf, len, filename);
	return 0;
}

/* Would these first bytes make a probed-raw image look like another format? */
bool bc_raw_probe_would_change(const uint8_t *buf, size_t len)
{
	return probe_buffer(buf, len, NULL) != &bc_format_raw;
}

char *bc_resolve_relative(const char *overlay, const char *name)
{
	const char *slash = strrchr(overlay, '/');

	if (name[0] == '/' || !slash || !strncmp(name, "json:", 5) || bc_nbd_is_name(name) ||
	    bc_rbd_is_name(name))
		return strdup(name);
	size_t dirlen = (size_t)(slash - overlay) + 1;
	char *p = malloc(dirlen + strlen(name) + 1);
	if (p) {
		memcpy(p, overlay, dirlen);
		strcpy(p + dirlen, name);
	}
	return p;
}

static void image_free(struct bc_image *img)
{
	if (!img)
		return;
	if (img->priv && img->fmt->close)
		img->fmt->close(img);
	bc_workers_free(img->workers);
	bc_file_close(img->file);
	free(img->filename);
	free(img->display_name);
	free(img->file_display);
	free(img->backing_name);
	free(img->backing_fmt);
	free(img->backing_path);
	free(img);
}

struct chain_seen {
	dev_t dev[BC_MAX_CHAIN];
	ino_t ino[BC_MAX_CHAIN];
	int n;
};

static int open_layer(struct bc_image **out, const char *filename, struct bc_file *file,
		      const struct bc_open_opts *o, unsigned flags, struct bc_layer_req *req,
		      struct chain_seen *seen, struct bc_err *err);

/* A layer named by qemu's block options: a json: name, --image-opts, or backing.* keys. */
static int open_dict_layer(struct bc_image **out, const struct bc_opts *dict,
			   const struct bc_open_opts *o, unsigned flags, const char *dflt_path,
			   const char *dflt_fmt, struct chain_seen *seen, struct bc_err *err)
{
	struct bc_open_opts base = *o;
	struct bc_layer_req req;
	int ret;

	base.flags = flags;
	ret = bc_dict_to_request(dict, &base, dflt_path, dflt_fmt, &req, err);
	if (ret < 0)
		return ret;
	ret = open_layer(out, req.path, NULL, &req.o, req.o.flags, &req, seen, err);
	bc_layer_req_free(&req);
	return ret;
}

/* Any name: a host file, a json: pseudo-name, or (BC_OPEN_IMAGE_OPTS) an option string. */
static int open_named(struct bc_image **out, const char *name, const struct bc_open_opts *o,
		      unsigned flags, struct chain_seen *seen, struct bc_err *err)
{
	struct bc_opts *dict;
	int ret;

	if (!(flags & BC_OPEN_IMAGE_OPTS) && strncmp(name, "json:", 5))
		return open_layer(out, name, NULL, o, flags, NULL, seen, err);
	dict = bc_opts_new();
	if (!dict)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = bc_dict_parse(name, flags & BC_OPEN_IMAGE_OPTS, dict, err);
	if (ret == 0)
		ret = bc_nbd_dict_rewrite(&dict, err);
	if (ret == 0)
		ret = bc_rbd_dict_rewrite(&dict, err);
	if (ret == 0)
		ret = open_dict_layer(out, dict, o, flags & ~BC_OPEN_IMAGE_OPTS, NULL, NULL, seen,
				      err);
	bc_opts_free(dict);
	return ret;
}

static int open_backing(struct bc_image *img, const struct bc_open_opts *o,
			const struct bc_opts *bdict, struct chain_seen *seen, struct bc_err *err)
{
	struct bc_open_opts bo = *o;
	int ret;

	bool named = img->backing_name && img->backing_name[0];

	img->backing_path = named ? bc_resolve_relative(img->filename, img->backing_name) : NULL;
	if (named && !img->backing_path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (seen->n >= BC_MAX_CHAIN)
		return bc_err_set(err, -ELOOP, "Backing chain of '%s' is deeper than %d images",
				  img->filename, BC_MAX_CHAIN);
	bo.format = img->backing_fmt;
	bo.driver = NULL;
	bo.snapshot = NULL;
	bo.driver_opts = NULL;
	unsigned bflags = o->flags & ~BC_OPEN_RDWR;
	if (o->flags & BC_OPEN_BACKING_RDWR)
		bflags |= BC_OPEN_RDWR;
	if (bdict)
		ret = open_dict_layer(&img->backing, bdict, &bo, bflags, img->backing_path,
				      img->backing_fmt, seen, err);
	else
		ret = open_named(&img->backing, img->backing_path, &bo, bflags, seen, err);
	if (ret < 0 && ret != -ELOOP)
		bc_err_prefix(err, "Could not open backing file");
	return ret;
}

/* The permissions QEMU's block layer takes on a layer's file: a format with metadata never lets
 * others write or resize under it; raw shares everything unless the user wants its data to
 * itself (BC_OPEN_NO_SHARE_WRITE: a guest's disk, convert's source); -U shares all. */
static int lock_layer(struct bc_image *img, const struct bc_open_opts *o, unsigned flags,
		      struct bc_err *err)
{
	enum bc_locking mode = BC_LOCKING_AUTO;
	const char *text = o->driver_opts ? bc_opts_get(o->driver_opts, "file.locking") : NULL;
	bool rw = flags & BC_OPEN_RDWR, raw = img->fmt == &bc_format_raw;
	unsigned perm = BC_PERM_CONSISTENT_READ, shared;

	if (text && bc_locking_parse(text, &mode, err) < 0)
		return err ? err->code : -EINVAL;
	if (rw)
		perm |= raw ? BC_PERM_WRITE : BC_PERM_WRITE | BC_PERM_RESIZE;
	if (flags & BC_OPEN_SHARE)
		shared = BC_PERM_ALL;
	else if (!raw)
		shared = BC_PERM_CONSISTENT_READ | BC_PERM_WRITE_UNCHANGED;
	else
		shared = (flags & BC_OPEN_NO_SHARE_WRITE) ? BC_PERM_ALL & ~BC_PERM_WRITE : BC_PERM_ALL;
	if (raw && (flags & BC_OPEN_NO_SHARE_RESIZE) && !(flags & BC_OPEN_SHARE))
		shared &= ~BC_PERM_RESIZE;
	return bc_file_lock(img->file, img->filename, perm, shared, mode, err);
}

/* null-co://: QEMU's null protocol (size 1 GiB unless json:'s size says otherwise). */
static int open_null(struct bc_file **out, const char *name, const struct bc_open_opts *o,
		     struct bc_err *err)
{
	const char *rz = o->driver_opts ? bc_opts_get(o->driver_opts, "null-co.read-zeroes") : NULL;
	uint64_t size = 1ull << 30;
	int ret = 0;

	if (o->driver_opts)
		ret = bc_opts_get_size(o->driver_opts, "null-co.size", size, &size, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = bc_file_open_null(out, name, size, rz && (!strcmp(rz, "on") || !strcmp(rz, "true")));
	return ret < 0 ? bc_err_set(err, ret, "Out of memory") : 0;
}

static int open_layer(struct bc_image **out, const char *filename, struct bc_file *file,
		      const struct bc_open_opts *o, unsigned flags, struct bc_layer_req *req,
		      struct chain_seen *seen, struct bc_err *err)
{
	struct bc_image *img = NULL;
	char *bd_config = NULL, *bd_image = NULL;
	const char *name_given = filename;
	unsigned fflags = 0;
	struct stat st;
	int ret;

	/* blkdebug:CONFIG:IMAGE puts the fault-injection filter between format and file. */
	if (!file && !strncmp(filename, "blkdebug:", 9)) {
		ret = bc_blkdebug_split(filename, &bd_config, &bd_image, err);
		if (ret < 0)
			return ret;
		filename = bd_image;
	}
	img = calloc(1, sizeof(*img));
	/* qemu names the image by the whole blkdebug: name (info, messages) */
	if (img && bd_image && !(img->display_name = strdup(name_given)))
		filename = NULL;
	if (!img || !filename || !(img->filename = strdup(filename))) {
		if (img)
			free(img->display_name);
		free(img);
		free(bd_config);
		free(bd_image);
		bc_file_close(file);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	img->flags = flags;
	img->align = 1;
	img->nworkers = o->workers;
	img->open_opts = o;
	if (flags & BC_OPEN_RDWR)
		fflags |= BC_FILE_RDWR;
	if (flags & BC_OPEN_DIRECT)
		fflags |= BC_FILE_DIRECT;
	if (flags & BC_OPEN_UNSAFE)
		fflags |= BC_FILE_UNSAFE;
	img->file = file;
	if (!file && !strncmp(filename, "null-co://", 10))
		ret = open_null(&img->file, filename, o, err);
	else
		ret = file ? 0 : bc_file_open(&img->file, filename, fflags, o->io, err);
	if (ret == 0 && bd_image)
		ret = bc_blkdebug_wrap(&img->file, bd_config, err);
	free(bd_config);
	free(bd_image);
	filename = img->filename;
	if (ret < 0)
		goto fail;
	if (bc_nbd_is_name(filename) && strcmp(img->filename, img->file->path)) {
		free(img->filename);      /* NBD names are shown in qemu's canonical spelling */
		if (!(img->filename = strdup(img->file->path))) {
			ret = bc_err_set(err, -ENOMEM, "Out of memory");
			goto fail;
		}
	}
	if (img->file->fd >= 0 && fstat(img->file->fd, &st) == 0) {
		for (int i = 0; i < seen->n; i++) {
			if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
				ret = bc_err_set(err, -ELOOP, "Backing file '%s' creates an infinite loop.",
						 filename);
				goto fail;
			}
		}
		seen->dev[seen->n] = st.st_dev;
		seen->ino[seen->n] = st.st_ino;
		seen->n++;
	}
	if (o->driver) {
		img->fmt = o->driver;
	} else if (o->format) {
		img->fmt = bc_format_find(o->format);
		if (!img->fmt) {
			ret = bc_err_set(err, -EINVAL, "Unknown driver '%s'", o->format);
			goto fail;
		}
	} else {
		ret = probe_file(img->file, filename, &img->fmt, err);
		if (ret < 0)
			goto fail;
		img->probed_raw = img->fmt == &bc_format_raw;
	}
	ret = lock_layer(img, o, flags, err);
	if (ret < 0)
		goto fail;
	ret = img->fmt->open(img, err);
	if (ret < 0) {
		img->priv = NULL;    /* a failed open cleans up after itself */
		goto fail;
	}
	if (o->snapshot && !img->fmt->snapshot_apply) {
		ret = bc_err_set(err, -ENOTSUP, "Block format '%s' used by device '' does not "
				 "support temporarily loading internal snapshots", img->fmt->name);
		goto fail;
	}
	if (req) {
		ret = bc_dict_check_format(req, img->fmt->name, err);
		if (ret < 0)
			goto fail;
		img->display_name = req->display;
		req->display = NULL;
		img->top_driver = req->top_driver;
	}
	if (bc_rbd_is_name(img->filename) && !img->display_name) {
		/* qemu shows an rbd image by its options, as a json: name */
		bool top = img->top_driver && !strcmp(img->top_driver, "rbd");
		ret = rbd_display_name(img->filename, img->fmt->name, top, &img->display_name);
		if (ret == 0)
			ret = rbd_display_name(img->filename, "rbd", true, &img->file_display);
		if (ret < 0) {
			bc_err_set(err, ret, "Out of memory");
			goto fail;
		}
	}
	if (img->align == 0)
		img->align = 1;
	const struct bc_opts *bdict = req ? req->backing : NULL;
	bool want_backing = img->backing_name && img->backing_name[0];
	if (bdict && bc_opts_get(bdict, "file.filename"))
		want_backing = true;
	if (req && req->no_backing)
		want_backing = false;
	if (want_backing && !(flags & BC_OPEN_NO_BACKING)) {
		ret = open_backing(img, o, bdict, seen, err);
		if (ret < 0)
			goto fail;
	}
	img->open_opts = NULL;
	*out = img;
	return 0;
fail:
	image_free(img);
	return ret;
}

int bc_open(struct bc_image **out, const char *filename, const struct bc_open_opts *opts,
	    struct bc_err *err)
{
	static const struct bc_open_opts none;
	struct chain_seen *seen = calloc(1, sizeof(*seen));
	int ret;

	if (!seen)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (!opts)
		opts = &none;
	*out = NULL;
	if ((opts->flags & BC_OPEN_SHARE) && (opts->flags & BC_OPEN_RDWR)) {
		free(seen);
		return bc_err_set(err, -EINVAL,
				  "force-share=on can only be used with read-only images");
	}
	ret = open_named(out, filename, opts, opts->flags, seen, err);
	free(seen);
	return ret;
}

int bc_open_file(struct bc_image **out, struct bc_file *file, const struct bc_open_opts *opts,
		 struct bc_err *err)
{
	static const struct bc_open_opts none;
	struct chain_seen *seen = calloc(1, sizeof(*seen));
	int ret;

	if (!seen) {
		bc_file_close(file);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	if (!opts)
		opts = &none;
	*out = NULL;
	file->writable = opts->flags & BC_OPEN_RDWR;
	ret = open_layer(out, file->path, file, opts, opts->flags, NULL, seen, err);
	free(seen);
	return ret;
}

int bc_close(struct bc_image *img)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->flags & BC_OPEN_RDWR)
		ret = bc_flush(img);
	bc_close(img->backing);
	img->backing = NULL;
	image_free(img);
	return ret;
}

int bc_reopen_backing(struct bc_image *img, struct bc_err *err)
{
	struct bc_image *old = img->backing, *fresh;
	if (!old)
		return 0;
	if (!img->backing_path)
		return bc_err_set(err, -ENOTSUP, "Cannot reopen the backing file of '%s'", img->filename);
	struct bc_open_opts o = { .format = img->backing_fmt, .flags = old->flags & ~BC_OPEN_IMAGE_OPTS };
	int ret = bc_open(&fresh, img->backing_path, &o, err);
	if (ret < 0) {
		bc_err_prefix(err, "Could not reopen backing file");
		return ret;
	}
	img->backing = fresh; /* opened before the old one lets go: its locks never lapse */
	bc_close(old);
	return 0;
}

uint64_t bc_length(const struct bc_image *img) { return img->size; }
const char *bc_filename(const struct bc_image *img) { return img->filename; }
const char *bc_format_name(const struct bc_image *img) { return img->fmt->name; }
struct bc_image *bc_backing(const struct bc_image *img) { return img->backing; }
bool bc_is_writable(const struct bc_image *img) { return img->flags & BC_OPEN_RDWR; }
bool bc_probed_raw(const struct bc_image *img) { return img->probed_raw; }
const char *bc_protocol_name(const struct bc_image *img, const char *given)
{
	return img->file_display ? img->file_display : given;
}
bool bc_snapshots_by_protocol(const struct bc_image *img)
{
	return !img->fmt->snapshot_list && img->file && img->file->ops->snap_list;
}
