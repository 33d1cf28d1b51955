/* Creating images: option validation, the backing image's size as the default size. */
#include "bc_driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bc_create_file(struct bc_file **out, const char *filename, struct bc_err *err)
{
	return bc_file_open(out, filename, BC_FILE_RDWR | BC_FILE_CREATE, BC_IO_POSIX, err);
}

/* qemu-img takes the size from the backing image when none is given. */
int bc_create_size_from_backing(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	const char *bfile = bc_opts_get(opts, "backing_file");
	struct bc_open_opts bo = { .format = bc_opts_get(opts, "backing_fmt"),
				   .flags = BC_OPEN_NO_BACKING | BC_OPEN_SHARE };
	struct bc_image *b;
	char num[32];

	if (!bfile)
		return bc_err_set(err, -EINVAL, "Image creation needs a size parameter");
	char *path = bc_resolve_relative(filename, bfile);
	if (!path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	int ret = bc_open(&b, path, &bo, err);
	free(path);
	if (ret < 0) {
		/* qemu-img's wording: the open error, then this on a line of its own */
		if (err) {
			size_t n = strlen(err->msg);
			snprintf(err->msg + n, sizeof(err->msg) - n, "\nCould not open backing image.");
		}
		return ret;
	}
	snprintf(num, sizeof(num), "%llu", (unsigned long long)b->size);
	bc_close(b);
	return bc_opts_set(opts, "size", num);
}

int bc_create(const char *fmt_name, const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	const struct bc_format *fmt = bc_format_find(fmt_name);
	int ret;

	if (!fmt)
		return bc_err_set(err, -EINVAL, "Unknown file format '%s'", fmt_name);
	if (!fmt->create)
		return bc_err_set(err, -ENOTSUP, "Format driver '%s' does not support image creation",
				  fmt_name);
	ret = bc_opts_validate(opts, fmt->create_opts, err);
	if (ret < 0)
		return ret;
	if (!bc_opts_get(opts, "size")) {
		ret = bc_create_size_from_backing(filename, opts, err);
		if (ret < 0)
			return ret;
	}
	/* qemu-img creates whole 512-byte sectors, whatever size was asked for */
	uint64_t size;
	ret = bc_opts_get_size(opts, "size", 0, &size, err);
	if (ret < 0)
		return ret;
	if (size % 512) {
		char num[32];
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(size + 512 - size % 512));
		bc_opts_set(opts, "size", num);
	}
	return fmt->create(filename, opts, err);
}

int bc_measure(const char *fmt_name, struct bc_opts *opts, uint64_t size, struct bc_image *src,
	       struct bc_measure *out, struct bc_err *err)
{
	const struct bc_format *fmt = bc_format_find(fmt_name);

	memset(out, 0, sizeof(*out));
	if (!fmt)
		return bc_err_set(err, -EINVAL, "Unknown file format '%s'", fmt_name);
	if (!fmt->measure)
		return bc_err_set(err, -ENOTSUP, "Block driver '%s' does not support size measurement",
				  fmt_name);
	int ret = bc_opts_validate(opts, fmt->create_opts, err);
	return ret < 0 ? ret : fmt->measure(opts, size, src, out, err);
}
