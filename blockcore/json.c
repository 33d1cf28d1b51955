/*
 * A small strict JSON reader for "json:{...}" filenames. It does not build a tree: it flattens
 * the one top-level object into dotted keys ("file": {"filename": "x"} -> "file.filename=x"),
 * as qemu flattens its options, with arrays as "key.0", "key.1". Scalars keep their text;
 * true/false become on/off and null becomes "" (qemu's "backing": null). Errors use qemu's
 * wording. Like qemu, strings may also be single-quoted.
 */
#include "bc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_KEY 1024

struct jreader {
	const char *p, *end;
	struct bc_opts *out;
	struct bc_err *err;
	int depth;
};

/* A growable string (keys, values). */
struct jstr {
	char *s;
	size_t len, cap;
};

static int jstr_put(struct jstr *b, char c)
{
	if (b->len + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 32;
		char *n = realloc(b->s, ncap);
		if (!n)
			return -ENOMEM;
		b->s = n;
		b->cap = ncap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

static int parse_error(struct jreader *r, const char *what)
{
	return bc_err_set(r->err, -EINVAL, "Could not parse the JSON options: JSON parse error, %s",
			  what);
}

static int premature(struct jreader *r)
{
	return parse_error(r, "premature EOI");
}

static void skip_ws(struct jreader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '+';
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int put_utf8(struct jstr *b, unsigned cp)
{
	int ret = 0;

	if (cp < 0x80)
		return jstr_put(b, (char)cp);
	if (cp < 0x800) {
		ret |= jstr_put(b, (char)(0xc0 | cp >> 6));
	} else if (cp < 0x10000) {
		ret |= jstr_put(b, (char)(0xe0 | cp >> 12));
		ret |= jstr_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
	} else {
		ret |= jstr_put(b, (char)(0xf0 | cp >> 18));
		ret |= jstr_put(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		ret |= jstr_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
	}
	ret |= jstr_put(b, (char)(0x80 | (cp & 0x3f)));
	return ret ? -ENOMEM : 0;
}

/* \uXXXX, with a following \uXXXX for a surrogate pair; r->p is just past the 'u'. */
static int read_unicode(struct jreader *r, struct jstr *b)
{
	unsigned hi, lo;

	if (r->end - r->p < 4)
		return premature(r);
	if (hex4(r->p, &hi) < 0 || hi == 0)
		return parse_error(r, "invalid escape sequence in string");
	r->p += 4;
	if (hi >= 0xd800 && hi < 0xdc00) {
		if (r->end - r->p < 6)
			return premature(r);
		if (r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) < 0 ||
		    lo < 0xdc00 || lo >= 0xe000)
			return parse_error(r, "invalid escape sequence in string");
		r->p += 6;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	} else if (hi >= 0xdc00 && hi < 0xe000) {
		return parse_error(r, "invalid escape sequence in string");
	}
	return put_utf8(b, hi) < 0 ? bc_err_set(r->err, -ENOMEM, "Out of memory") : 0;
}

static int read_escape(struct jreader *r, struct jstr *b)
{
	static const char from[] = "\"'\\/bfnrt", to[] = "\"'\\/\b\f\n\r\t";
	const char *hit;

	if (r->p >= r->end)
		return premature(r);
	char c = *r->p++;
	if (c == 'u')
		return read_unicode(r, b);
	hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return parse_error(r, "invalid escape sequence in string");
	return jstr_put(b, to[hit - from]) < 0 ? bc_err_set(r->err, -ENOMEM, "Out of memory") : 0;
}

/* A string quoted with " or '; r->p is on the opening quote. */
static int read_string(struct jreader *r, struct jstr *b)
{
	char quote = *r->p++;
	int ret;

	for (;;) {
		if (r->p >= r->end)
			return premature(r);
		char c = *r->p++;
		if (c == quote)
			return 0;
		if ((unsigned char)c < 0x20)
			return parse_error(r, "invalid character in string");
		ret = c == '\\' ? read_escape(r, b)
				: (jstr_put(b, c) < 0 ? bc_err_set(r->err, -ENOMEM, "Out of memory") : 0);
		if (ret < 0)
			return ret;
	}
}

/* A number in JSON's grammar (no leading zeros), kept as its text. */
static bool valid_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
		return false;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

/* A bare word: a number or one of the keywords. */
static int read_word(struct jreader *r, struct jstr *b)
{
	const char *s = r->p;
	char msg[96];

	while (r->p < r->end && is_word_char(*r->p))
		r->p++;
	size_t n = (size_t)(r->p - s);
	const char *val = NULL;
	if (n == 4 && !memcmp(s, "true", 4))
		val = "on";
	else if (n == 5 && !memcmp(s, "false", 5))
		val = "off";
	else if (n == 4 && !memcmp(s, "null", 4))
		val = "";
	if (!val && n && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) {
		if (!valid_number(s, n)) {
			snprintf(msg, sizeof(msg), "stray '%.*s'", (int)(n > 64 ? 64 : n), s);
			return parse_error(r, msg);
		}
		for (size_t i = 0; i < n; i++)
			if (jstr_put(b, s[i]) < 0)
				return bc_err_set(r->err, -ENOMEM, "Out of memory");
		return 0;
	}
	if (!val) {
		if (n == 0) {
			if (r->p >= r->end)
				return premature(r);
			snprintf(msg, sizeof(msg), "stray '%c'", *r->p);
			return parse_error(r, msg);
		}
		snprintf(msg, sizeof(msg), "invalid keyword '%.*s'", (int)(n > 64 ? 64 : n), s);
		return parse_error(r, msg);
	}
	while (*val)
		if (jstr_put(b, *val++) < 0)
			return bc_err_set(r->err, -ENOMEM, "Out of memory");
	return 0;
}

static int read_value(struct jreader *r, const char *key);

/* "prefix.name" into key (NUL-terminated), or an error when too long. */
static int join_key(struct jreader *r, char *key, const char *prefix, const char *name)
{
	int n = *prefix ? snprintf(key, JSON_MAX_KEY, "%s.%s", prefix, name)
			: snprintf(key, JSON_MAX_KEY, "%s", name);
	if (n < 0 || n >= JSON_MAX_KEY)
		return parse_error(r, "key too long");
	return 0;
}

static bool key_seen(char **keys, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(keys[i], k))
			return true;
	return false;
}

/* One member "name": value of an object; keys[] collects the names for duplicate checks. */
static int read_member(struct jreader *r, const char *prefix, char ***keys, int *nkeys)
{
	struct jstr name = { 0 };
	char key[JSON_MAX_KEY], **nk;
	int ret;

	if (r->p >= r->end)
		return premature(r);
	if (*r->p == '}' || *r->p == ']')
		return parse_error(r, "expecting value");
	if (*r->p != '"' && *r->p != '\'')
		return parse_error(r, "key is not a string in object");
	ret = read_string(r, &name);
	if (ret == 0 && !name.s && !(name.s = strdup("")))
		ret = bc_err_set(r->err, -ENOMEM, "Out of memory");
	if (ret < 0)
		goto out;
	if (key_seen(*keys, *nkeys, name.s)) {
		ret = parse_error(r, "duplicate key");
		goto out;
	}
	nk = realloc(*keys, (size_t)(*nkeys + 1) * sizeof(*nk));
	if (!nk) {
		ret = bc_err_set(r->err, -ENOMEM, "Out of memory");
		goto out;
	}
	*keys = nk;
	nk[(*nkeys)++] = name.s;
	name.s = NULL;
	skip_ws(r);
	if (r->p >= r->end) {
		ret = premature(r);
		goto out;
	}
	if (*r->p != ':') {
		ret = parse_error(r, "missing : in object pair");
		goto out;
	}
	r->p++;
	ret = join_key(r, key, prefix, nk[*nkeys - 1]);
	if (ret == 0)
		ret = read_value(r, key);
out:
	free(name.s);
	return ret;
}

/* An object or an array (close is '}' or ']'); r->p is just past the opening bracket. */
static int read_container(struct jreader *r, const char *prefix, char close)
{
	char **keys = NULL, key[JSON_MAX_KEY];
	int nkeys = 0, ret = 0, idx = 0;

	if (++r->depth > JSON_MAX_DEPTH)
		return parse_error(r, "too many nested data structures");
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		goto out;
	}
	for (;;) {
		skip_ws(r);
		if (close == '}') {
			ret = read_member(r, prefix, &keys, &nkeys);
		} else {
			char num[24];
			snprintf(num, sizeof(num), "%d", idx++);
			ret = join_key(r, key, prefix, num);
			if (ret == 0)
				ret = read_value(r, key);
		}
		if (ret < 0)
			goto out;
		skip_ws(r);
		if (r->p >= r->end) {
			ret = premature(r);
			goto out;
		}
		char c = *r->p++;
		if (c == close)
			break;
		if (c != ',') {
			ret = parse_error(r, close == '}' ? "expected separator in dict"
							  : "expected separator in list");
			goto out;
		}
	}
out:
	for (int i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	r->depth--;
	return ret;
}

static int read_value(struct jreader *r, const char *key)
{
	struct jstr v = { 0 };
	int ret;

	skip_ws(r);
	if (r->p >= r->end)
		return premature(r);
	switch (*r->p) {
	case '{':
		r->p++;
		return read_container(r, key, '}');
	case '[':
		r->p++;
		return read_container(r, key, ']');
	case '"':
	case '\'':
		ret = read_string(r, &v);
		break;
	case ',': case '}': case ']': case ':':
		return parse_error(r, "expecting value");
	default:
		ret = read_word(r, &v);
	}
	if (ret == 0 && bc_opts_set(r->out, key, v.s ? v.s : "") < 0)
		ret = bc_err_set(r->err, -ENOMEM, "Out of memory");
	free(v.s);
	return ret;
}

int bc_json_flatten(const char *text, struct bc_opts *out, struct bc_err *err)
{
	struct jreader r = { .p = text, .end = text + strlen(text), .out = out, .err = err };
	int ret;

	skip_ws(&r);
	if (r.p >= r.end)
		return bc_err_set(err, -EINVAL, "Could not parse the JSON options: Expecting a JSON "
				  "value");
	if (*r.p != '{') {
		/* qemu parses the value first, then finds it is not an object */
		struct bc_opts *scratch = bc_opts_new();
		if (!scratch)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		r.out = scratch;
		ret = read_value(&r, "v");
		bc_opts_free(scratch);
		r.out = out;
		if (ret < 0)
			return ret;
		skip_ws(&r);
		if (r.p < r.end)
			return bc_err_set(err, -EINVAL, "Could not parse the JSON options: Expecting "
					  "at most one JSON value");
		return bc_err_set(err, -EINVAL, "Invalid JSON object given");
	}
	r.p++;
	ret = read_container(&r, "", '}');
	if (ret < 0)
		return ret;
	skip_ws(&r);
	if (r.p < r.end)
		return bc_err_set(err, -EINVAL, "Could not parse the JSON options: Expecting at most "
				  "one JSON value");
	return 0;
}
