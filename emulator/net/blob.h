/* blob.h - a growable byte buffer and a reader over one: the net module's savevm state is one
 * opaque blob (little-endian fields) that the machine's stream carries, so net/ needs no
 * machine/ header. Writers set `bad` on allocation failure, readers on running past the end. */
#ifndef STRATA_EMULATOR_NET_BLOB_H
#define STRATA_EMULATOR_NET_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_net_blob {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

struct vm_net_reader {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

void vm_net_blob_put(struct vm_net_blob *b, const void *p, size_t n);
void vm_net_blob_u32(struct vm_net_blob *b, uint32_t v);
void vm_net_blob_u64(struct vm_net_blob *b, uint64_t v);
void vm_net_blob_free(struct vm_net_blob *b);
/* n bytes at the cursor (NULL and bad when fewer are left) */
const uint8_t *vm_net_read(struct vm_net_reader *r, size_t n);
uint32_t vm_net_read_u32(struct vm_net_reader *r);
uint64_t vm_net_read_u64(struct vm_net_reader *r);

#endif
