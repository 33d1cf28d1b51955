/*
 * qemu's nbd block options (driver=nbd, server.type=inet|unix, server.host, server.port,
 * server.path, export; or the same under file.) become an NBD name for the host layer, so
 * json: and --image-opts reach the same back end as nbd:// names.
 */
#include "nbd-client.h"
#include "open-dict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *get(const struct bc_opts *d, const char *pfx, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), "%s%s", pfx, key);
	return bc_opts_get(d, k);
}

static int build_target(const struct bc_opts *d, const char *pfx, char *uri, size_t cap,
			struct bc_err *err)
{
	const char *fname = get(d, pfx, "filename"), *type = get(d, pfx, "server.type");
	const char *exp = get(d, pfx, "export");
	struct nbd_target t = { 0 };

	if (fname && !get(d, pfx, "server.type")) {
		if (strlen(fname) >= cap)
			return bc_err_set(err, -ENAMETOOLONG, "NBD name too long");
		strcpy(uri, fname);
		return 0;
	}
	if (!type)
		return bc_err_set(err, -EINVAL, "Parameter 'server.type' is missing");
	if (exp && strlen(exp) > NBD_MAX_STRING)
		return bc_err_set(err, -EINVAL, "export name too long");
	snprintf(t.name, sizeof(t.name), "%s", exp ? exp : "");
	if (!strcmp(type, "unix")) {
		const char *path = get(d, pfx, "server.path");
		if (!path)
			return bc_err_set(err, -EINVAL, "Parameter 'server.path' is missing");
		if (strlen(path) >= sizeof(t.path))
			return bc_err_set(err, -EINVAL, "UNIX socket path '%s' is too long", path);
		t.is_unix = true;
		strcpy(t.path, path);
	} else if (!strcmp(type, "inet")) {
		const char *host = get(d, pfx, "server.host"), *port = get(d, pfx, "server.port");
		if (!host)
			return bc_err_set(err, -EINVAL, "Parameter 'server.host' is missing");
		if (strlen(host) >= sizeof(t.host) || (port && strlen(port) >= sizeof(t.port)))
			return bc_err_set(err, -EINVAL, "NBD server address too long");
		strcpy(t.host, host);
		snprintf(t.port, sizeof(t.port), "%s", port ? port : "10809");
	} else {
		return bc_err_set(err, -EINVAL, "Parameter 'server.type' does not accept value '%s'",
				  type);
	}
	if (nbd_target_uri(&t, uri, cap) < 0)
		return bc_err_set(err, -ENAMETOOLONG, "NBD name too long");
	return 0;
}

/* Ours, not qemu's: multi-conn=N goes into the name's query (see nbd_parse_name). */
static int add_conns(const struct bc_opts *d, const char *pfx, char *uri, size_t cap,
		     struct bc_err *err)
{
	const char *m = get(d, pfx, "multi-conn");
	size_t len = strlen(uri);

	if (!m)
		return 0;
	if (!strstr(uri, "://"))
		return bc_err_set(err, -EINVAL, "multi-conn needs an nbd:// or nbd+unix:// name");
	if (strspn(m, "0123456789") != strlen(m) || !*m || atoi(m) < 1 || atoi(m) > 8)
		return bc_err_set(err, -EINVAL, "Parameter 'multi-conn' expects a number from 1 to 8");
	if (snprintf(uri + len, cap - len, "%cmulti-conn=%s", strchr(uri, '?') ? '&' : '?', m) >=
	    (int)(cap - len))
		return bc_err_set(err, -ENAMETOOLONG, "NBD name too long");
	return 0;
}

static int build_uri(const struct bc_opts *d, const char *pfx, char *uri, size_t cap,
		     struct bc_err *err)
{
	int ret = build_target(d, pfx, uri, cap, err);

	return ret < 0 ? ret : add_conns(d, pfx, uri, cap, err);
}

static bool nbd_key(const char *key, const char *pfx)
{
	size_t n = strlen(pfx);

	if (strncmp(key, pfx, n))
		return false;
	key += n;
	return !strncmp(key, "server.", 7) || !strcmp(key, "export") || !strcmp(key, "driver") ||
	       !strcmp(key, "filename") || !strcmp(key, "reconnect-delay") ||
	       !strcmp(key, "open-timeout") || !strcmp(key, "multi-conn");
}

int bc_nbd_dict_rewrite(struct bc_opts **dictp, struct bc_err *err)
{
	return bc_dict_protocol_to_name(dictp, "nbd", build_uri, nbd_key, err);
}
