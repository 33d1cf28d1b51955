/*
 * qemu's block options -> an open request. A json: name and an --image-opts string both become
 * one flat list of dotted keys (driver, file.filename, cache.direct, backing.driver,
 * encrypt.key-secret, ...); here the keys the engine understands become flags and names, the
 * keys the format takes go to its driver_opts, and anything else gets qemu's refusal.
 */
#include "open-dict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys the block layer takes for any node; the engine has nothing to do for the ignored ones. */
static const char *const generic_ignored[] = { "node-name", "auto-read-only", "discard",
					      "detect-zeroes", NULL };
/* Keys the "file" protocol takes that change nothing here (locking goes to driver_opts). */
static const char *const file_ignored[] = { "node-name", "auto-read-only", "discard",
					   "detect-zeroes", "aio-max-batch", "pr-manager",
					   "x-check-cache-dropped", "drop-cache", "read-only",
					   "force-share", NULL };

/* Runtime options a format takes, passed on in driver_opts; "x." entries match a prefix. */
struct fmt_keys {
	const char *fmt;
	const char *const *keys;
	const char *const *strong;   /* the ones that make qemu show a json: name */
};
static const char *const qcow2_keys[] = {
	"encrypt.", "data-file", "data-file.", "l2-cache-size", "l2-cache-entry-size",
	"refcount-cache-size", "cache-size", "cache-clean-interval", "lazy-refcounts",
	"pass-discard-request", "pass-discard-snapshot", "pass-discard-other", "overlap-check",
	"overlap-check.", NULL };
static const char *const qcow2_strong[] = { "encrypt.key-secret", NULL };
static const char *const luks_keys[] = { "key-secret", NULL };
static const char *const raw_keys[] = { "offset", "size", NULL };
static const char *const none[] = { NULL };
static const struct fmt_keys fmt_keys[] = {
	{ "qcow2", qcow2_keys, qcow2_strong },
	{ "luks", luks_keys, luks_keys },
	{ "raw", raw_keys, raw_keys },
	{ NULL, none, none },
};

static const struct fmt_keys *keys_of(const char *fmt)
{
	const struct fmt_keys *k = fmt_keys;

	while (k->fmt && (!fmt || strcmp(k->fmt, fmt)))
		k++;
	return k;
}

static bool key_in(const char *const *list, const char *key)
{
	for (; *list; list++) {
		size_t n = strlen(*list);
		if ((*list)[n - 1] == '.' ? !strncmp(key, *list, n) : !strcmp(key, *list))
			return true;
	}
	return false;
}

static bool is_protocol(const char *drv)
{
	return !strcmp(drv, "file") || !strcmp(drv, "host_device") || !strcmp(drv, "host_cdrom") ||
	       !strcmp(drv, "null-co");
}

/* A protocol named as the top driver (nbd's and rbd's keys were made a filename by
 * bc_nbd_dict_rewrite and bc_rbd_dict_rewrite):
 * its name as qemu reports the node's format, or NULL. */
static const char *top_protocol(const char *drv)
{
	static const char *const names[] = { "file", "host_device", "host_cdrom", "null-co", "nbd",
					     "rbd" };

	for (size_t i = 0; drv && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(drv, names[i]))
			return names[i];
	return NULL;
}

/* A bare item after the first: qemu's deprecated short form of K=on (noK: K=off), with its
 * warning (a "warning: " line, which the front ends prefix with their name). */
static int short_form_bool(struct bc_opts *dict, const char *item)
{
	bool no = !strncmp(item, "no", 2) && item[2];
	const char *key = no ? item + 2 : item;

	bc_warn("warning: short-form boolean option '%s' deprecated\nPlease use %s=%s instead",
		item, key, no ? "off" : "on");
	return bc_opts_set(dict, key, no ? "off" : "on");
}

/* --image-opts: "k=v,k2=v2" with ",," for a comma. A bare first item names a node ("file"). */
static int parse_image_opts(const char *text, struct bc_opts *dict, struct bc_err *err)
{
	size_t len = strlen(text);
	char *item = malloc(len + 1);
	bool first = true;

	if (!item)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (const char *s = text; *s;) {
		size_t n = 0;
		while (*s && !(*s == ',' && s[1] != ',')) {
			if (*s == ',')
				s++;
			item[n++] = *s++;
		}
		item[n] = '\0';
		if (*s)
			s++;
		char *eq = strchr(item, '=');
		int ret;
		if (eq) {
			*eq = '\0';
			ret = bc_opts_set(dict, item, eq + 1);
		} else {
			ret = first ? bc_opts_set(dict, "file", item) : short_form_bool(dict, item);
		}
		first = false;
		if (ret < 0) {
			free(item);
			return bc_err_set(err, ret, "Out of memory");
		}
	}
	free(item);
	return 0;
}

int bc_dict_parse(const char *name, bool image_opts, struct bc_opts *dict, struct bc_err *err)
{
	if (image_opts)
		return parse_image_opts(name, dict, err);
	return bc_json_flatten(name + 5, dict, err);
}

void bc_layer_req_free(struct bc_layer_req *req)
{
	free(req->path);
	free(req->display);
	bc_opts_free(req->driver_opts);
	bc_opts_free(req->fmt_keys);
	bc_opts_free(req->backing);
	memset(req, 0, sizeof(*req));
}

static int set_flag(const struct bc_opts *dict, const char *key, unsigned bit, bool invert,
		    unsigned *flags, struct bc_err *err)
{
	bool v;
	int ret = bc_opts_get_bool(dict, key, false, &v, err);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (v != invert)
		*flags |= bit;
	else
		*flags &= ~bit;
	return 0;
}

/* The engine's own keys: cache.*, read-only, force-share, file.cache.*, file.aio. */
static int apply_flags(const struct bc_opts *dict, struct bc_open_opts *o, struct bc_err *err)
{
	const char *aio = bc_opts_get(dict, "file.aio");
	int ret = 0;

	ret = ret ? ret : set_flag(dict, "cache.direct", BC_OPEN_DIRECT, false, &o->flags, err);
	ret = ret ? ret : set_flag(dict, "file.cache.direct", BC_OPEN_DIRECT, false, &o->flags, err);
	ret = ret ? ret : set_flag(dict, "cache.no-flush", BC_OPEN_UNSAFE, false, &o->flags, err);
	ret = ret ? ret : set_flag(dict, "file.cache.no-flush", BC_OPEN_UNSAFE, false, &o->flags,
				   err);
	ret = ret ? ret : set_flag(dict, "read-only", BC_OPEN_RDWR, true, &o->flags, err);
	ret = ret ? ret : set_flag(dict, "force-share", BC_OPEN_SHARE, false, &o->flags, err);
	if (ret < 0 || !aio)
		return ret;
	if (!strcmp(aio, "threads"))
		o->io = BC_IO_POSIX;
	else if (!strcmp(aio, "io_uring"))
		o->io = BC_IO_URING;
	else if (!strcmp(aio, "native")) {
		if (!(o->flags & BC_OPEN_DIRECT))
			return bc_err_set(err, -EINVAL, "aio=native was specified, but it requires "
					  "cache.direct=on, which was not specified.");
		o->io = BC_IO_POSIX;
	} else {
		return bc_err_set(err, -EINVAL, "Parameter 'aio' does not accept value '%s'", aio);
	}
	return 0;
}

/* file.driver / file (a node name) / a protocol as the top driver: where the bytes live. */
static int find_path(const struct bc_opts *dict, const char *drv, const char *dflt_path,
		     const char **path, struct bc_err *err)
{
	const char *fdrv = bc_opts_get(dict, "file.driver"), *node = bc_opts_get(dict, "file");

	if ((drv && !strcmp(drv, "null-co")) || (fdrv && !strcmp(fdrv, "null-co"))) {
		*path = "null-co://";
		return 0;
	}
	if (top_protocol(drv)) {
		*path = bc_opts_get(dict, "filename");
		if (!*path)
			return bc_err_set(err, -EINVAL, "The '%s' block driver requires a file name",
					  drv);
		return 0;
	}
	if (node)
		return bc_err_set(err, -ENODEV, "Cannot find device='%s' nor node-name='%s'", node,
				  node);
	if (fdrv && !is_protocol(fdrv) && !bc_format_find(fdrv))
		return bc_err_set(err, -EINVAL, "Unknown driver '%s'", fdrv);
	*path = bc_opts_get(dict, "file.filename");
	if (!*path && !drv)
		*path = bc_opts_get(dict, "filename");
	if (!*path)
		*path = dflt_path;
	if (!*path || (fdrv && !is_protocol(fdrv)))
		return bc_err_set(err, -EINVAL, "A block device must be specified for \"file\"");
	return 0;
}

/* file.driver=blkdebug: the filter's keys (config, image.filename, image.driver=file) make
 * the "blkdebug:CONFIG:IMAGE" name open_layer understands. */
static bool blkdebug_key(const char *key)
{
	return !strcmp(key, "file.driver") || !strcmp(key, "file.config") ||
	       !strcmp(key, "file.image.filename") || !strcmp(key, "file.image.driver");
}

static int blkdebug_path(const struct bc_opts *dict, char **out, struct bc_err *err)
{
	const char *cfg = bc_opts_get(dict, "file.config");
	const char *img = bc_opts_get(dict, "file.image.filename");
	const char *node = bc_opts_get(dict, "file.image");
	const char *idrv = bc_opts_get(dict, "file.image.driver");

	if (node)
		return bc_err_set(err, -ENODEV, "Cannot find device='%s' nor node-name='%s'", node,
				  node);
	if (idrv && !is_protocol(idrv))
		return bc_err_set(err, -EINVAL, "Unknown driver '%s'", idrv);
	if (!img)
		return bc_err_set(err, -EINVAL, "A block device must be specified for \"image\"");
	size_t n = strlen(img) + (cfg ? strlen(cfg) : 0) + 16;
	*out = malloc(n);
	if (!*out)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	snprintf(*out, n, "blkdebug:%s:%s", cfg ? cfg : "", img);
	return 0;
}

/* Sorts one key: engine flag, file protocol key, backing key, format key, or refusal. */
static int sort_key(const char *key, const char *val, const char *fmt, bool protocol,
		    unsigned flags, struct bc_layer_req *req, struct bc_err *err)
{
	static const char *const engine[] = { "driver", "filename", "file.filename", "file.driver",
					      "cache.direct", "cache.no-flush", "read-only",
					      "force-share", "file.cache.direct",
					      "file.cache.no-flush", "file.aio", NULL };
	int ret = 0;

	if (key_in(engine, key) || key_in(generic_ignored, key))
		return protocol && !strcmp(key, "file.filename") ? bc_err_set(err, -EINVAL,
			"Block protocol 'file' doesn't support the option 'file.filename'") : 0;
	if (!protocol && !strncmp(key, "file.", 5)) {
		if (!strcmp(key + 5, "locking"))
			ret = bc_opts_set(req->driver_opts, key, val);
		else if (!key_in(file_ignored, key + 5))
			return bc_err_set(err, -EINVAL, "Block protocol 'file' doesn't support the "
					  "option '%s'", key + 5);
		return ret < 0 ? bc_err_set(err, ret, "Out of memory") : 0;
	}
	if (protocol && !strcmp(fmt, "null-co") && (!strcmp(key, "size") || !strcmp(key, "read-zeroes") ||
			 !strcmp(key, "latency-ns"))) {
		char k[32];
		snprintf(k, sizeof(k), "null-co.%s", key);
		return bc_opts_set(req->driver_opts, k, val) < 0
			       ? bc_err_set(err, -ENOMEM, "Out of memory") : 0;
	}
	if (protocol && !strcmp(key, "locking"))
		return bc_opts_set(req->driver_opts, "file.locking", val) < 0
			       ? bc_err_set(err, -ENOMEM, "Out of memory") : 0;
	if (!protocol && (!strcmp(key, "backing") || !strncmp(key, "backing.", 8))) {
		if (flags & BC_OPEN_NO_BACKING)
			return bc_err_set(err, -EINVAL, "Block format '%s' does not support the "
					  "option '%s'", fmt, key);
		if (key[7] == '\0') {
			if (*val)
				return bc_err_set(err, -ENODEV, "Cannot find device='%s' nor "
						  "node-name='%s'", val, val);
			req->no_backing = true;
			return 0;
		}
		if (!req->backing && !(req->backing = bc_opts_new()))
			return bc_err_set(err, -ENOMEM, "Out of memory");
		return bc_opts_set(req->backing, key + 8, val) < 0
			       ? bc_err_set(err, -ENOMEM, "Out of memory") : 0;
	}
	if (protocol)
		return bc_err_set(err, -EINVAL, "Block protocol 'file' doesn't support the option "
				  "'%s'", key);
	/* the format's own keys: checked once the format is known (it may be probed) */
	if (bc_opts_set(req->driver_opts, key, val) < 0 || bc_opts_set(req->fmt_keys, key, val) < 0)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	/* the qcow2 driver takes an external data file's name as "data-file" */
	if (!strcmp(key, "data-file.filename") && bc_opts_set(req->driver_opts, "data-file", val) < 0)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	return 0;
}

static void json_string(char *out, size_t cap, size_t *n, const char *s)
{
	*n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, "\\%c", *s);
		else
			*n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, "%c", *s);
	}
	*n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, "\"");
}

/* qemu names a node whose strong options matter as json:{strong..., "driver", "file"}. */
static int make_display(const char *fmt, struct bc_layer_req *req)
{
	const struct bc_opts *dict = req->fmt_keys;
	const char *const *strong = keys_of(fmt)->strong;
	const char *k, *v;
	size_t cap = 256, n;
	char *out = NULL;
	bool any = false;

	for (int i = 0; bc_opts_entry(dict, i, &k, &v); i++)
		if (key_in(strong, k)) {
			any = true;
			cap += 2 * (strlen(k) + strlen(v)) + 8;
		}
	if (!any)
		return 0;
	cap += 2 * (strlen(fmt) + strlen(req->path));
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	n = (size_t)snprintf(out, cap, "json:{");
	for (int i = 0; bc_opts_entry(dict, i, &k, &v); i++) {
		if (!key_in(strong, k))
			continue;
		json_string(out, cap, &n, k);
		n += (size_t)snprintf(out + n, cap - n, ": ");
		json_string(out, cap, &n, v);
		n += (size_t)snprintf(out + n, cap - n, ", ");
	}
	n += (size_t)snprintf(out + n, cap - n, "\"driver\": ");
	json_string(out, cap, &n, fmt);
	n += (size_t)snprintf(out + n, cap - n, ", \"file\": {\"driver\": \"file\", \"filename\": ");
	json_string(out, cap, &n, req->path);
	snprintf(out + n, cap - n, "}}");
	req->display = out;
	return 0;
}

static int copy_opts(struct bc_opts *dst, const struct bc_opts *src)
{
	const char *k, *v;

	for (int i = 0; bc_opts_entry(src, i, &k, &v); i++)
		if (bc_opts_set(dst, k, v) < 0)
			return -ENOMEM;
	return 0;
}

int bc_dict_to_request(const struct bc_opts *dict, const struct bc_open_opts *base,
		       const char *dflt_path, const char *dflt_fmt, struct bc_layer_req *req,
		       struct bc_err *err)
{
	const char *drv = bc_opts_get(dict, "driver"), *path = NULL, *k, *v;
	bool protocol = top_protocol(drv) != NULL;
	int ret;

	memset(req, 0, sizeof(*req));
	req->top_driver = top_protocol(drv);
	req->o = *base;
	req->o.flags &= ~BC_OPEN_IMAGE_OPTS;
	req->o.driver = NULL;
	if (!drv && !dflt_path && !bc_opts_get(dict, "file") && !bc_opts_get(dict, "filename") &&
	    !bc_opts_get(dict, "file.filename") && !bc_opts_get(dict, "file.driver"))
		return bc_err_set(err, -EINVAL, "Must specify either driver or file");
	if (drv && !protocol && !bc_format_find(drv))
		return bc_err_set(err, -EINVAL, "Unknown driver '%s'", drv);
	req->o.format = protocol ? "raw" : drv ? drv : dflt_fmt;
	const char *fdrv = bc_opts_get(dict, "file.driver");
	bool blkdebug = !protocol && fdrv && !strcmp(fdrv, "blkdebug");
	if (blkdebug)
		ret = blkdebug_path(dict, &req->path, err);
	else
		ret = find_path(dict, drv, dflt_path, &path, err);
	if (ret < 0)
		return ret;
	req->driver_opts = bc_opts_new();
	req->fmt_keys = bc_opts_new();
	if (!blkdebug)
		req->path = strdup(path);
	if (!req->driver_opts || !req->fmt_keys || !req->path ||
	    (base->driver_opts && copy_opts(req->driver_opts, base->driver_opts) < 0)) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto fail;
	}
	ret = apply_flags(dict, &req->o, err);
	for (int i = 0; ret == 0 && bc_opts_entry(dict, i, &k, &v); i++)
		if (!blkdebug || !blkdebug_key(k))
			ret = sort_key(k, v, drv ? drv : "(probed)", protocol, base->flags, req, err);
	if (ret < 0)
		goto fail;
	req->o.driver_opts = req->driver_opts;
	return 0;
fail:
	bc_layer_req_free(req);
	return ret;
}

int bc_dict_check_format(struct bc_layer_req *req, const char *fmt, struct bc_err *err)
{
	const char *k, *v;

	for (int i = 0; bc_opts_entry(req->fmt_keys, i, &k, &v); i++)
		if (!key_in(keys_of(fmt)->keys, k))
			return bc_err_set(err, -EINVAL, "Block format '%s' does not support the "
					  "option '%s'", fmt, k);
	if (!req->display && make_display(fmt, req) < 0)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	return 0;
}

int bc_dict_protocol_to_name(struct bc_opts **dictp, const char *proto, bc_dict_name_fn build,
			     bc_dict_key_fn own, struct bc_err *err)
{
	struct bc_opts *d = *dictp, *out;
	const char *drv = bc_opts_get(d, "driver"), *fdrv = bc_opts_get(d, "file.driver");
	const char *pfx = drv && !strcmp(drv, proto) ? "" : "file.";
	const char *k, *v;
	char name[8192]; /* more than an NBD URI (a 4096-byte export name) or an rbd name takes */
	int ret;

	if (*pfx && !(fdrv && !strcmp(fdrv, proto)))
		return 0;
	ret = build(d, pfx, name, sizeof(name), err);
	if (ret < 0)
		return ret;
	out = bc_opts_new();
	if (!out)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (int i = 0; ret == 0 && bc_opts_entry(d, i, &k, &v); i++)
		if (!own(k, pfx))
			ret = bc_opts_set(out, k, v);
	/* the protocol's node itself stays the top driver (raw bytes; qemu's format "nbd"/"rbd") */
	if (ret == 0 && !*pfx)
		ret = bc_opts_set(out, "driver", proto);
	if (ret == 0)
		ret = bc_opts_set(out, *pfx ? "file.filename" : "filename", name);
	if (ret < 0) {
		bc_opts_free(out);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	bc_opts_free(d);
	*dictp = out;
	return 0;
}
