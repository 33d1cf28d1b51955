/* spec.c - the two spellings of a back end: -chardev BACKEND,id=ID,key=value... and the legacy
 * -serial/-monitor/-qmp strings (file:PATH, tcp:HOST:PORT,server...), with QEMU's error texts. */
#include "emulator/chardev/internal.h"
#include "emulator/host/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OPTS 24

struct chr_opts {
	int n;
	const char *key[MAX_OPTS], *val[MAX_OPTS];
	char buf[1024];
	bool legacy; /* short-form booleans are silent in the legacy spellings */
};

const char *chr_opt(const struct chr_opts *o, const char *key)
{
	for (int i = o->n - 1; i >= 0; i--) /* the last one wins, as in QemuOpts */
		if (!strcmp(o->key[i], key))
			return o->val[i];
	return NULL;
}

int chr_opt_bool(const struct chr_opts *o, const char *key, bool dflt, bool *out, char *err, size_t errlen)
{
	const char *v = chr_opt(o, key);
	*out = dflt;
	if (!v)
		return 0;
	int b = vm_parse_bool(v);
	if (b >= 0)
		*out = b;
	else {
		snprintf(err, errlen, "Parameter '%s' expects 'on' or 'off'", key);
		return -EINVAL;
	}
	return 0;
}

static const char *const bool_keys[] = { "server", "wait", "telnet", "nodelay", "mux", "signal", "append",
					 "ipv4", "ipv6", "tn3270", "websocket", "logappend", "tight", "abstract",
					 NULL };

static bool is_bool_key(const char *k)
{
	for (int i = 0; bool_keys[i]; i++)
		if (!strcmp(bool_keys[i], k))
			return true;
	return false;
}

/* Splits "a=b,c,noD,e=f,,g" (",," is a comma). The first element of a -chardev string is the
 * back end name (key "backend"). Short-form booleans warn (-chardev only), as QEMU 7.2. */
static int split(struct chr_opts *o, const char *s, bool first_is_backend, char *err, size_t errlen)
{
	size_t len = strlen(s);
	if (len >= sizeof(o->buf)) {
		snprintf(err, errlen, "option string too long");
		return -EINVAL;
	}
	char *w = o->buf;
	for (const char *p = s;;) {
		char *start = w;
		while (*p && !(*p == ',' && p[1] != ',')) {
			if (*p == ',' && p[1] == ',')
				p++;
			*w++ = *p++;
		}
		*w++ = 0;
		if (o->n == MAX_OPTS) {
			snprintf(err, errlen, "too many options");
			return -EINVAL;
		}
		char *eq = strchr(start, '=');
		if (o->n == 0 && first_is_backend && !eq) {
			o->key[o->n] = "backend";
			o->val[o->n++] = start;
		} else if (eq) {
			*eq = 0;
			o->key[o->n] = start;
			o->val[o->n++] = eq + 1;
		} else if (*start) {
			bool neg = !strncmp(start, "no", 2) && is_bool_key(start + 2);
			o->key[o->n] = neg ? start + 2 : start;
			o->val[o->n++] = neg ? "off" : "on";
			if (!o->legacy)
				chr_info("@warning: short-form boolean option '%s' deprecated\nPlease use %s=%s instead",
					 start, neg ? start + 2 : start, neg ? "off" : "on");
		}
		if (!*p)
			break;
		p++;
	}
	return 0;
}

struct backend {
	const char *name;
	int (*create)(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
	const char *keys; /* the back end's own parameters, space separated */
};

static const struct backend backends[] = {
	{ "null", chr_null_new, "" },
	{ "stdio", chr_stdio_new, "signal" },
	{ "file", chr_file_new, "path append" },
	{ "pipe", chr_pipe_new, "path" },
	{ "pty", chr_pty_new, "" },
	{ "socket", chr_socket_new, "path host port server wait telnet nodelay reconnect ipv4 ipv6 to fd tn3270 "
				    "websocket abstract tight" },
	{ "vc", chr_null_new, "width height cols rows" },
};

static const struct backend *find_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

static bool key_allowed(const struct backend *b, const char *k)
{
	static const char common[] = " backend id mux logfile logappend ";
	char pat[40];
	snprintf(pat, sizeof(pat), " %s ", k);
	char own[160];
	snprintf(own, sizeof(own), " %s ", b->keys);
	return strstr(common, pat) || strstr(own, pat);
}

/* logfile=PATH[,logappend=on]: the back end also copies its output there. */
static int open_log(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	const char *path = chr_opt(o, "logfile");
	bool append;
	int rc = chr_opt_bool(o, "logappend", false, &append, err, errlen);
	if (rc || !path)
		return rc;
	c->log_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
	if (c->log_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "Could not open '%s': %s", path, strerror(e));
		return -e;
	}
	return 0;
}

/* Creates back end `b` named id (with a mux over it, named id, when mux=on). */
static int create(struct vm_loop *loop, const struct backend *b, const struct chr_opts *o, const char *id,
		  struct vm_chardev **out, char *err, size_t errlen)
{
	bool mux;
	int rc = chr_opt_bool(o, "mux", false, &mux, err, errlen);
	if (rc)
		return rc;
	char base_id[80];
	snprintf(base_id, sizeof(base_id), mux ? "%s-base" : "%s", id);
	if (mux && vm_chr_find(id)) {
		snprintf(err, errlen, "Duplicate ID '%s' for chardev", id);
		return -EEXIST;
	}
	static const struct vm_chr_ops no_ops;
	struct vm_chardev *c;
	if ((rc = chr_alloc(loop, base_id, &no_ops, &c, err, errlen)))
		return rc;
	snprintf(c->filename, sizeof(c->filename), "%s", b->name);
	if ((rc = b->create(c, o, err, errlen))) {
		chr_unregister(c);
		return rc;
	}
	if ((rc = open_log(c, o, err, errlen))) {
		chr_unregister(c);
		return rc;
	}
	if (!mux) {
		*out = c;
		return 0;
	}
	if ((rc = chr_mux_new(loop, id, c, out, err, errlen)))
		chr_unregister(c);
	return rc;
}

int vm_chr_new_opts(struct vm_loop *loop, const char *opts, struct vm_chardev **out, char *err, size_t errlen)
{
	struct chr_opts o = { 0 };
	int rc = split(&o, opts, true, err, errlen);
	if (rc)
		return rc;
	const char *name = chr_opt(&o, "backend"), *id = chr_opt(&o, "id");
	if (!id) {
		snprintf(err, errlen, "chardev: no id specified");
		return -EINVAL;
	}
	const struct backend *b = name ? find_backend(name) : NULL;
	if (!b) {
		snprintf(err, errlen, "'%s' is not a valid char driver name", name ? name : "");
		return -EINVAL;
	}
	for (int i = 0; i < o.n; i++)
		if (!key_allowed(b, o.key[i])) {
			snprintf(err, errlen, "Invalid parameter '%s'", o.key[i]);
			return -EINVAL;
		}
	return create(loop, b, &o, id, out, err, errlen);
}

/* "unix:PATH,opts", "tcp:HOST:PORT,opts", "telnet:HOST:PORT,opts" -> socket options. */
static int legacy_socket(struct chr_opts *o, const char *kind, const char *rest, char *err, size_t errlen)
{
	char tmp[1024];
	if (!strcmp(kind, "unix")) {
		snprintf(tmp, sizeof(tmp), "path=%s", rest);
	} else {
		const char *comma = strchr(rest, ',');
		size_t hl = comma ? (size_t)(comma - rest) : strlen(rest);
		const char *colon = memchr(rest, ':', hl);
		if (!colon) {
			err[0] = 0; /* QEMU says nothing more than "could not connect" here */
			return -EINVAL;
		}
		snprintf(tmp, sizeof(tmp), "host=%.*s,port=%s%s", (int)(colon - rest), rest, colon + 1,
			 !strcmp(kind, "telnet") ? ",telnet=on" : "");
	}
	return split(o, tmp, false, err, errlen);
}

int vm_chr_new_legacy(struct vm_loop *loop, const char *spec, const char *label, struct vm_chardev **out,
		      char *err, size_t errlen)
{
	struct chr_opts o = { .legacy = true };
	const char *name = NULL;
	const char *colon = strchr(spec, ':');
	char kind[16] = "";
	int rc = 0;
	err[0] = 0;
	*out = NULL;
	if (colon && (size_t)(colon - spec) < sizeof(kind))
		snprintf(kind, sizeof(kind), "%.*s", (int)(colon - spec), spec);
	if (!strcmp(spec, "none"))
		return 0;
	if (!strncmp(spec, "mon:", 4)) {
		struct vm_chardev *base;
		char base_label[80];
		snprintf(base_label, sizeof(base_label), "%s-base", label);
		if (vm_chr_find(label)) {
			snprintf(err, errlen, "Duplicate ID '%s' for chardev", label);
			return -EEXIST;
		}
		/* QEMU: a monitor muxed on stdio takes Ctrl-C to the guest (signal=off) */
		if (!strcmp(spec + 4, "stdio")) {
			struct chr_opts so = { .legacy = true };
			split(&so, "signal=off", false, err, errlen);
			static const struct vm_chr_ops no_ops;
			if ((rc = chr_alloc(loop, base_label, &no_ops, &base, err, errlen)))
				return rc;
			snprintf(base->filename, sizeof(base->filename), "stdio");
			if ((rc = chr_stdio_new(base, &so, err, errlen))) {
				chr_unregister(base);
				return rc;
			}
		} else if ((rc = vm_chr_new_legacy(loop, spec + 4, base_label, &base, err, errlen)) || !base) {
			return rc ? rc : -EINVAL;
		}
		if ((rc = chr_mux_new(loop, label, base, out, err, errlen)))
			chr_unregister(base);
		return rc;
	}
	if (!strcmp(kind, "chardev")) {
		*out = vm_chr_find(colon + 1);
		if (!*out) {
			snprintf(err, errlen, "chardev \"%s\" not found", colon + 1);
			return -ENXIO;
		}
		return 0;
	}
	if (!strcmp(spec, "null") || !strcmp(spec, "stdio") || !strcmp(spec, "pty") || !strcmp(spec, "vc") ||
	    !strcmp(kind, "vc")) {
		name = colon ? kind : spec;
	} else if (!strcmp(kind, "file") || !strcmp(kind, "pipe")) {
		name = kind;
		o.key[0] = "path";
		o.val[0] = colon + 1;
		o.n = 1;
	} else if (!strcmp(kind, "unix") || !strcmp(kind, "tcp") || !strcmp(kind, "telnet")) {
		name = "socket";
		if ((rc = legacy_socket(&o, kind, colon + 1, err, errlen)))
			return rc;
	} else {
		snprintf(err, errlen, "'%s' is not a valid char driver", spec);
		return -EINVAL;
	}
	const struct backend *b = find_backend(name);
	for (int i = 0; i < o.n; i++)
		if (!key_allowed(b, o.key[i])) {
			snprintf(err, errlen, "Invalid parameter '%s'", o.key[i]);
			return -EINVAL;
		}
	rc = create(loop, b, &o, label, out, err, errlen);
	if (!rc && !strcmp(name, "vc"))
		snprintf((*out)->filename, sizeof((*out)->filename), "vc");
	return rc;
}
