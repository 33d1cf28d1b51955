/* info: the generic fields plus the driver's format-specific tree. */
#include "bc_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bc_node *bc_node_new(enum bc_node_type type, const char *key)
{
	struct bc_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = type;
	if (key && !(n->key = strdup(key))) {
		free(n);
		return NULL;
	}
	return n;
}

struct bc_node *bc_node_add(struct bc_node *parent, enum bc_node_type type, const char *key)
{
	struct bc_node *n;

	if (!parent || !(n = bc_node_new(type, key)))
		return NULL;
	if (parent->last)
		parent->last->next = n;
	else
		parent->child = n;
	parent->last = n;
	return n;
}

void bc_node_add_str(struct bc_node *parent, const char *key, const char *value)
{
	struct bc_node *n = bc_node_add(parent, BC_NODE_STRING, key);

	if (n)
		n->str = strdup(value ? value : "");
}

void bc_node_add_int(struct bc_node *parent, const char *key, int64_t value)
{
	struct bc_node *n = bc_node_add(parent, BC_NODE_INT, key);

	if (n)
		n->i = value;
}

void bc_node_add_uint(struct bc_node *parent, const char *key, uint64_t value)
{
	struct bc_node *n = bc_node_add(parent, BC_NODE_UINT, key);

	if (n)
		n->u = value;
}

void bc_node_add_bool(struct bc_node *parent, const char *key, bool value)
{
	struct bc_node *n = bc_node_add(parent, BC_NODE_BOOL, key);

	if (n)
		n->b = value;
}

void bc_node_free(struct bc_node *n)
{
	while (n) {
		struct bc_node *next = n->next;
		bc_node_free(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int bc_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->filename = img->display_name ? img->display_name : img->filename;
	info->format = img->top_driver ? img->top_driver : img->fmt->name;
	/* qemu's raw asks its protocol, and nbd and null-co have no driver info to give */
	info->no_driver_info = img->fmt == &bc_format_raw && img->file && img->file->ops &&
			       (!strcmp(img->file->ops->name, "nbd") ||
				!strcmp(img->file->ops->name, "null-co"));
	info->virtual_size = img->size;
	info->actual_size = img->fmt->allocated_size ? img->fmt->allocated_size(img)
						     : bc_file_allocated(img->file);
	if (info->actual_size < 0)
		info->actual_size = -1;
	if (img->backing_name && img->backing_name[0]) {
		info->backing_file = dup_or_null(img->backing_name);
		info->full_backing_file = img->backing_path ? strdup(img->backing_path)
							    : bc_resolve_relative(img->filename, img->backing_name);
		info->backing_format = dup_or_null(img->backing_fmt);
	}
	if (img->fmt->get_info) {
		ret = img->fmt->get_info(img, info, err);
		if (ret < 0) {
			bc_info_free(info);
			return ret;
		}
	}
	if (img->fmt == &bc_format_raw && img->file && img->file->ops->cluster_size) {
		info->cluster_size = img->file->ops->cluster_size(img->file);
		info->has_cluster_size = info->cluster_size != 0;
	}
	/* qemu's rbd node has format specific information, with nothing in it unencrypted */
	if (img->top_driver && !strcmp(img->top_driver, "rbd") && !info->specific &&
	    !(info->specific = bc_node_new(BC_NODE_OBJECT, "rbd")))
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (img->fmt->snapshot_list || (img->file && img->file->ops->snap_list)) {
		ret = bc_snapshot_list(img, &info->snapshots, &info->nsnapshots, err);
		if (ret < 0) {
			bc_info_free(info);
			return ret;
		}
	}
	return 0;
}

void bc_info_free(struct bc_info *info)
{
	free(info->backing_file);
	free(info->full_backing_file);
	free(info->backing_format);
	bc_node_free(info->specific);
	free(info->snapshots);
	memset(info, 0, sizeof(*info));
}
