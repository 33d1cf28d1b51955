/*
 * qemu's rbd block options (driver=rbd with pool, namespace, image, snapshot, conf, user,
 * server.N.host/port; or the same under file.) become an rbd: name for the host layer, so
 * json: and --image-opts reach the same back end as rbd: filenames.
 */
#include "open-dict.h"
#include "rbd-client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *get(const struct bc_opts *d, const char *pfx, const char *key)
{
	char k[128];

	snprintf(k, sizeof(k), "%s%s", pfx, key);
	return bc_opts_get(d, k);
}

static int setstr(char *dst, size_t cap, const char *src, const char *what, struct bc_err *err)
{
	if (src && strlen(src) >= cap)
		return bc_err_set(err, -EINVAL, "Parameter '%s' is too long", what);
	snprintf(dst, cap, "%s", src ? src : "");
	return 0;
}

/* server.0.host, server.0.port, server.1.host ... -> mon_host=H:P,H:P */
static int mon_hosts(const struct bc_opts *d, const char *pfx, struct rbd_target *t,
		     struct bc_err *err)
{
	char key[32], list[512] = "";
	size_t n = 0;

	for (int i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "server.%d.host", i);
		const char *host = get(d, pfx, key);
		snprintf(key, sizeof(key), "server.%d.port", i);
		const char *port = get(d, pfx, key);
		if (!host && !port)
			break;
		if (!host)
			return bc_err_set(err, -EINVAL, "Parameter 'host' is missing");
		int w = snprintf(list + n, sizeof(list) - n, "%s%s%s%s", n ? "," : "",
				 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "");
		if (w < 0 || (size_t)w >= sizeof(list) - n)
			return bc_err_set(err, -EINVAL, "Parameter 'server' is too long");
		n += (size_t)w;
		w = snprintf(list + n, sizeof(list) - n, ":%s", port ? port : "6789");
		if (w < 0 || (size_t)w >= sizeof(list) - n)
			return bc_err_set(err, -EINVAL, "Parameter 'server' is too long");
		n += (size_t)w;
	}
	if (!n)
		return 0;
	strcpy(t->key[t->nopts], "mon_host");
	snprintf(t->val[t->nopts++], sizeof(t->val[0]), "%s", list);
	return 0;
}

static int build_name(const struct bc_opts *d, const char *pfx, char *name, size_t cap,
		      struct bc_err *err)
{
	const char *fname = get(d, pfx, "filename"), *pool = get(d, pfx, "pool");
	const char *image = get(d, pfx, "image");
	struct rbd_target *t;
	int ret;

	if (fname && !pool && !image) {
		if (strlen(fname) >= cap)
			return bc_err_set(err, -ENAMETOOLONG, "rbd name too long");
		strcpy(name, fname);
		return 0;
	}
	if (!pool)
		return bc_err_set(err, -EINVAL, "Parameter 'pool' is missing");
	if (!image)
		return bc_err_set(err, -EINVAL, "Parameter 'image' is missing");
	t = calloc(1, sizeof(*t));
	if (!t)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = setstr(t->pool, sizeof(t->pool), pool, "pool", err);
	if (ret == 0)
		ret = setstr(t->image, sizeof(t->image), image, "image", err);
	if (ret == 0)
		ret = setstr(t->nspace, sizeof(t->nspace), get(d, pfx, "namespace"), "namespace", err);
	if (ret == 0)
		ret = setstr(t->snap, sizeof(t->snap), get(d, pfx, "snapshot"), "snapshot", err);
	if (ret == 0)
		ret = setstr(t->conf, sizeof(t->conf), get(d, pfx, "conf"), "conf", err);
	if (ret == 0)
		ret = setstr(t->user, sizeof(t->user), get(d, pfx, "user"), "user", err);
	if (ret == 0)
		ret = mon_hosts(d, pfx, t, err);
	t->from_opts = true;
	if (ret == 0 && rbd_target_name(t, name, cap) < 0)
		ret = bc_err_set(err, -ENAMETOOLONG, "rbd name too long");
	free(t);
	return ret;
}

static bool rbd_key(const char *key, const char *pfx)
{
	static const char *const keys[] = { "pool", "namespace", "image", "snapshot", "conf",
					    "user", "driver", "filename" };
	size_t n = strlen(pfx);

	if (strncmp(key, pfx, n))
		return false;
	key += n;
	if (!strncmp(key, "server.", 7))
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

int bc_rbd_dict_rewrite(struct bc_opts **dictp, struct bc_err *err)
{
	return bc_dict_protocol_to_name(dictp, "rbd", build_name, rbd_key, err);
}
