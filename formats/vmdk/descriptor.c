/*
 * descriptor.c — the VMDK text descriptor.
 *
 * Parsing is tolerant in the way VMware's own tools are: blank lines and '#' comments are
 * skipped, "key = value" and key=value are both accepted, values may be quoted, CR-LF line
 * ends are fine and unknown keys are ignored (the raw text is kept by the driver, so
 * rewriting the CID never loses them). Extent lines are "ACCESS SECTORS TYPE "file" [offset]".
 * Writing produces exactly the text qemu-img 7.2 writes.
 */
#include "vmdk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PFX(name) (name) ? (name) : "", (name) ? ": " : ""

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* Parses an unsigned decimal number (no sign, no junk after it inside [s, end)). */
static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (s >= end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool parse_hex32(const char *s, const char *end, uint32_t *out)
{
	uint64_t v = 0;

	if (s >= end || end - s > 8)
		return false;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = (uint32_t)v;
	return true;
}

/* Next whitespace-separated token of [*p, end): returns its start, sets *tend. */
static const char *token(const char **p, const char *end, const char **tend)
{
	const char *s = *p;

	while (s < end && is_space(*s))
		s++;
	if (s == end)
		return NULL;
	const char *t = s;
	while (t < end && !is_space(*t))
		t++;
	*tend = t;
	*p = t;
	return s;
}

static bool is_extent_line(const char *s, const char *end)
{
	static const char *const acc[] = { "RW ", "RDONLY ", "NOACCESS ", "RW\t", "RDONLY\t",
					   "NOACCESS\t" };

	for (size_t i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
		size_t n = strlen(acc[i]);
		if ((size_t)(end - s) >= n && !memcmp(s, acc[i], n))
			return true;
	}
	return false;
}

static int parse_extent(const char *s, const char *end, struct vmdk_desc_extent *x)
{
	const char *p = s, *te, *t;
	uint64_t v;

	memset(x, 0, sizeof(*x));
	t = token(&p, end, &te);
	if (!t || (size_t)(te - t) >= sizeof(x->access))
		return -EINVAL;
	memcpy(x->access, t, (size_t)(te - t));
	t = token(&p, end, &te);
	if (!t || !parse_u64(t, te, &v) || v > VMDK_MAX_SECTORS)
		return -EINVAL;
	x->sectors = v;
	t = token(&p, end, &te);
	if (!t || (size_t)(te - t) >= sizeof(x->type))
		return -EINVAL;
	memcpy(x->type, t, (size_t)(te - t));
	static const char *const types[] = { "FLAT", "SPARSE", "ZERO", "VMFS", "VMFSSPARSE",
					     "SESPARSE", "VMFSRDM", "VMFSRAW" };
	bool known = false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		known = known || !strcmp(x->type, types[i]);
	if (!known)
		return -EINVAL;
	if (!strcmp(x->type, "ZERO"))
		return 0;
	/* "file name" in double quotes; it may contain spaces */
	while (p < end && is_space(*p))
		p++;
	if (p == end || *p != '"')
		return -EINVAL;
	const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
	if (!q || q == p + 1)
		return -EINVAL;
	x->filename = dup_range(p + 1, (size_t)(q - p - 1));
	if (!x->filename)
		return -ENOMEM;
	if (memchr(x->filename, 0, (size_t)(q - p - 1)))
		return -EINVAL;
	p = q + 1;
	t = token(&p, end, &te);
	if (t) {
		if (!parse_u64(t, te, &v) || v > VMDK_MAX_SECTORS)
			return -EINVAL;
		x->offset = v;
		if (token(&p, end, &te))
			return -EINVAL;
	}
	/* as qemu: a FLAT extent names its offset, every other kind (VMFS too) must not */
	if ((t != NULL) != !strcmp(x->type, "FLAT"))
		return -EINVAL;
	return 0;
}

/* "key = value" / key="value": sets key and value ranges; false when not such a line. */
static bool split_kv(const char *s, const char *end, const char **k, const char **kend,
		     const char **v, const char **vend)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));

	if (!eq)
		return false;
	*k = s;
	*kend = eq;
	while (*kend > s && is_space((*kend)[-1]))
		(*kend)--;
	if (*kend == s)
		return false;
	*v = eq + 1;
	*vend = end;
	while (*v < *vend && is_space(**v))
		(*v)++;
	while (*vend > *v && is_space((*vend)[-1]))
		(*vend)--;
	if (*vend - *v >= 2 && **v == '"' && (*vend)[-1] == '"') {
		(*v)++;
		(*vend)--;
	}
	return true;
}

static bool key_is(const char *k, const char *kend, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(kend - k) == n && !memcmp(k, name, n);
}

static int set_str(char **dst, const char *v, const char *vend)
{
	free(*dst);
	*dst = dup_range(v, (size_t)(vend - v));
	return *dst ? 0 : -ENOMEM;
}

static int handle_kv(struct vmdk_desc *d, const char *k, const char *kend, const char *v,
		     const char *vend)
{
	uint64_t n;

	if (key_is(k, kend, "version")) {
		if (!parse_u64(v, vend, &n) || n > 0xffffffffu)
			return -EINVAL;
		d->version = (uint32_t)n;
	} else if (key_is(k, kend, "CID")) {
		d->has_cid = parse_hex32(v, vend, &d->cid);
	} else if (key_is(k, kend, "parentCID")) {
		d->has_parent_cid = parse_hex32(v, vend, &d->parent_cid);
	} else if (key_is(k, kend, "createType")) {
		return set_str(&d->create_type, v, vend);
	} else if (key_is(k, kend, "parentFileNameHint")) {
		return set_str(&d->parent_hint, v, vend);
	} else if (key_is(k, kend, "ddb.adapterType")) {
		return set_str(&d->adapter_type, v, vend);
	}
	return 0;   /* unknown keys are kept in the raw text only */
}

int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d, const char *name,
		    struct bc_err *err)
{
	const char *nul = memchr(text, 0, len);
	const char *end = nul ? nul : text + len;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	for (const char *line = text; line < end;) {
		const char *le = memchr(line, '\n', (size_t)(end - line));
		const char *next = le ? le + 1 : end;
		const char *s = line;
		const char *k, *kend, *v, *vend;

		if (!le)
			le = end;
		line = next;
		while (s < le && is_space(*s))
			s++;
		while (le > s && is_space(le[-1]))
			le--;
		if (s == le || *s == '#')
			continue;
		if (is_extent_line(s, le)) {
			struct vmdk_desc_extent *x;

			if (d->nextents >= VMDK_MAX_EXTENTS) {
				ret = bc_err_set(err, -EINVAL, "%s%stoo many extents", PFX(name));
				goto fail;
			}
			x = realloc(d->extents, sizeof(*x) * (size_t)(d->nextents + 1));
			if (!x) {
				ret = bc_err_set(err, -ENOMEM, "Out of memory");
				goto fail;
			}
			d->extents = x;
			ret = parse_extent(s, le, &x[d->nextents]);
			d->nextents++;
			if (ret < 0) {
				int l = (int)(le - s > 200 ? 200 : le - s);
				ret = bc_err_set(err, ret == -ENOMEM ? -ENOMEM : -EINVAL,
						 "Invalid extent line: %.*s", l, s);
				goto fail;
			}
			continue;
		}
		if (!split_kv(s, le, &k, &kend, &v, &vend))
			continue;            /* tolerated: not a key, not an extent */
		ret = handle_kv(d, k, kend, v, vend);
		if (ret < 0) {
			ret = bc_err_set(err, ret, "%s%sinvalid descriptor value for '%.*s'", PFX(name),
					 (int)(kend - k > 64 ? 64 : kend - k), k);
			goto fail;
		}
	}
	/* qemu finds the CID by searching "CID": without a CID line it reads parentCID's */
	if (!d->has_cid && d->has_parent_cid)
		d->cid = d->parent_cid;
	(void)name;
	return 0;
fail:
	vmdk_desc_free(d);
	return ret;
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	for (int i = 0; i < d->nextents; i++)
		free(d->extents[i].filename);
	free(d->extents);
	free(d->create_type);
	free(d->parent_hint);
	free(d->adapter_type);
	memset(d, 0, sizeof(*d));
}

char *vmdk_desc_set_cid(const char *text, size_t len, uint32_t cid, size_t *out_len)
{
	const char *nul = memchr(text, 0, len);
	size_t n = nul ? (size_t)(nul - text) : len;
	char hex[16];
	int hl = snprintf(hex, sizeof(hex), "%x", cid);

	for (size_t i = 0; i < n;) {
		const char *le = memchr(text + i, '\n', n - i);
		size_t lend = le ? (size_t)(le - text) : n;
		size_t s = i;

		while (s < lend && is_space(text[s]))
			s++;
		if (lend - s >= 3 && !memcmp(text + s, "CID", 3)) {
			size_t p = s + 3;
			while (p < lend && is_space(text[p]))
				p++;
			if (p < lend && text[p] == '=') {
				p++;
				while (p < lend && is_space(text[p]))
					p++;
				size_t ve = p;
				while (ve < lend && !is_space(text[ve]))
					ve++;
				char *out = malloc(n - (ve - p) + (size_t)hl + 1);
				if (!out)
					return NULL;
				memcpy(out, text, p);
				memcpy(out + p, hex, (size_t)hl);
				memcpy(out + p + (size_t)hl, text + ve, n - ve);
				*out_len = n - (ve - p) + (size_t)hl;
				out[*out_len] = 0;
				return out;
			}
		}
		i = lend + 1;
	}
	return NULL;
}

char *vmdk_desc_format(const struct vmdk_desc_params *p)
{
	unsigned heads = strcmp(p->adapter_type, "ide") ? 255 : 16;
	uint64_t cyl = p->total_sectors / (heads * 63u);
	char parent[4200] = "";
	char *out = NULL;

	if (cyl > 16383)
		cyl = 16383;
	if (p->parent_hint)
		snprintf(parent, sizeof(parent), "parentFileNameHint=\"%s\"", p->parent_hint);
	if (asprintf(&out,
		     "# Disk DescriptorFile\n"
		     "version=1\n"
		     "CID=%x\n"
		     "parentCID=%x\n"
		     "createType=\"%s\"\n"
		     "%s\n"
		     "# Extent description\n"
		     "%s\n"
		     "# The Disk Data Base\n"
		     "#DDB\n"
		     "\n"
		     "ddb.virtualHWVersion = \"%s\"\n"
		     "ddb.geometry.cylinders = \"%llu\"\n"
		     "ddb.geometry.heads = \"%u\"\n"
		     "ddb.geometry.sectors = \"63\"\n"
		     "ddb.adapterType = \"%s\"\n"
		     "ddb.toolsVersion = \"%s\"\n",
		     p->cid, p->parent_cid, p->create_type, parent, p->extent_lines, p->hwversion,
		     (unsigned long long)cyl, heads, p->adapter_type, p->toolsversion) < 0)
		return NULL;
	return out;
}
