/* Control-path entry points that a format may or may not support: check, snapshots, VM state,
 * amend, rebase. Each says clearly when the format lacks the feature. */
#include "bc_driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int need_rw(struct bc_image *img, struct bc_err *err)
{
	if (!(img->flags & BC_OPEN_RDWR))
		return bc_err_set(err, -EACCES, "Image '%s' is read-only", img->filename);
	return 0;
}

int bc_check(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err)
{
	memset(res, 0, sizeof(*res));
	if (!img->fmt->check)
		return bc_err_set(err, -ENOTSUP, "This image format does not support checks");
	if (fix && need_rw(img, err) < 0)
		return -EACCES;
	return img->fmt->check(img, res, fix, err);
}

void bc_check_free(struct bc_check *res)
{
	for (int i = 0; i < res->nmessages; i++)
		free(res->messages[i]);
	free(res->messages);
	memset(res, 0, sizeof(*res));
}

void bc_check_msg(struct bc_check *res, const char *fmt, ...)
{
	char line[512], **m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (res->nmessages >= 10000)
		return;
	m = realloc(res->messages, (size_t)(res->nmessages + 1) * sizeof(*m));
	if (!m)
		return;
	res->messages = m;
	m[res->nmessages] = strdup(line);
	if (m[res->nmessages])
		res->nmessages++;
}

static int no_snapshots(struct bc_image *img, struct bc_err *err)
{
	return bc_err_set(err, -ENOTSUP, "Format driver '%s' does not support internal snapshots",
			  img->fmt->name);
}

/* A format without snapshots of its own passes them to its storage when that keeps them (raw
 * over RBD), as qemu's block layer falls back to the file child. */
static const struct bc_file_ops *file_snaps(struct bc_image *img)
{
	return img->file && img->file->ops->snap_list ? img->file->ops : NULL;
}

int bc_snapshot_list(struct bc_image *img, struct bc_snapshot **list, int *n, struct bc_err *err)
{
	*list = NULL;
	*n = 0;
	if (!img->fmt->snapshot_list)
		return file_snaps(img) ? file_snaps(img)->snap_list(img->file, list, n, err) : 0;
	return img->fmt->snapshot_list(img, list, n, err);
}

int bc_snapshot_create(struct bc_image *img, const struct bc_snapshot *sn, struct bc_err *err)
{
	if (!img->fmt->snapshot_create && file_snaps(img))
		return need_rw(img, err) < 0 ? -EACCES
					     : file_snaps(img)->snap_create(img->file, sn->name, err);
	if (!img->fmt->snapshot_create)
		return no_snapshots(img, err);
	return need_rw(img, err) < 0 ? -EACCES : img->fmt->snapshot_create(img, sn, err);
}

int bc_snapshot_apply(struct bc_image *img, const char *id_or_name, struct bc_err *err)
{
	if (!img->fmt->snapshot_apply && file_snaps(img))
		return need_rw(img, err) < 0 ? -EACCES
					     : file_snaps(img)->snap_apply(img->file, id_or_name, err);
	if (!img->fmt->snapshot_apply)
		return no_snapshots(img, err);
	return need_rw(img, err) < 0 ? -EACCES : img->fmt->snapshot_apply(img, id_or_name, err);
}

int bc_snapshot_delete(struct bc_image *img, const char *id, const char *name, struct bc_err *err)
{
	if (!img->fmt->snapshot_delete && file_snaps(img))
		return need_rw(img, err) < 0 ? -EACCES
					     : file_snaps(img)->snap_delete(img->file, id, name, err);
	if (!img->fmt->snapshot_delete)
		return no_snapshots(img, err);
	return need_rw(img, err) < 0 ? -EACCES : img->fmt->snapshot_delete(img, id, name, err);
}

int bc_vmstate_write(struct bc_image *img, uint64_t pos, const void *buf, size_t len)
{
	if (!img->fmt->vmstate_write)
		return -ENOTSUP;
	return img->flags & BC_OPEN_RDWR ? img->fmt->vmstate_write(img, pos, buf, len) : -EACCES;
}

int bc_vmstate_read(struct bc_image *img, uint64_t pos, void *buf, size_t len)
{
	return img->fmt->vmstate_read ? img->fmt->vmstate_read(img, pos, buf, len) : -ENOTSUP;
}

/* amend_opts followed by create_opts: what qemu-img tries after a failed amend parse, to tell
 * an option only create knows from an unknown one. */
static struct bc_opt_desc *amend_union_opts(const struct bc_format *fmt)
{
	size_t na = 0, nc = 0;
	struct bc_opt_desc *u;

	while (fmt->amend_opts[na].name)
		na++;
	while (fmt->create_opts && fmt->create_opts[nc].name)
		nc++;
	u = calloc(na + nc + 1, sizeof(*u));
	if (!u)
		return NULL;
	memcpy(u, fmt->amend_opts, na * sizeof(*u));
	if (nc)
		memcpy(u + na, fmt->create_opts, nc * sizeof(*u));
	return u;
}

static int amend_validate(const struct bc_format *fmt, struct bc_opts *opts, struct bc_err *err)
{
	int ret = bc_opts_validate(opts, fmt->amend_opts, err);
	struct bc_opt_desc *u;

	if (ret == 0 || !fmt->create_opts || !(u = amend_union_opts(fmt)))
		return ret;
	if (bc_opts_validate(opts, u, NULL) == 0) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n,
			 "\nThis option is only supported for image creation");
	}
	free(u);
	return ret;
}

const struct bc_opt_desc *bc_format_amend_opts(const struct bc_format *fmt)
{
	return fmt->amend ? fmt->amend_opts : NULL;
}

int bc_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
	     struct bc_err *err)
{
	if (!img->fmt->amend || !img->fmt->amend_opts)
		return bc_err_set(err, -ENOTSUP, "Format driver '%s' does not support option amendment",
				  img->fmt->name);
	if (need_rw(img, err) < 0)
		return -EACCES;
	int ret = amend_validate(img->fmt, opts, err);
	if (ret < 0)
		return ret;
	if (hooks && hooks->start)
		hooks->start(hooks->opaque);
	return img->fmt->amend(img, opts, hooks, err);
}

int bc_make_empty(struct bc_image *img, struct bc_err *err)
{
	if (!img->fmt->make_empty)
		return bc_err_set(err, -ENOTSUP, "Format driver '%s' cannot empty an image",
				  img->fmt->name);
	return need_rw(img, err) < 0 ? -EACCES : img->fmt->make_empty(img, err);
}

int bc_change_backing(struct bc_image *img, const char *file, const char *fmt, struct bc_err *err)
{
	if (!img->fmt->change_backing)
		return bc_err_set(err, -ENOTSUP, "Format driver '%s' does not support backing files",
				  img->fmt->name);
	return need_rw(img, err) < 0 ? -EACCES : img->fmt->change_backing(img, file, fmt, err);
}

int bc_bitmap(struct bc_image *img, struct bc_bitmap_req *req, struct bc_err *err)
{
	bool writes = req->op != BC_BITMAP_LIST && req->op != BC_BITMAP_READ;

	if (req->op == BC_BITMAP_LIST) {
		req->list = NULL;
		req->n = 0;
		req->can_store = false;
	}
	if (!img->fmt->bitmap)
		return bc_err_set(err, -ENOTSUP, "Can't store persistent bitmaps to %s: %s",
				  img->filename, strerror(ENOTSUP));
	if (writes && need_rw(img, err) < 0)
		return -EACCES;
	return img->fmt->bitmap(img, req, err);
}

void bc_bitmap_list_free(struct bc_bitmap *list, int n)
{
	for (int i = 0; list && i < n; i++)
		free(list[i].name);
	free(list);
}
