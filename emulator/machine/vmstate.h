/* vmstate.h - the machine's state as one versioned, sectioned byte stream (savevm/loadvm).
 *
 * Stream (all integers little-endian):
 *   header   "STRATAVM" (8), format version (u32), header length (u32), then the machine
 *            fingerprint: board name, RAM size, harts, disks, device list (name and type of
 *            each, in board order). A stream of another fingerprint is refused.
 *   sections tag 'S' (u8), name (u16 length + bytes), section version (u32), length (u32),
 *            payload; one per device of the device list, plus "cpu0", "clock" and "ram".
 *   end      tag 'E' (u8), checksum of every byte before it (u32): CRC-32C from format 2
 *            (hardware-assisted), zlib's CRC-32 in format 1 (still read).
 * RAM ("ram" section): runs of non-zero 4 KiB pages as records: first page (u64), pages (u32),
 * encoding (u8: 0 raw, 1 zstd), data length (u32), data; a record of 0 pages ends it. Zero
 * pages are not stored.
 *
 * Loading checks the whole stream (version, CRC, fingerprint, every section's framing and
 * version, every RAM record) before it changes anything; a device that rejects its section
 * leaves the machine exactly as it was (the board's state is put back). */
#ifndef STRATA_EMULATOR_MACHINE_VMSTATE_H
#define STRATA_EMULATOR_MACHINE_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_STATE_MAGIC "STRATAVM"
#define VM_STATE_FORMAT 2 /* the newest stream format this build reads and the one it writes */

/* A section being written (growable buffer) or read (bounded cursor). A read past the end
 * sets `bad` and returns zeros, so a load hook checks vm_state_ok() once at its end. */
struct vm_state {
	uint8_t *buf;
	size_t len, cap;
	const uint8_t *rd;
	size_t rd_len, pos;
	bool bad; /* read: ran past the end; write: out of memory */
};

void vm_state_put_u8(struct vm_state *s, uint8_t v);
void vm_state_put_u16(struct vm_state *s, uint16_t v);
void vm_state_put_u32(struct vm_state *s, uint32_t v);
void vm_state_put_u64(struct vm_state *s, uint64_t v);
void vm_state_put_bool(struct vm_state *s, bool v);
void vm_state_put_bytes(struct vm_state *s, const void *p, size_t n);
void vm_state_put_str(struct vm_state *s, const char *str);
uint8_t vm_state_get_u8(struct vm_state *s);
uint16_t vm_state_get_u16(struct vm_state *s);
uint32_t vm_state_get_u32(struct vm_state *s);
uint64_t vm_state_get_u64(struct vm_state *s);
bool vm_state_get_bool(struct vm_state *s);
void vm_state_get_bytes(struct vm_state *s, void *p, size_t n);
/* true when every byte asked for was there and the section was read exactly to its end */
bool vm_state_done(const struct vm_state *s);

struct vm_virt;

/* Writes the whole machine (stopped) into a new buffer *out of *len bytes. 0 or -errno. */
int vm_state_save(struct vm_virt *vm, uint8_t **out, size_t *len, char *err, size_t errlen);
/* Checks the whole stream as vm_state_load would (devices included: their sections are tried
 * and the board put back), changing nothing. 0, or -errno with a message. */
int vm_state_check(struct vm_virt *vm, const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Checks the whole stream, then loads it. 0, or -errno with the machine unchanged and a
 * message in err. */
int vm_state_load(struct vm_virt *vm, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* The same on a stream read piecewise (a snapshot's VM state in the image): it is read in
 * 1 MiB pieces into one reused buffer and raw RAM straight into guest RAM, never held whole
 * (a fresh 20 MiB buffer cost more in page faults than the rest of a loadvm). `read` returns
 * 0 or -errno. A load of a stream vm_state_check_src accepted (`checked`) skips the CRC pass. */
struct vm_state_src {
	int (*read)(void *opaque, uint64_t off, void *buf, size_t len);
	void *opaque;
	uint64_t len;
};
int vm_state_check_src(struct vm_virt *vm, const struct vm_state_src *src, char *err, size_t errlen);
int vm_state_load_src(struct vm_virt *vm, const struct vm_state_src *src, bool checked, char *err, size_t errlen);

#endif
