/* fdt.c - see fdt.h. Devicetree specification v0.4, version 17 blobs. Errors (allocation)
 * are sticky and reported once by vm_fdt_finish. */
#include "emulator/machine/fdt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_END 9u

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void *grow(struct vm_fdt *f, uint8_t **buf, size_t *len, size_t *cap, size_t n)
{
	if (f->err)
		return NULL;
	if (*len + n > *cap) {
		size_t nc = (*cap ? *cap * 2 : 4096) + n;
		uint8_t *nb = realloc(*buf, nc);
		if (!nb) {
			f->err = -ENOMEM;
			return NULL;
		}
		*buf = nb;
		*cap = nc;
	}
	void *p = *buf + *len;
	memset(p, 0, n);
	*len += n;
	return p;
}

static void st_u32(struct vm_fdt *f, uint32_t v)
{
	uint8_t *p = grow(f, &f->st, &f->st_len, &f->st_cap, 4);
	if (p)
		put_be32(p, v);
}

static void st_bytes(struct vm_fdt *f, const void *d, size_t n)
{
	uint8_t *p = grow(f, &f->st, &f->st_len, &f->st_cap, (n + 3) & ~(size_t)3); /* zero padded */
	if (p)
		memcpy(p, d, n);
}

static uint32_t string_off(struct vm_fdt *f, const char *name)
{
	size_t n = strlen(name) + 1;
	for (size_t off = 0; off < f->str_len; off += strlen((char *)f->str + off) + 1)
		if (!strcmp((char *)f->str + off, name))
			return (uint32_t)off;
	size_t off = f->str_len;
	uint8_t *p = grow(f, &f->str, &f->str_len, &f->str_cap, n);
	if (p)
		memcpy(p, name, n);
	return (uint32_t)off;
}

void vm_fdt_init(struct vm_fdt *f)
{
	memset(f, 0, sizeof(*f));
}

void vm_fdt_begin(struct vm_fdt *f, const char *name)
{
	st_u32(f, FDT_BEGIN_NODE);
	st_bytes(f, name, strlen(name) + 1);
}

void vm_fdt_end(struct vm_fdt *f)
{
	st_u32(f, FDT_END_NODE);
}

void vm_fdt_prop(struct vm_fdt *f, const char *name, const void *val, size_t len)
{
	st_u32(f, FDT_PROP);
	st_u32(f, (uint32_t)len);
	st_u32(f, string_off(f, name));
	if (len)
		st_bytes(f, val, len);
}

void vm_fdt_prop_str(struct vm_fdt *f, const char *name, const char *s)
{
	vm_fdt_prop(f, name, s, strlen(s) + 1);
}

void vm_fdt_prop_cells(struct vm_fdt *f, const char *name, const uint32_t *cells, size_t n)
{
	uint8_t buf[256];
	if (n > sizeof(buf) / 4) {
		f->err = -EINVAL;
		return;
	}
	for (size_t i = 0; i < n; i++)
		put_be32(buf + 4 * i, cells[i]);
	vm_fdt_prop(f, name, buf, 4 * n);
}

void vm_fdt_prop_u32(struct vm_fdt *f, const char *name, uint32_t v)
{
	vm_fdt_prop_cells(f, name, &v, 1);
}

int vm_fdt_finish(struct vm_fdt *f, uint8_t **out, size_t *len)
{
	st_u32(f, FDT_END);
	int rc = f->err;
	if (!rc) {
		size_t hdr = 40, rsv = 16;
		size_t total = hdr + rsv + f->st_len + f->str_len;
		uint8_t *b = calloc(1, total);
		if (!b) {
			rc = -ENOMEM;
		} else {
			put_be32(b + 0, FDT_MAGIC);
			put_be32(b + 4, (uint32_t)total);
			put_be32(b + 8, (uint32_t)(hdr + rsv));                 /* off_dt_struct */
			put_be32(b + 12, (uint32_t)(hdr + rsv + f->st_len));     /* off_dt_strings */
			put_be32(b + 16, (uint32_t)hdr);                         /* off_mem_rsvmap */
			put_be32(b + 20, 17);                                    /* version */
			put_be32(b + 24, 16);                                    /* last compatible */
			put_be32(b + 28, 0);                                     /* boot cpu */
			put_be32(b + 32, (uint32_t)f->str_len);
			put_be32(b + 36, (uint32_t)f->st_len);
			memcpy(b + hdr + rsv, f->st, f->st_len);
			memcpy(b + hdr + rsv + f->st_len, f->str, f->str_len);
			*out = b;
			*len = total;
		}
	}
	free(f->st);
	free(f->str);
	memset(f, 0, sizeof(*f));
	return rc;
}
