/* Option lists ("-o k=v,k2=v2"), sizes with qemu's suffixes, and qemu's human size strings. */
#include "bc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bc_opt {
	char *key, *value;
	struct bc_opt *next;
};

struct bc_opts {
	struct bc_opt *head, *tail;
	bool help;
};

struct bc_opts *bc_opts_new(void)
{
	return calloc(1, sizeof(struct bc_opts));
}

void bc_opts_free(struct bc_opts *o)
{
	if (!o)
		return;
	for (struct bc_opt *p = o->head, *n; p; p = n) {
		n = p->next;
		free(p->key);
		free(p->value);
		free(p);
	}
	free(o);
}

static struct bc_opt *opts_find(const struct bc_opts *o, const char *key)
{
	for (struct bc_opt *p = o->head; p; p = p->next)
		if (!strcmp(p->key, key))
			return p;
	return NULL;
}

int bc_opts_set(struct bc_opts *o, const char *key, const char *value)
{
	struct bc_opt *p = opts_find(o, key);
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	if (p) {
		free(p->value);
		p->value = v;
		return 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->key = strdup(key))) {
		free(p);
		free(v);
		return -ENOMEM;
	}
	p->value = v;
	if (o->tail)
		o->tail->next = p;
	else
		o->head = p;
	o->tail = p;
	return 0;
}

const char *bc_opts_get(const struct bc_opts *o, const char *key)
{
	struct bc_opt *p = o ? opts_find(o, key) : NULL;
	return p ? p->value : NULL;
}

bool bc_opts_entry(const struct bc_opts *o, int idx, const char **key, const char **value)
{
	struct bc_opt *p = o ? o->head : NULL;

	while (p && idx-- > 0)
		p = p->next;
	if (!p)
		return false;
	*key = p->key;
	*value = p->value;
	return true;
}

bool bc_opts_help_requested(const struct bc_opts *o)
{
	return o && o->help;
}

/* Copies one ",,"-escaped item from *sp into out, advancing past the separating comma. */
static int opts_next_item(const char **sp, char *out, size_t outlen)
{
	const char *s = *sp;
	size_t n = 0;

	while (*s) {
		if (*s == ',') {
			if (s[1] != ',')
				break;
			s++;
		}
		if (n + 1 >= outlen)
			return -ENAMETOOLONG;
		out[n++] = *s++;
	}
	out[n] = 0;
	*sp = *s ? s + 1 : s;
	return 0;
}

int bc_opts_parse(struct bc_opts *o, const char *text, struct bc_err *err)
{
	char item[4096];
	const char *s = text;

	while (*s) {
		if (opts_next_item(&s, item, sizeof(item)) < 0)
			return bc_err_set(err, -EINVAL, "Option string too long");
		if (!item[0])
			continue;
		if (!strcmp(item, "help") || !strcmp(item, "?")) {
			o->help = true;
			continue;
		}
		char *eq = strchr(item, '=');
		if (!eq) {
			/* qemu reads a bare "key" as "key=on" */
			if (bc_opts_set(o, item, "on") < 0)
				return bc_err_set(err, -ENOMEM, "Out of memory");
			continue;
		}
		*eq = 0;
		if (bc_opts_set(o, item, eq + 1) < 0)
			return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

static const char size_help[] =
	"Parameter '%s' expects a non-negative number below 2^64\n"
	"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
	"and exabytes, respectively.";

int bc_opts_get_bool(const struct bc_opts *o, const char *key, bool dflt, bool *out,
		     struct bc_err *err)
{
	const char *v = bc_opts_get(o, key);

	*out = dflt;
	if (!v)
		return -ENOENT;
	if (parse_bool(v, out) < 0)
		return bc_err_set(err, -EINVAL, "Parameter '%s' expects 'on' or 'off'", key);
	return 0;
}

int bc_opts_get_u64(const struct bc_opts *o, const char *key, uint64_t dflt, uint64_t *out,
		    struct bc_err *err)
{
	const char *v = bc_opts_get(o, key);

	*out = dflt;
	if (!v)
		return -ENOENT;
	if (parse_u64(v, out) < 0)
		return bc_err_set(err, -EINVAL, "Parameter '%s' expects a number", key);
	return 0;
}

int bc_opts_get_size(const struct bc_opts *o, const char *key, uint64_t dflt, uint64_t *out,
		     struct bc_err *err)
{
	const char *v = bc_opts_get(o, key);

	*out = dflt;
	if (!v)
		return -ENOENT;
	if (bc_parse_size(v, out) < 0)
		return bc_err_set(err, -EINVAL, size_help, key);
	return 0;
}

static const struct bc_opt_desc *desc_find(const struct bc_opt_desc *desc, const char *key)
{
	for (; desc && desc->name; desc++)
		if (!strcmp(desc->name, key))
			return desc;
	return NULL;
}

int bc_opts_validate(const struct bc_opts *o, const struct bc_opt_desc *desc, struct bc_err *err)
{
	for (struct bc_opt *p = o->head; p; p = p->next) {
		const struct bc_opt_desc *d = desc_find(desc, p->key);
		bool b;
		uint64_t u;
		int ret = 0;

		if (!d)
			return bc_err_set(err, -EINVAL, "Invalid parameter '%s'", p->key);
		switch (d->type) {
		case BC_OPT_BOOL:
			ret = bc_opts_get_bool(o, p->key, false, &b, err);
			break;
		case BC_OPT_NUMBER:
			ret = bc_opts_get_u64(o, p->key, 0, &u, err);
			break;
		case BC_OPT_SIZE:
			ret = bc_opts_get_size(o, p->key, 0, &u, err);
			break;
		case BC_OPT_STRING:
			break;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

char *bc_opts_render(const struct bc_opts *o, const struct bc_opt_desc *desc)
{
	size_t cap = 256, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = 0;
	for (; desc && desc->name; desc++) {
		const char *v = bc_opts_get(o, desc->name);
		uint64_t sz;

		if (!v)
			v = desc->def;
		if (!v)
			continue;
		char num[32];
		/* sizes print as plain byte counts, as qemu-img does */
		if (desc->type == BC_OPT_SIZE && bc_parse_size(v, &sz) == 0) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)sz);
			v = num;
		}
		/* qemu prints a comma in a value doubled, as -o takes it (json: backing names) */
		size_t need = strlen(desc->name) + 2 * strlen(v) + 3;
		if (len + need >= cap) {
			cap = (len + need) * 2;
			char *n = realloc(out, cap);
			if (!n) {
				free(out);
				return NULL;
			}
			out = n;
		}
		len += (size_t)sprintf(out + len, "%s%s=", len ? " " : "", desc->name);
		for (; *v; v++) {
			if (*v == ',')
				out[len++] = ',';
			out[len++] = *v;
		}
		out[len] = 0;
	}
	return out;
}

/* qemu_strtosz semantics: decimal (optionally with a fraction) or 0x hex, then one optional
 * suffix b/k/M/G/T/P/E (any case); a fraction needs a suffix larger than bytes. */
int bc_parse_size(const char *text, uint64_t *out)
{
	static const char units[] = "bkmgtpe";
	const char *s = text;
	char *end;
	int shift = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-' || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		errno = 0;
		unsigned long long v = strtoull(s, &end, 16);
		if (errno || end == s + 2)
			return errno == ERANGE ? -ERANGE : -EINVAL;
		if (*end)
			return -EINVAL;
		if (v > INT64_MAX)
			return -ERANGE;
		*out = v;
		return 0;
	}
	errno = 0;
	unsigned long long ip = strtoull(s, &end, 10);
	if (end == s || errno)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	double frac = 0;
	bool has_frac = false;
	if (*end == '.') {
		/* qemu takes "1024.0", "512.b", "1.5k"; a part of a byte ("1024.5") it refuses */
		double scale = 0.1;
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			frac += (*end - '0') * scale;
		has_frac = frac != 0;
	}
	if (*end) {
		const char *u = strchr(units, (char)(*end | 0x20));
		if (!u || !*u)
			return -EINVAL;
		shift = (int)(u - units) * 10;
		end++;
	}
	if (*end)
		return -EINVAL;
	if (has_frac && shift == 0)
		return -EINVAL;
	if (shift && ip > (UINT64_MAX >> shift))
		return -ERANGE;
	uint64_t v = (uint64_t)ip << shift;
	if (has_frac) {
		double extra = frac * (double)(1ULL << shift);
		if ((double)v + extra > 9223372036854775807.0)
			return -ERANGE;
		v += (uint64_t)extra;
	}
	if (v > INT64_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *bc_size_to_str(uint64_t bytes, char *buf, size_t buflen)
{
	static const char *const prefix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int exp;

	/* Scale so that an integer part of 1000..1023 already moves to the next unit. */
	frexp((double)bytes / (1000.0 / 1024.0), &exp);
	int unit = exp > 0 ? (exp - 1) / 10 : 0;
	if (unit > 6)
		unit = 6;
	snprintf(buf, buflen, "%0.3g %sB", (double)bytes / (double)(1ULL << (unit * 10)),
		 prefix[unit]);
	return buf;
}

int bc_parse_prealloc(const char *s, enum bc_prealloc *out)
{
	static const char *const names[] = { "off", "metadata", "falloc", "full" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum bc_prealloc)i;
			return 0;
		}
	}
	return -EINVAL;
}
