/* NBD names as qemu spells them: URIs (nbd://, nbd+unix://) and the legacy nbd: syntax. */
#include "nbd-client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool bc_nbd_is_name(const char *name)
{
	return !strncmp(name, "nbd:", 4) || !strncmp(name, "nbd+tcp://", 10) ||
	       !strncmp(name, "nbd+unix://", 11);
}

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* %XX escapes in the export name of a URI. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		unsigned v;
		if (*s == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1) {
			*w++ = (char)v;
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Our "multi-conn=N" at the end of a URI's query: cut off (into *cut) and parsed. */
static int take_conns(const char *name, struct nbd_target *t, char *cut, size_t cap)
{
	const char *m = strstr(name, "multi-conn=");
	char *end;

	if (!m || (m[-1] != '?' && (m[-1] != '&' || !memchr(name, '?', (size_t)(m - name)))) ||
	    strchr(m, '&'))
		return copy(cut, cap, name, strlen(name));
	unsigned long v = strtoul(m + 11, &end, 10);
	if (*end || m[11] < '1' || m[11] > '9' || v > 8)
		return -EINVAL;
	t->conns = (unsigned)v;
	return copy(cut, cap, name, (size_t)(m - 1 - name) + (m[-1] == '?'));
}

static int parse_uri(const char *full, struct nbd_target *t, struct bc_err *err)
{
	char name[NBD_MAX_STRING + 512];

	if (take_conns(full, t, name, sizeof(name)) < 0)
		return bc_err_set(err, -EINVAL, "No valid URL specified");
	bool is_unix = !strncmp(name, "nbd+unix://", 11);
	char *p = strstr(name, "://") + 3, *slash = strchr(p, '/'), *q = strchr(p, '?');
	if (q && !q[1])
		*q = '\0', q = NULL;     /* "?multi-conn=N" was the whole query */

	if (slash && q && slash > q)
		slash = NULL;   /* a '/' of the query (the socket path), not the export's */
	const char *hend = slash ? slash : (q ? q : p + strlen(p));

	t->is_unix = is_unix;
	if (is_unix) {
		if (hend != p || !q || strncmp(q, "?socket=", 8) || strchr(q + 8, '&'))
			return bc_err_set(err, -EINVAL, "No valid URL specified");
		if (copy(t->path, sizeof(t->path), q + 8, strlen(q + 8)) < 0)
			return bc_err_set(err, -EINVAL, "No valid URL specified");
	} else {
		const char *colon = memchr(p, ':', (size_t)(hend - p));
		if (q || hend == p)
			return bc_err_set(err, -EINVAL, "No valid URL specified");
		if (copy(t->host, sizeof(t->host), p, (size_t)((colon ? colon : hend) - p)) < 0 ||
		    (colon && copy(t->port, sizeof(t->port), colon + 1,
				   (size_t)(hend - colon - 1)) < 0))
			return bc_err_set(err, -EINVAL, "No valid URL specified");
		if (!colon || !t->port[0])
			snprintf(t->port, sizeof(t->port), "%d", NBD_DEFAULT_PORT);
		if (strspn(t->port, "0123456789") != strlen(t->port))
			return bc_err_set(err, -EINVAL, "No valid URL specified");
	}
	if (slash) {
		const char *nend = q ? q : slash + strlen(slash);
		if (copy(t->name, sizeof(t->name), slash + 1, (size_t)(nend - slash - 1)) < 0)
			return bc_err_set(err, -EINVAL, "No valid URL specified");
		unescape(t->name);
	}
	return 0;
}

/* nbd:unix:PATH[:exportname=NAME] or nbd:HOST:PORT[:exportname=NAME] */
static int parse_legacy(const char *name, struct nbd_target *t, struct bc_err *err)
{
	const char *p = name + 4, *ex = strstr(p, ":exportname=");
	size_t n = ex ? (size_t)(ex - p) : strlen(p);

	if (ex && copy(t->name, sizeof(t->name), ex + 12, strlen(ex + 12)) < 0)
		return bc_err_set(err, -EINVAL, "export name too long");
	if (!strncmp(p, "unix:", 5)) {
		t->is_unix = true;
		if (copy(t->path, sizeof(t->path), p + 5, n - 5) < 0)
			return bc_err_set(err, -EINVAL, "UNIX socket path '%.*s' is too long",
					  (int)(n - 5), p + 5);
		return 0;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon || colon == p || copy(t->host, sizeof(t->host), p, (size_t)(colon - p)) < 0 ||
	    copy(t->port, sizeof(t->port), colon + 1, n - (size_t)(colon - p) - 1) < 0 ||
	    !t->port[0])
		return bc_err_set(err, -EINVAL, "error parsing address '%.*s'", (int)n, p);
	return 0;
}

int nbd_parse_name(const char *name, struct nbd_target *t, struct bc_err *err)
{
	memset(t, 0, sizeof(*t));
	if (strstr(name, "://"))
		return parse_uri(name, t, err);
	return parse_legacy(name, t, err);
}

/* qemu's spelling: the export after a slash only when it has a name. */
int nbd_target_uri(const struct nbd_target *t, char *buf, size_t len)
{
	const char *sl = t->name[0] ? "/" : "";
	int n;

	if (t->is_unix)
		n = snprintf(buf, len, "nbd+unix://%s%s?socket=%s", sl, t->name, t->path);
	else if (strchr(t->host, ':'))
		n = snprintf(buf, len, "nbd://[%s]:%s%s%s", t->host, t->port, sl, t->name);
	else
		n = snprintf(buf, len, "nbd://%s:%s%s%s", t->host, t->port, sl, t->name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
