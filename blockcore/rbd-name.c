/* rbd: names as qemu spells them: rbd:POOL[/NAMESPACE]/IMAGE[@SNAP][:conf=F][:id=U][:K=V...],
 * where a backslash makes the next character literal. */
#include "rbd-client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool bc_rbd_is_name(const char *name)
{
	return !strncmp(name, "rbd:", 4);
}

/* Copies the token at *p up to an unescaped character of `stops` (unescaping it) and leaves *p
 * on that character; -ENAMETOOLONG when it does not fit. */
static int token(const char **p, const char *stops, char *dst, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	for (; *s && !strchr(stops, *s); s++) {
		if (*s == '\\' && s[1])
			s++;
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		dst[n++] = *s;
	}
	dst[n] = '\0';
	*p = s;
	return 0;
}

static int parse_opts(const char *p, struct rbd_target *t, struct bc_err *err)
{
	char kv[1100];

	while (*p == ':') {
		p++;
		if (token(&p, ":", kv, sizeof(kv)) < 0)
			return bc_err_set(err, -EINVAL, "conf option too long");
		char *eq = strchr(kv, '=');
		if (!eq)
			return bc_err_set(err, -EINVAL, "conf option %s has no value", kv);
		if (!strcmp(kv, "=opts=1")) {    /* internal: the keys came from options */
			t->from_opts = true;
			continue;
		}
		*eq++ = '\0';
		if (!strcmp(kv, "conf"))
			snprintf(t->conf, sizeof(t->conf), "%s", eq);
		else if (!strcmp(kv, "id"))
			snprintf(t->user, sizeof(t->user), "%s", eq);
		else if (t->nopts == RBD_MAX_OPTS || strlen(kv) >= sizeof(t->key[0]) ||
			 strlen(eq) >= sizeof(t->val[0]))
			return bc_err_set(err, -EINVAL, "too many or too long conf options");
		else {
			strcpy(t->key[t->nopts], kv);
			strcpy(t->val[t->nopts++], eq);
		}
	}
	return 0;
}

int rbd_parse_name(const char *name, struct rbd_target *t, struct bc_err *err)
{
	const char *p = name + 4;
	char first[256], second[256];

	memset(t, 0, sizeof(*t));
	if (!bc_rbd_is_name(name))
		return bc_err_set(err, -EINVAL, "Not an rbd: name");
	if (token(&p, "/@:", first, sizeof(first)) < 0)
		return bc_err_set(err, -EINVAL, "Pool name too long");
	if (*p != '/')
		return bc_err_set(err, -EINVAL, "Pool name is required");
	p++;
	if (token(&p, "/@:", second, sizeof(second)) < 0)
		return bc_err_set(err, -EINVAL, "Image name too long");
	strcpy(t->pool, first);
	if (*p == '/') {        /* POOL/NAMESPACE/IMAGE */
		p++;
		strcpy(t->nspace, second);
		if (token(&p, "@:", second, sizeof(second)) < 0)
			return bc_err_set(err, -EINVAL, "Image name too long");
	}
	strcpy(t->image, second);
	if (*p == '@') {
		p++;
		if (token(&p, ":", t->snap, sizeof(t->snap)) < 0)
			return bc_err_set(err, -EINVAL, "Snapshot name too long");
	}
	if (!t->pool[0])
		return bc_err_set(err, -EINVAL, "Pool name is required");
	return parse_opts(p, t, err);
}

/* Appends s with ':', '/', '@' and '\' escaped. */
static size_t put(char *buf, size_t len, size_t n, const char *s)
{
	for (; *s; s++) {
		if (strchr(":/@\\", *s) && n + 1 < len)
			buf[n++] = '\\';
		if (n + 1 < len)
			buf[n++] = *s;
		else
			n = len;   /* too long: caught by the caller */
	}
	if (n < len)
		buf[n] = '\0';
	return n;
}

int rbd_target_name(const struct rbd_target *t, char *buf, size_t len)
{
	size_t n = 4;

	if (len < 5)
		return -ENAMETOOLONG;
	memcpy(buf, "rbd:", 4);
	n = put(buf, len, n, t->pool);
	if (n + 1 < len)
		buf[n++] = '/';
	if (t->nspace[0]) {
		n = put(buf, len, n, t->nspace);
		if (n + 1 < len)
			buf[n++] = '/';
	}
	n = put(buf, len, n, t->image);
	if (t->snap[0] && n + 1 < len) {
		buf[n++] = '@';
		n = put(buf, len, n, t->snap);
	}
	for (int i = -2; i < t->nopts; i++) {
		const char *k = i == -2 ? "conf" : i == -1 ? "id" : t->key[i];
		const char *v = i == -2 ? t->conf : i == -1 ? t->user : t->val[i];
		if ((i < 0 && !v[0]) || n + 1 >= len)
			continue;
		buf[n++] = ':';
		n = put(buf, len, n, k);
		if (n + 1 < len)
			buf[n++] = '=';
		n = put(buf, len, n, v);
	}
	if (t->from_opts && n + 8 < len) {
		memcpy(buf + n, ":=opts=1", 8);
		n += 8;
	}
	if (n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

struct jbuf {
	char *p;
	size_t n, cap;
};

static void jput(struct jbuf *b, const char *s, bool quote)
{
	for (size_t i = 0, len = strlen(s); i <= len + 1; i++) {
		char c = i == 0 || i == len + 1 ? '"' : s[i - 1];
		if ((i == 0 || i == len + 1) && !quote)
			continue;
		if (b->n + 3 >= b->cap)
			return;
		if (quote && i > 0 && i <= len && (c == '"' || c == '\\'))
			b->p[b->n++] = '\\';
		b->p[b->n++] = c;
	}
	b->p[b->n] = '\0';
}

static void jkey(struct jbuf *b, bool *first, const char *k, const char *v)
{
	if (!*first)
		jput(b, ", ", false);
	*first = false;
	jput(b, k, true);
	jput(b, ": ", false);
	jput(b, v, true);
}

/* server.N.host / server.N.port of a mon_host list "H:P,[V6]:P" (json:/--image-opts). */
static void jservers(struct jbuf *b, bool *first, const struct rbd_target *t, bool ports)
{
	char item[512], k[48];

	for (int i = 0; t->from_opts && i < t->nopts; i++) {
		if (strcmp(t->key[i], "mon_host"))
			continue;
		const char *p = t->val[i];
		for (int idx = 0; *p; idx++) {
			size_t len = strcspn(p, ",");
			snprintf(item, sizeof(item), "%.*s", (int)len, p);
			p += len + (p[len] == ',');
			char *colon = strrchr(item, ':');
			if (!colon)
				continue;
			*colon = '\0';
			char *host = item;
			if (host[0] == '[' && colon[-1] == ']') {
				host++;
				colon[-1] = '\0';
			}
			snprintf(k, sizeof(k), "server.%d.%s", idx, ports ? "port" : "host");
			jkey(b, first, k, ports ? colon + 1 : host);
		}
	}
}

int rbd_display_name(const char *name, const char *fmt, bool top, char **out)
{
	struct rbd_target t;
	struct jbuf b = { .cap = 8192 };
	bool first = true;

	*out = NULL;
	if (rbd_parse_name(name, &t, NULL) < 0)
		return -EINVAL;
	if (!(b.p = malloc(b.cap)))
		return -ENOMEM;
	b.p[0] = '\0';
	jput(&b, "json:{", false);
	if (!top) {
		jput(&b, "\"driver\": ", false);
		jput(&b, fmt, true);
		jput(&b, ", \"file\": {", false);
	}
	/* the key order qemu 7.2 prints */
	jkey(&b, &first, "pool", t.pool);
	jkey(&b, &first, "image", t.image);
	if (t.conf[0])
		jkey(&b, &first, "conf", t.conf);
	if (t.snap[0])
		jkey(&b, &first, "snapshot", t.snap);
	jservers(&b, &first, &t, false);
	jkey(&b, &first, "driver", "rbd");
	jservers(&b, &first, &t, true);
	if (!t.from_opts || t.nspace[0])
		jkey(&b, &first, "namespace", t.nspace);
	if (t.user[0])
		jkey(&b, &first, "user", t.user);
	jput(&b, top ? "}" : "}}", false);
	*out = b.p;
	return 0;
}
