/* blob.c - see blob.h. */
#include "emulator/net/blob.h"

#include <stdlib.h>
#include <string.h>

void vm_net_blob_put(struct vm_net_blob *b, const void *p, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q) {
			b->bad = true;
			return;
		}
		b->p = q, b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void vm_net_blob_u32(struct vm_net_blob *b, uint32_t v)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	vm_net_blob_put(b, x, 4);
}

void vm_net_blob_u64(struct vm_net_blob *b, uint64_t v)
{
	vm_net_blob_u32(b, (uint32_t)v);
	vm_net_blob_u32(b, (uint32_t)(v >> 32));
}

void vm_net_blob_free(struct vm_net_blob *b)
{
	free(b->p);
	*b = (struct vm_net_blob){ 0 };
}

const uint8_t *vm_net_read(struct vm_net_reader *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint32_t vm_net_read_u32(struct vm_net_reader *r)
{
	const uint8_t *p = vm_net_read(r, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}

uint64_t vm_net_read_u64(struct vm_net_reader *r)
{
	uint64_t lo = vm_net_read_u32(r);
	return lo | (uint64_t)vm_net_read_u32(r) << 32;
}
