/* json.c - JSON parser, stream splitter and writer for QMP (see json.h). */
#include "emulator/monitor/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parser ---- */

struct parser {
	const char *p, *end;
	char *err;
	size_t errlen;
	bool failed;
};

static int fail(struct parser *ps, const char *fmt, const char *arg)
{
	if (!ps->failed) {
		char msg[256];
		snprintf(msg, sizeof(msg), fmt, arg);
		snprintf(ps->err, ps->errlen, "JSON parse error, %s", msg);
		ps->failed = true;
	}
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct vm_json *new_value(enum vm_json_type t)
{
	struct vm_json *v = calloc(1, sizeof(*v));
	if (v)
		v->type = t;
	return v;
}

static int add_item(struct vm_json *c, char *key, struct vm_json *v)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct vm_json **items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		c->items = items;
		if (c->type == VM_JSON_OBJECT) {
			char **keys = realloc(c->keys, cap * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			c->keys = keys;
		}
		c->cap = cap;
	}
	if (c->type == VM_JSON_OBJECT)
		c->keys[c->n] = key;
	c->items[c->n++] = v;
	return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Decodes one UTF-8 sequence at s (len bytes left); returns its length or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c = s[0], min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
		return 0;
	*cp = c;
	return n;
}

static int hex4(const char *p, const char *end, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		if (p + i >= end)
			return -1;
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
		if (d == 16)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static int parse_escape(struct parser *ps, char *out, size_t *n)
{
	char c = *ps->p++;
	static const char from[] = "\"\\/bfnrt'", to[] = "\"\\/\b\f\n\r\t'";
	const char *k = c ? strchr(from, c) : NULL;
	if (k) {
		out[(*n)++] = to[k - from];
		return 0;
	}
	uint32_t cp, lo;
	if (c != 'u' || hex4(ps->p, ps->end, &cp))
		return fail(ps, "%sinvalid escape sequence in string", "");
	ps->p += 4;
	if (cp >= 0xd800 && cp < 0xdc00) {
		/* a high surrogate must be followed by its low half */
		if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, ps->end, &lo) ||
		    lo < 0xdc00 || lo >= 0xe000)
			return fail(ps, "%sinvalid \\u escape (unpaired surrogate)", "");
		ps->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		return fail(ps, "%sinvalid \\u escape (unpaired surrogate)", "");
	}
	if (cp == 0)
		return fail(ps, "%sinvalid \\u escape (null character)", "");
	put_utf8(out, n, cp);
	return 0;
}

static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
	char quote = *ps->p++;
	const char *start = ps->p;
	char *s = malloc((size_t)(ps->end - ps->p) + 1);
	size_t n = 0;
	if (!s)
		return -ENOMEM;
	for (;;) {
		if (ps->p >= ps->end) {
			free(s);
			return fail(ps, "%sexpecting value", "");
		}
		unsigned char c = (unsigned char)*ps->p;
		if (c == (unsigned char)quote) {
			ps->p++;
			break;
		}
		if (c < 0x20) {
			char tok[80];
			size_t k = (size_t)(ps->p - start) + 2 < sizeof(tok) ? (size_t)(ps->p - start) + 2 : sizeof(tok) - 1;
			memcpy(tok, start - 1, k);
			tok[k] = 0;
			free(s);
			return fail(ps, "stray '%s'", tok);
		}
		if (c == '\\') {
			ps->p++;
			if (ps->p >= ps->end || parse_escape(ps, s, &n)) {
				free(s);
				return fail(ps, "%sinvalid escape sequence in string", "");
			}
			continue;
		}
		uint32_t cp;
		size_t k = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &cp);
		if (!k) {
			free(s);
			return fail(ps, "%sinvalid UTF-8 sequence in string", "");
		}
		memcpy(s + n, ps->p, k);
		n += k;
		ps->p += k;
	}
	s[n] = 0;
	*out = s;
	*outlen = n;
	return 0;
}

static int parse_number(struct parser *ps, struct vm_json **out)
{
	const char *p = ps->p;
	bool is_float = false;
	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end || *p < '0' || *p > '9')
		return fail(ps, "%sexpecting value", "");
	if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
		return fail(ps, "%sexpecting value", "");
	while (p < ps->end && *p >= '0' && *p <= '9')
		p++;
	if (p < ps->end && *p == '.') {
		is_float = true;
		if (++p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "%sexpecting value", "");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		is_float = true;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "%sexpecting value", "");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	char tmp[400];
	size_t n = (size_t)(p - ps->p);
	if (n >= sizeof(tmp))
		return fail(ps, "%snumber too long", "");
	memcpy(tmp, ps->p, n);
	tmp[n] = 0;
	ps->p = p;
	struct vm_json *v = new_value(VM_JSON_INT);
	if (!v)
		return -ENOMEM;
	errno = 0;
	if (!is_float) {
		/* as QEMU: int64 when it fits, else uint64, else a double */
		long long ll = strtoll(tmp, NULL, 10);
		if (!errno) {
			v->i = ll;
			*out = v;
			return 0;
		}
		errno = 0;
		if (tmp[0] != '-') {
			unsigned long long ull = strtoull(tmp, NULL, 10);
			if (!errno) {
				v->type = VM_JSON_UINT;
				v->u = ull;
				*out = v;
				return 0;
			}
		}
	}
	v->type = VM_JSON_DOUBLE;
	v->d = strtod(tmp, NULL);
	*out = v;
	return 0;
}

static int parse_value(struct parser *ps, struct vm_json **out, int depth);

static int parse_container(struct parser *ps, struct vm_json *c, int depth)
{
	char close = c->type == VM_JSON_OBJECT ? '}' : ']';
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		skip_ws(ps);
		if (c->type == VM_JSON_OBJECT) {
			if (ps->p >= ps->end)
				return fail(ps, "%sexpecting value", "");
			if (*ps->p != '"' && *ps->p != '\'') {
				struct vm_json *tmp = NULL;
				if (parse_value(ps, &tmp, depth + 1) == 0)
					vm_json_free(tmp), fail(ps, "%skey is not a string in object", "");
				return -EINVAL;
			}
			if (parse_string(ps, &key, &klen))
				return -EINVAL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return fail(ps, "%smissing : in object pair", "");
			}
			ps->p++;
		}
		struct vm_json *v = NULL;
		if (parse_value(ps, &v, depth + 1) || add_item(c, key, v)) {
			free(key);
			vm_json_free(v);
			return -EINVAL;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		if (ps->p >= ps->end)
			return fail(ps, "%sexpecting value", "");
		return fail(ps, "%s", c->type == VM_JSON_OBJECT ? "expected separator in dict" : "expected separator in list");
	}
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int parse_keyword(struct parser *ps, struct vm_json **out)
{
	const char *s = ps->p;
	while (ps->p < ps->end && is_word_char(*ps->p))
		ps->p++;
	size_t n = (size_t)(ps->p - s);
	char word[64];
	snprintf(word, sizeof(word), "%.*s", (int)(n < 60 ? n : 60), s);
	struct vm_json *v = NULL;
	if (!strcmp(word, "true") || !strcmp(word, "false")) {
		v = new_value(VM_JSON_BOOL);
		if (v)
			v->b = word[0] == 't';
	} else if (!strcmp(word, "null")) {
		v = new_value(VM_JSON_NULL);
	} else if (n) {
		return fail(ps, "invalid keyword '%s'", word);
	} else {
		char stray[2] = { *s, 0 };
		return fail(ps, "stray '%s'", stray);
	}
	if (!v)
		return -ENOMEM;
	*out = v;
	return 0;
}

static int parse_value(struct parser *ps, struct vm_json **out, int depth)
{
	*out = NULL;
	if (depth > VM_JSON_MAX_DEPTH) {
		if (!ps->failed) /* QEMU's text has no "JSON parse error, " */
			snprintf(ps->err, ps->errlen, "JSON nesting depth limit exceeded");
		ps->failed = true;
		return -EINVAL;
	}
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "%sexpecting value", "");
	char c = *ps->p;
	if (c == '{' || c == '[') {
		struct vm_json *v = new_value(c == '{' ? VM_JSON_OBJECT : VM_JSON_ARRAY);
		if (!v)
			return -ENOMEM;
		if (parse_container(ps, v, depth)) {
			vm_json_free(v);
			return -EINVAL;
		}
		*out = v;
		return 0;
	}
	if (c == '"' || c == '\'') {
		struct vm_json *v = new_value(VM_JSON_STRING);
		if (!v)
			return -ENOMEM;
		if (parse_string(ps, &v->str, &v->len)) {
			free(v);
			return -EINVAL;
		}
		*out = v;
		return 0;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(ps, out);
	if (c == '}' || c == ']' || c == ',' || c == ':')
		return fail(ps, "%sexpecting value", "");
	return parse_keyword(ps, out);
}

int vm_json_parse(const char *text, size_t len, struct vm_json **out, char *err, size_t errlen)
{
	struct parser ps = { text, text + len, err, errlen, false };
	*out = NULL;
	struct vm_json *v = NULL;
	if (parse_value(&ps, &v, 0)) {
		if (!ps.failed)
			snprintf(err, errlen, "JSON parse error, out of memory");
		return -EINVAL;
	}
	skip_ws(&ps);
	if (ps.p != ps.end) {
		vm_json_free(v);
		fail(&ps, "%sexpecting value", "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

void vm_json_free(struct vm_json *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		vm_json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

struct vm_json *vm_json_get(const struct vm_json *obj, const char *key)
{
	if (!obj || obj->type != VM_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

const char *vm_json_type_name(enum vm_json_type t)
{
	static const char *const names[] = { "null", "boolean", "number", "number", "number", "string", "array", "object" };
	return names[t];
}

/* ---- stream splitter ---- */

static int stream_put(struct vm_json_stream *s, char c)
{
	if (s->len + 2 > s->cap) {
		if (s->cap >= VM_JSON_MAX_MESSAGE)
			return -E2BIG;
		size_t cap = s->cap ? s->cap * 2 : 256;
		char *b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	s->buf[s->len++] = c;
	s->buf[s->len] = 0;
	return 0;
}

int vm_json_stream_feed(struct vm_json_stream *s, char c, bool *again)
{
	*again = false;
	if (s->in_str) {
		if (stream_put(s, c))
			return -ENOMEM;
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == s->quote)
			s->in_str = false;
		else if ((unsigned char)c < 0x20)
			s->in_str = false; /* a control character ends the token: the parser reports it */
		return !s->in_str && s->depth == 0 ? 1 : 0;
	}
	bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
	bool structural = c == '{' || c == '[' || c == '}' || c == ']' || c == ',' || c == ':' || c == '"' || c == '\'';
	if (s->in_scalar && (ws || structural)) {
		s->in_scalar = false;
		if (s->depth == 0) {
			*again = true;
			return 1;
		}
	}
	if (ws && s->len == 0)
		return 0;
	if (stream_put(s, c))
		return -ENOMEM;
	if (c == '"' || c == '\'') {
		s->in_str = true;
		s->quote = c;
		return 0;
	}
	if (c == '{' || c == '[') {
		s->depth++;
		return 0;
	}
	if (c == '}' || c == ']') {
		s->depth--;
		return s->depth <= 0 ? 1 : 0;
	}
	if (ws || structural)
		return 0;
	if (s->depth == 0) {
		/* a top-level scalar: done at the next delimiter; stray characters at once */
		bool scalar = is_word_char(c) || c == '-' || c == '+' || c == '.';
		if (!scalar)
			return 1;
		s->in_scalar = true;
	}
	return 0;
}

void vm_json_stream_reset(struct vm_json_stream *s)
{
	s->len = 0;
	s->depth = 0;
	s->in_str = s->esc = s->in_scalar = false;
	if (s->buf)
		s->buf[0] = 0;
}

void vm_json_stream_free(struct vm_json_stream *s)
{
	free(s->buf);
	*s = (struct vm_json_stream){ 0 };
}

/* ---- writer ---- */

void vm_jw_raw(struct vm_jw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b) {
			w->oom = true;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void jw_puts(struct vm_jw *w, const char *s)
{
	vm_jw_raw(w, s, strlen(s));
}

void vm_jw_init(struct vm_jw *w, bool pretty)
{
	*w = (struct vm_jw){ .pretty = pretty };
}

void vm_jw_free(struct vm_jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static void pretty_newline(struct vm_jw *w)
{
	if (!w->pretty)
		return;
	jw_puts(w, "\n");
	for (int i = 0; i < w->depth; i++)
		jw_puts(w, "    ");
}

static void quoted(struct vm_jw *w, const char *s, size_t n)
{
	jw_puts(w, "\"");
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k = utf8_len((const unsigned char *)s + i, n - i, &cp);
		char esc[16];
		if (!k) {
			cp = 0xfffd; /* invalid UTF-8: QEMU prints the replacement character */
			k = 1;
		}
		i += k;
		if (c == '"')
			jw_puts(w, "\\\"");
		else if (c == '\\')
			jw_puts(w, "\\\\");
		else if (cp == '\b')
			jw_puts(w, "\\b");
		else if (cp == '\f')
			jw_puts(w, "\\f");
		else if (cp == '\n')
			jw_puts(w, "\\n");
		else if (cp == '\r')
			jw_puts(w, "\\r");
		else if (cp == '\t')
			jw_puts(w, "\\t");
		else if (cp >= 0x20 && cp < 0x7f)
			vm_jw_raw(w, (const char *)&c, 1);
		else if (cp > 0xffff) {
			cp -= 0x10000;
			snprintf(esc, sizeof(esc), "\\u%04X\\u%04X", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
			jw_puts(w, esc);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04X", cp);
			jw_puts(w, esc);
		}
	}
	jw_puts(w, "\"");
}

/* The comma, the indent and the member name before any value. */
static void before_value(struct vm_jw *w, const char *key)
{
	if (w->need_comma) {
		jw_puts(w, ",");
		if (w->pretty)
			pretty_newline(w);
		else
			jw_puts(w, " ");
	} else if (w->len) {
		pretty_newline(w);
	}
	w->need_comma = true;
	if (key) {
		quoted(w, key, strlen(key));
		jw_puts(w, ": ");
	}
}

static void start(struct vm_jw *w, const char *key, const char *open)
{
	before_value(w, key);
	jw_puts(w, open);
	w->depth++;
	w->need_comma = false;
}

static void end(struct vm_jw *w, const char *close)
{
	w->depth--;
	pretty_newline(w);
	jw_puts(w, close);
	w->need_comma = true;
}

void vm_jw_obj(struct vm_jw *w, const char *key) { start(w, key, "{"); }
void vm_jw_obj_end(struct vm_jw *w) { end(w, "}"); }
void vm_jw_arr(struct vm_jw *w, const char *key) { start(w, key, "["); }
void vm_jw_arr_end(struct vm_jw *w) { end(w, "]"); }

void vm_jw_strn(struct vm_jw *w, const char *key, const char *s, size_t n)
{
	before_value(w, key);
	quoted(w, s, n);
}

void vm_jw_str(struct vm_jw *w, const char *key, const char *s)
{
	vm_jw_strn(w, key, s, strlen(s));
}

void vm_jw_int(struct vm_jw *w, const char *key, int64_t v)
{
	char b[32];
	before_value(w, key);
	snprintf(b, sizeof(b), "%lld", (long long)v);
	jw_puts(w, b);
}

void vm_jw_uint(struct vm_jw *w, const char *key, uint64_t v)
{
	char b[32];
	before_value(w, key);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	jw_puts(w, b);
}

void vm_jw_bool(struct vm_jw *w, const char *key, bool v)
{
	before_value(w, key);
	jw_puts(w, v ? "true" : "false");
}

void vm_jw_null(struct vm_jw *w, const char *key)
{
	before_value(w, key);
	jw_puts(w, "null");
}

static void jw_double(struct vm_jw *w, const char *key, double d)
{
	char b[64];
	before_value(w, key);
	if (isfinite(d))
		snprintf(b, sizeof(b), "%.17g", d);
	else
		snprintf(b, sizeof(b), "null");
	jw_puts(w, b);
}

void vm_jw_value(struct vm_jw *w, const char *key, const struct vm_json *v)
{
	switch (v->type) {
	case VM_JSON_NULL: vm_jw_null(w, key); break;
	case VM_JSON_BOOL: vm_jw_bool(w, key, v->b); break;
	case VM_JSON_INT: vm_jw_int(w, key, v->i); break;
	case VM_JSON_UINT: vm_jw_uint(w, key, v->u); break;
	case VM_JSON_DOUBLE: jw_double(w, key, v->d); break;
	case VM_JSON_STRING: vm_jw_strn(w, key, v->str, v->len); break;
	case VM_JSON_ARRAY:
	case VM_JSON_OBJECT:
		start(w, key, v->type == VM_JSON_ARRAY ? "[" : "{");
		for (size_t i = 0; i < v->n; i++)
			vm_jw_value(w, v->keys && v->type == VM_JSON_OBJECT ? v->keys[i] : NULL, v->items[i]);
		end(w, v->type == VM_JSON_ARRAY ? "]" : "}");
		break;
	}
}
