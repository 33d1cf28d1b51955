/*
 * raw: the image is the disk, or a window of it (qemu's offset= and size= options): every
 * operation maps straight onto the host file, moved by the offset; holes (SEEK_HOLE) report
 * as zero.
 *
 * Crash safety: raw keeps no metadata, so a torn write can only tear guest data — the same
 * guarantee the host file system gives.
 */
#include "bc_driver.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct bc_opt_desc raw_create_opts[] = {
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ "preallocation", BC_OPT_STRING, NULL, NULL },   /* off, falloc, full */
	{ NULL, BC_OPT_STRING, NULL, NULL },
};

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)buf;
	(void)len;
	(void)filename;
	return 1;   /* anything is raw; every other format outbids this */
}

/* Fills [from, to) per the preallocation mode; the file already has length `to`. */
static int raw_preallocate(struct bc_file *f, uint64_t from, uint64_t to, enum bc_prealloc mode)
{
	int ret = 0;

	if (to <= from)
		return 0;
	if (mode == BC_PREALLOC_FALLOC)
		ret = bc_file_allocate(f, from, to - from);
	else if (mode == BC_PREALLOC_FULL) {
		ret = bc_file_allocate(f, from, to - from);
		if (ret == -ENOTSUP)
			ret = 0;
		for (uint64_t off = from; ret == 0 && off < to; off += BC_ZERO_CHUNK) {
			size_t n = to - off < BC_ZERO_CHUNK ? (size_t)(to - off) : BC_ZERO_CHUNK;
			ret = bc_file_pwrite(f, bc_zero_chunk(), n, off);
		}
	}
	return ret;
}

/* Like qemu, allocate the first block of a sparse image, so that tools probing the file's
 * alignment and `disk size` see what they see on a qemu-made image. */
static int raw_allocate_first_block(struct bc_file *f, uint64_t size)
{
	if (f->fd < 0)
		return 0;       /* a host file system's habit: not on network storage (rbd) */
	return bc_file_pwrite(f, bc_zero_chunk(), size < 4096 ? (size_t)size : 4096, 0);
}

static int raw_create(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	enum bc_prealloc mode = BC_PREALLOC_OFF;
	const char *pa = bc_opts_get(opts, "preallocation");
	struct bc_file *f;
	uint64_t size;
	int ret;

	ret = bc_opts_get_size(opts, "size", 0, &size, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	if (pa && (bc_parse_prealloc(pa, &mode) < 0 || mode == BC_PREALLOC_METADATA))
		return bc_err_set(err, -EINVAL, "invalid parameter value: %s", pa);
	ret = bc_create_file(&f, filename, err);
	if (ret < 0)
		return ret;
	ret = bc_file_truncate(f, size);
	if (ret == 0)
		ret = raw_preallocate(f, 0, size, mode);
	if (ret == 0 && mode == BC_PREALLOC_OFF && size)
		ret = raw_allocate_first_block(f, size);
	if (ret == 0)
		ret = bc_file_flush(f);
	bc_file_close(f);
	if (ret == -EFBIG)
		return bc_err_set(err, ret, "The image size is too large for file format 'raw'");
	if (ret < 0)
		return bc_err_set(err, ret, "Could not create '%s': %s", filename, strerror(-ret));
	return 0;
}

/* The window of the host file the image is (qemu's raw offset= and size= options). */
struct raw_state {
	uint64_t offset;
	bool has_size;          /* size= given: a fixed-size window, no resizing */
};

static int raw_window(struct bc_image *img, struct raw_state *s, uint64_t len, struct bc_err *err)
{
	const struct bc_opts *o = img->open_opts ? img->open_opts->driver_opts : NULL;
	uint64_t size = 0;
	int ret;

	ret = o ? bc_opts_get_size(o, "offset", 0, &s->offset, err) : -ENOENT;
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = o ? bc_opts_get_size(o, "size", 0, &size, err) : -ENOENT;
	if (ret < 0 && ret != -ENOENT)
		return ret;
	s->has_size = ret == 0;
	if (s->offset > len)
		return bc_err_set(err, -EINVAL, "Offset (%" PRIu64 ") cannot be greater than size "
				  "of the containing file (%" PRIu64 ")", s->offset, len);
	if (s->has_size && size % 512)
		return bc_err_set(err, -EINVAL, "Specified size is not multiple of 512");
	if (s->has_size && (size > len || s->offset > len - size))
		return bc_err_set(err, -EINVAL, "The sum of offset (%" PRIu64 ") and size (%" PRIu64
				  ") has to be smaller or equal to the  actual size of the "
				  "containing file (%" PRIu64 ")", s->offset, size, len);
	img->size = s->has_size ? size : len - s->offset;
	return 0;
}

static int raw_open(struct bc_image *img, struct bc_err *err)
{
	int64_t len = bc_file_length(img->file);
	struct raw_state *s;
	int ret;

	if (len < 0)
		return bc_err_set(err, (int)len, "Could not get the size of '%s': %s", img->filename,
				  strerror((int)-len));
	s = calloc(1, sizeof(*s));
	if (!s)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = raw_window(img, s, (uint64_t)len, err);
	if (ret < 0) {
		free(s);
		return ret;
	}
	/* qemu counts whole sectors: a partial last sector reads as zeros past EOF */
	img->size = (img->size + 511) & ~(uint64_t)511;
	img->align = img->file->align;
	img->no_file_aio = s->offset != 0;   /* queued requests go to the file at their offset */
	img->priv = s;
	return 0;
}

static void raw_close(struct bc_image *img)
{
	free(img->priv);
	img->priv = NULL;
}

static uint64_t raw_offset(const struct bc_image *img)
{
	return ((const struct raw_state *)img->priv)->offset;
}

static int raw_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	return bc_file_pread(img->file, buf, len, off + raw_offset(img));
}

static int raw_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	return bc_file_pwrite(img->file, buf, len, off + raw_offset(img));
}

static int raw_discard(struct bc_image *img, uint64_t off, uint64_t len)
{
	int ret = bc_file_punch(img->file, off + raw_offset(img), len);

	return ret == -ENOTSUP ? 0 : ret;
}

static int raw_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	return bc_file_zero(img->file, off + raw_offset(img), len, flags & BC_ZERO_MAY_UNMAP);
}

static int raw_block_status(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext)
{
	uint64_t n, host = off + raw_offset(img);
	bool data;
	int ret = bc_file_status(img->file, host, len, &n, &data);

	if (ret < 0)
		return ret;
	ext->len = n;
	ext->flags = BC_EXT_ALLOCATED | BC_EXT_OFFSET | (data ? BC_EXT_DATA : BC_EXT_ZERO);
	ext->host_off = host;
	ext->host_file = img->file_display ? img->file_display : img->filename;
	return 0;
}

static int raw_truncate(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc, bool shrink,
			struct bc_err *err)
{
	uint64_t old = img->size;
	int ret;

	(void)shrink;
	if (((struct raw_state *)img->priv)->has_size)
		return bc_err_set(err, -ENOTSUP, "Cannot resize fixed-size raw disks");
	if (prealloc == BC_PREALLOC_METADATA)
		return bc_err_set(err, -ENOTSUP, "Unsupported preallocation mode: metadata");
	uint64_t off = raw_offset(img);
	ret = bc_file_truncate(img->file, off + size);
	if (ret == 0)
		ret = raw_preallocate(img->file, off + old, off + size, prealloc);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to resize '%s': %s", img->filename, strerror(-ret));
	img->size = size;
	return 0;
}

/* A raw image takes its virtual size, however much of the source holds data. */
static int raw_measure(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		       struct bc_measure *out, struct bc_err *err)
{
	(void)opts;
	(void)src;
	(void)err;
	out->required = out->fully_allocated = size;
	return 0;
}

static int raw_aio_submit(struct bc_image *img, struct bc_aio *req)
{
	return bc_file_submit(img->file, req);
}

const struct bc_format bc_format_raw = {
	.name = "raw",
	.probe = raw_probe,
	.create_opts = raw_create_opts,
	.create = raw_create,
	.measure = raw_measure,
	.open = raw_open,
	.close = raw_close,
	.read = raw_read,
	.write = raw_write,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.block_status = raw_block_status,
	.truncate = raw_truncate,
	.aio_submit = raw_aio_submit,
};
