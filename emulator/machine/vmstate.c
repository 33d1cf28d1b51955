/* vmstate.c - the state stream (format in vmstate.h): primitives, the writer, and the loader
 * that checks everything before it changes anything. */
#include "emulator/host/err.h"
#include "emulator/machine/vmstate.h"
#include "emulator/machine/crc32c.h"
#include "emulator/machine/virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

#define PAGE 4096u
#define RUN_PAGES 256u /* pages per RAM record (1 MiB): the unit of compression */
#define CPU_STATE_MAX 2048u
#define TAG_SECTION 'S'
#define TAG_END 'E'
#define ENC_RAW 0
#define ENC_ZSTD 1

/* The stream's checksum: zlib's CRC-32 in format 1, CRC-32C (hardware on x86) from format 2. */
static uint32_t stream_crc(uint32_t format, uint32_t crc, const uint8_t *p, size_t n)
{
	return format == 1 ? (uint32_t)crc32_z(crc, p, n) : vm_crc32c(crc, p, n);
}

/* ---- primitives ---- */

static void put(struct vm_state *s, const void *p, size_t n)
{
	if (s->bad)
		return;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		uint8_t *b = realloc(s->buf, cap);
		if (!b) {
			s->bad = true;
			return;
		}
		s->buf = b, s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void put_le(struct vm_state *s, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(s, b, n);
}

void vm_state_put_u8(struct vm_state *s, uint8_t v) { put_le(s, v, 1); }
void vm_state_put_u16(struct vm_state *s, uint16_t v) { put_le(s, v, 2); }
void vm_state_put_u32(struct vm_state *s, uint32_t v) { put_le(s, v, 4); }
void vm_state_put_u64(struct vm_state *s, uint64_t v) { put_le(s, v, 8); }
void vm_state_put_bool(struct vm_state *s, bool v) { put_le(s, v, 1); }
void vm_state_put_bytes(struct vm_state *s, const void *p, size_t n) { put(s, p, n); }

void vm_state_put_str(struct vm_state *s, const char *str)
{
	size_t n = strlen(str);
	vm_state_put_u16(s, (uint16_t)n);
	put(s, str, n);
}

static const uint8_t *take(struct vm_state *s, size_t n)
{
	if (s->bad || n > s->rd_len - s->pos) {
		s->bad = true;
		return NULL;
	}
	const uint8_t *p = s->rd + s->pos;
	s->pos += n;
	return p;
}

static uint64_t get_le(struct vm_state *s, unsigned n)
{
	const uint8_t *p = take(s, n);
	uint64_t v = 0;
	for (unsigned i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t vm_state_get_u8(struct vm_state *s) { return (uint8_t)get_le(s, 1); }
uint16_t vm_state_get_u16(struct vm_state *s) { return (uint16_t)get_le(s, 2); }
uint32_t vm_state_get_u32(struct vm_state *s) { return (uint32_t)get_le(s, 4); }
uint64_t vm_state_get_u64(struct vm_state *s) { return get_le(s, 8); }

bool vm_state_get_bool(struct vm_state *s)
{
	uint8_t v = vm_state_get_u8(s);
	if (v > 1)
		s->bad = true;
	return v == 1;
}

void vm_state_get_bytes(struct vm_state *s, void *p, size_t n)
{
	const uint8_t *src = take(s, n);
	if (src)
		memcpy(p, src, n);
	else
		memset(p, 0, n);
}

bool vm_state_done(const struct vm_state *s)
{
	return !s->bad && s->pos == s->rd_len;
}

static void reader(struct vm_state *s, const uint8_t *p, size_t n)
{
	*s = (struct vm_state){ .rd = p, .rd_len = n };
}

/* reads a string into buf (NUL-terminated); too long: bad */
static void get_str(struct vm_state *s, char *buf, size_t size)
{
	uint16_t n = vm_state_get_u16(s);
	const uint8_t *p = take(s, n);
	if (!p || n >= size) {
		s->bad = true;
		buf[0] = 0;
		return;
	}
	memcpy(buf, p, n);
	buf[n] = 0;
}


/* ---- the machine's fingerprint ---- */

static void put_fingerprint(const struct vm_virt *vm, struct vm_state *s)
{
	vm_state_put_str(s, "virt");
	vm_state_put_u64(s, vm->bus.ram_size);
	vm_state_put_u32(s, vm->nharts);
	vm_state_put_u32(s, (uint32_t)vm->cfg.ndisks);
	vm_state_put_u32(s, (uint32_t)vm->ndevs);
	for (int i = 0; i < vm->ndevs; i++) {
		vm_state_put_str(s, vm->devs[i].name);
		vm_state_put_str(s, vm->devs[i].type);
	}
}

static void mib(char *buf, size_t n, uint64_t bytes)
{
	if (bytes % (1u << 20))
		snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes >> 20));
}

static int check_fingerprint(const struct vm_virt *vm, struct vm_state *s, char *err, size_t errlen)
{
	char board[64], name[64], type[64], a[32], b[32];
	get_str(s, board, sizeof(board));
	uint64_t ram = vm_state_get_u64(s);
	uint32_t harts = vm_state_get_u32(s), ndisks = vm_state_get_u32(s), ndevs = vm_state_get_u32(s);
	if (s->bad)
		return vm_errf(err, errlen, -EINVAL, "VM state is corrupt (truncated header)");
	if (strcmp(board, "virt"))
		return vm_errf(err, errlen, -EINVAL, "VM state is for machine '%s', this machine is 'virt'", board);
	if (ram != vm->bus.ram_size) {
		mib(a, sizeof(a), ram), mib(b, sizeof(b), vm->bus.ram_size);
		return vm_errf(err, errlen, -EINVAL, "VM state is for a machine with %s of RAM, this machine has %s (-m)", a, b);
	}
	if (harts != vm->nharts)
		return vm_errf(err, errlen, -EINVAL, "VM state is for a machine with %u harts, this machine has %u (-smp)",
			       harts, vm->nharts);
	if (ndisks != (uint32_t)vm->cfg.ndisks)
		return vm_errf(err, errlen, -EINVAL, "VM state is for a machine with %u virtio-blk disks, this machine has %d",
			    ndisks, vm->cfg.ndisks);
	if (ndevs != (uint32_t)vm->ndevs)
		return vm_errf(err, errlen, -EINVAL, "VM state is for a machine with %u devices, this machine has %d", ndevs,
			    vm->ndevs);
	for (int i = 0; i < vm->ndevs; i++) {
		get_str(s, name, sizeof(name));
		get_str(s, type, sizeof(type));
		if (s->bad)
			return vm_errf(err, errlen, -EINVAL, "VM state is corrupt (truncated device list)");
		if (strcmp(name, vm->devs[i].name) || strcmp(type, vm->devs[i].type))
			return vm_errf(err, errlen, -EINVAL, "VM state is for another device list: device %d is %s '%s', here %s '%s'",
				    i, type, name, vm->devs[i].type, vm->devs[i].name);
	}
	return 0;
}

/* ---- sections ---- */

#define SEC_CPU 0 /* hart 0; hart i > 0 is SEC_HART + i - 1 */
#define SEC_CLOCK 1
#define SEC_RAM 2
#define SEC_HART 3
#define SEC_DEV (SEC_HART + VM_MAX_HARTS - 1) /* + device index */
#define CPU_VERSION 2 /* 2: hpm counters and events, triggers */
#define CLOCK_VERSION 1
#define RAM_VERSION 1

static size_t begin_section(struct vm_state *s, const char *name, unsigned version)
{
	vm_state_put_u8(s, TAG_SECTION);
	vm_state_put_str(s, name);
	vm_state_put_u32(s, version);
	vm_state_put_u32(s, 0); /* length, patched by end_section */
	return s->len;
}

static void end_section(struct vm_state *s, size_t start)
{
	if (s->bad)
		return;
	uint32_t n = (uint32_t)(s->len - start);
	for (int i = 0; i < 4; i++)
		s->buf[start - 4 + i] = (uint8_t)(n >> (8 * i));
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* One record: pages [first, first + n) compressed when that is smaller. */
static int put_run(struct vm_state *s, ZSTD_CCtx *cc, const uint8_t *ram, uint64_t first, uint32_t n, void *tmp,
		   size_t tmp_len)
{
	const uint8_t *src = ram + first * PAGE;
	size_t raw = (size_t)n * PAGE;
	size_t z = ZSTD_compressCCtx(cc, tmp, tmp_len, src, raw, 1);
	bool packed = !ZSTD_isError(z) && z < raw;
	vm_state_put_u64(s, first);
	vm_state_put_u32(s, n);
	vm_state_put_u8(s, packed ? ENC_ZSTD : ENC_RAW);
	vm_state_put_u32(s, (uint32_t)(packed ? z : raw));
	vm_state_put_bytes(s, packed ? tmp : src, packed ? z : raw);
	return s->bad ? -ENOMEM : 0;
}

/* Which RAM pages the host ever gave memory to (/proc/self/pagemap: present or swapped); the
 * others read as zero and are skipped without touching them, which would fault each one in.
 * NULL when pagemap cannot be read: every page is looked at. */
static uint8_t *touched_pages(const struct vm_bus *bus)
{
	uint64_t pages = bus->ram_size / PAGE;
	uint8_t *map = malloc(pages);
	uint64_t ent[512];
	FILE *f = fopen("/proc/self/pagemap", "rb");
	bool ok = map && f && !fseeko(f, (off_t)((uintptr_t)bus->ram / PAGE * 8), SEEK_SET);
	for (uint64_t p = 0; ok && p < pages;) {
		size_t n = pages - p < 512 ? (size_t)(pages - p) : 512;
		ok = fread(ent, 8, n, f) == n;
		for (size_t i = 0; ok && i < n; i++)
			map[p + i] = (ent[i] >> 62) != 0; /* bit 63 present, bit 62 swapped */
		p += n;
	}
	if (f)
		fclose(f);
	if (!ok) {
		free(map);
		return NULL;
	}
	return map;
}

static bool skip_page(const struct vm_bus *bus, const uint8_t *touched, uint64_t p)
{
	return (touched && !touched[p]) || page_zero(bus->ram + p * PAGE);
}

static int put_ram(struct vm_virt *vm, struct vm_state *s)
{
	uint64_t pages = vm->bus.ram_size / PAGE;
	uint8_t *touched = touched_pages(&vm->bus);
	size_t tmp_len = ZSTD_compressBound(RUN_PAGES * PAGE);
	void *tmp = malloc(tmp_len);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	int rc = tmp && cc ? 0 : -ENOMEM;
	for (uint64_t p = 0; p < pages && !rc;) {
		if (skip_page(&vm->bus, touched, p)) {
			p++;
			continue;
		}
		uint32_t n = 1;
		while (n < RUN_PAGES && p + n < pages && !skip_page(&vm->bus, touched, p + n))
			n++;
		rc = put_run(s, cc, vm->bus.ram, p, n, tmp, tmp_len);
		p += n;
	}
	vm_state_put_u64(s, 0);
	vm_state_put_u32(s, 0); /* end of RAM */
	ZSTD_freeCCtx(cc);
	free(tmp);
	free(touched);
	return rc;
}

int vm_state_save(struct vm_virt *vm, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct vm_state s = { 0 };
	uint8_t cpu[CPU_STATE_MAX];
	vm_state_put_bytes(&s, VM_STATE_MAGIC, 8);
	vm_state_put_u32(&s, VM_STATE_FORMAT);
	vm_state_put_u32(&s, 0); /* header length, patched below */
	size_t hdr = s.len;
	put_fingerprint(vm, &s);
	end_section(&s, hdr);

	size_t at;
	for (unsigned h = 0; h < vm->nharts; h++) { /* sections cpu0, cpu1, ... */
		size_t n = rv_cpu_save(vm->harts[h], cpu, sizeof(cpu));
		char name[16];
		if (n > sizeof(cpu)) {
			free(s.buf);
			return vm_errf(err, errlen, -EOVERFLOW, "cannot save the hart: %zu bytes of state", n);
		}
		snprintf(name, sizeof(name), "cpu%u", h);
		at = begin_section(&s, name, CPU_VERSION);
		vm_state_put_bytes(&s, cpu, n);
		end_section(&s, at);
	}
	at = begin_section(&s, "clock", CLOCK_VERSION);
	vm_state_put_u64(&s, vm_clock_mtime(&vm->clock)); /* guest time: mtime, 10 MHz */
	end_section(&s, at);
	for (int i = 0; i < vm->ndevs; i++) {
		const struct vm_device *d = &vm->devs[i];
		at = begin_section(&s, d->name, d->state_version);
		int rc = d->save ? d->save(d->opaque, &s) : 0;
		if (rc) {
			free(s.buf);
			return vm_errf(err, errlen, rc, "cannot save device '%s': %s", d->name, strerror(-rc));
		}
		end_section(&s, at);
	}
	at = begin_section(&s, "ram", RAM_VERSION);
	int rc = put_ram(vm, &s);
	end_section(&s, at);
	vm_state_put_u8(&s, TAG_END);
	if (rc || s.bad) {
		free(s.buf);
		return vm_errf(err, errlen, -ENOMEM, "cannot save the VM state: %s", strerror(ENOMEM));
	}
	if (!s.bad)
		vm_state_put_u32(&s, stream_crc(VM_STATE_FORMAT, 0, s.buf, s.len)); /* every byte before the CRC */
	if (s.bad) {
		free(s.buf);
		return vm_errf(err, errlen, -ENOMEM, "cannot save the VM state: %s", strerror(ENOMEM));
	}
	*out = s.buf;
	*len = s.len;
	return 0;
}

/* ---- loading: check everything, then apply ---- */

struct section {
	const uint8_t *p;
	size_t n;
	unsigned version;
	bool seen;
};

static int corrupt(char *err, size_t errlen, const char *what)
{
	return vm_errf(err, errlen, -EINVAL, "VM state is corrupt (%s)", what);
}

/* Zeroes the pages no record wrote that may hold data, giving them back to the host. */
static void zero_rest(struct vm_bus *bus, const uint8_t *touched, const uint8_t *written)
{
	uint64_t pages = bus->ram_size / PAGE;
	for (uint64_t p = 0; p < pages;) {
		if (written[p] || !touched[p]) {
			p++;
			continue;
		}
		uint64_t n = 1;
		while (p + n < pages && !written[p + n] && touched[p + n])
			n++;
		uint8_t *at = bus->ram + p * PAGE;
		if (n < 16 || madvise(at, n * PAGE, MADV_DONTNEED)) /* a few pages: cheaper to clear */
			memset(at, 0, n * PAGE);
		p += n;
	}
}

/* Which section a name is, and the newest version of it this build reads; -1: unknown. */
static int section_index(const struct vm_virt *vm, const char *name, unsigned *max)
{
	static const struct { const char *name; unsigned version; } fixed[] = {
		[SEC_CPU] = { "cpu0", CPU_VERSION },
		[SEC_CLOCK] = { "clock", CLOCK_VERSION },
		[SEC_RAM] = { "ram", RAM_VERSION },
	};
	for (int i = 0; i < SEC_HART; i++)
		if (!strcmp(name, fixed[i].name)) {
			*max = fixed[i].version;
			return i;
		}
	unsigned h;
	char end;
	if (sscanf(name, "cpu%u%c", &h, &end) == 1 && h > 0 && h < vm->nharts) {
		*max = CPU_VERSION;
		return SEC_HART + (int)h - 1;
	}
	for (int i = 0; i < vm->ndevs; i++)
		if (!strcmp(name, vm->devs[i].name)) {
			*max = vm->devs[i].state_version;
			return SEC_DEV + i;
		}
	return -1;
}

static const char *section_name(const struct vm_virt *vm, int idx)
{
	static const char *const fixed[] = { "cpu0", "clock", "ram" };
	static const char *const harts[] = { "cpu1", "cpu2", "cpu3", "cpu4", "cpu5", "cpu6", "cpu7" };
	if (idx < SEC_HART)
		return fixed[idx];
	return idx < SEC_DEV ? harts[idx - SEC_HART] : vm->devs[idx - SEC_DEV].name;
}

/* Whether section slot i is one this machine needs (the harts it has, its devices). */
static bool section_needed(const struct vm_virt *vm, int i)
{
	return i < SEC_HART || i >= SEC_DEV || (unsigned)(i - SEC_HART + 1) < vm->nharts;
}

static int read_sections(const struct vm_virt *vm, struct vm_state *s, struct section *sec, char *err,
			 size_t errlen)
{
	char name[64];
	for (;;) {
		uint8_t tag = vm_state_get_u8(s);
		if (tag == TAG_END && !s->bad)
			break;
		if (tag != TAG_SECTION || s->bad)
			return corrupt(err, errlen, "bad section framing");
		get_str(s, name, sizeof(name));
		unsigned version = vm_state_get_u32(s), max = 0;
		uint32_t n = vm_state_get_u32(s);
		const uint8_t *p = take(s, n);
		if (!p)
			return corrupt(err, errlen, "truncated section");
		int idx = section_index(vm, name, &max);
		unsigned hart;
		char end;
		if (idx < 0 && sscanf(name, "cpu%u%c", &hart, &end) == 1)
			return vm_errf(err, errlen, -EINVAL, "VM state has hart %u, this machine has %u (-smp %u)", hart,
				       vm->nharts, vm->nharts);
		if (idx < 0)
			return vm_errf(err, errlen, -EINVAL, "VM state has a section '%s' that this machine has no device for", name);
		if (sec[idx].seen)
			return corrupt(err, errlen, "a section appears twice");
		if (version > max)
			return vm_errf(err, errlen, -EINVAL,
				    "VM state section '%s' is version %u, newer than this strata-vm reads (%u)", name,
				    version, max);
		sec[idx] = (struct section){ p, n, version, true };
	}
	for (int i = 0; i < SEC_DEV + vm->ndevs; i++)
		if (section_needed(vm, i) && !sec[i].seen)
			return vm_errf(err, errlen, -EINVAL, "VM state has no section for '%s'", section_name(vm, i));
	return 0;
}

/* Everything that can be checked without changing the machine. */
static int check_stream(const struct vm_virt *vm, const uint8_t *buf, size_t len, bool crc_done, struct section *sec,
			char *err, size_t errlen)
{
	struct vm_state s;
	if (len < 16 + 5 || memcmp(buf, VM_STATE_MAGIC, 8))
		return vm_errf(err, errlen, -EINVAL, "not a strata-vm VM state");
	reader(&s, buf + 8, len - 8);
	uint32_t format = vm_state_get_u32(&s);
	if (format > VM_STATE_FORMAT)
		return vm_errf(err, errlen, -EINVAL, "VM state format version %u is newer than this strata-vm reads (%u)",
			    format, VM_STATE_FORMAT);
	if (format == 0)
		return corrupt(err, errlen, "format version 0");
	uint32_t crc = (uint32_t)(buf[len - 4] | buf[len - 3] << 8 | buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24);
	if (!crc_done && stream_crc(format, 0, buf, len - 4) != crc)
		return corrupt(err, errlen, "checksum mismatch");
	reader(&s, buf + 12, len - 16);
	uint32_t hlen = vm_state_get_u32(&s);
	struct vm_state h;
	const uint8_t *hp = take(&s, hlen);
	if (!hp)
		return corrupt(err, errlen, "truncated header");
	reader(&h, hp, hlen);
	int rc = check_fingerprint(vm, &h, err, errlen);
	if (rc)
		return rc;
	if (!vm_state_done(&h))
		return corrupt(err, errlen, "header length");
	if ((rc = read_sections(vm, &s, sec, err, errlen)))
		return rc;
	if (!vm_state_done(&s))
		return corrupt(err, errlen, "data after the end");
	return 0;
}

/* Applies every section but RAM; on a rejected section the caller puts the board back. */
static int apply_sections(struct vm_virt *vm, const struct section *sec, char *err, size_t errlen)
{
	struct vm_state s;
	int rc = 0;
	for (unsigned h = 0; h < vm->nharts; h++) {
		int idx = h ? SEC_HART + (int)h - 1 : SEC_CPU;
		rc = rv_cpu_load(vm->harts[h], sec[idx].p, sec[idx].n, sec[idx].version);
		if (rc)
			return vm_errf(err, errlen, rc, "VM state section '%s' is invalid", section_name(vm, idx));
	}
	reader(&s, sec[SEC_CLOCK].p, sec[SEC_CLOCK].n);
	uint64_t mtime = vm_state_get_u64(&s);
	if (!vm_state_done(&s))
		return vm_errf(err, errlen, -EINVAL, "VM state section 'clock' is invalid");
	vm_clock_set(&vm->clock, mtime);
	for (int i = 0; i < vm->ndevs; i++) {
		const struct vm_device *d = &vm->devs[i];
		const struct section *x = &sec[SEC_DEV + i];
		reader(&s, x->p, x->n);
		rc = d->load ? d->load(d->opaque, &s, x->version) : 0;
		if (!rc && !vm_state_done(&s))
			rc = -EINVAL;
		if (rc)
			return vm_errf(err, errlen, rc, "VM state section '%s' is invalid", d->name);
	}
	return 0;
}

/* Checks the stream and applies every section but RAM; with `keep` false (or on an error)
 * the board is put back exactly as it was. */
static int try_sections(struct vm_virt *vm, const uint8_t *buf, size_t len, struct section *sec, bool keep,
			bool crc_done, char *err, size_t errlen)
{
	int rc = check_stream(vm, buf, len, crc_done, sec, err, errlen);
	if (rc)
		return rc;
	struct vm_virt *backup = malloc(sizeof(*backup));
	if (!backup)
		return vm_errf(err, errlen, -ENOMEM, "cannot load the VM state: %s", strerror(ENOMEM));
	memcpy(backup, vm, sizeof(*vm));
	/* harts past the first live outside the board: kept aside the same way */
	struct rv_cpu *harts = vm->nharts > 1 ? malloc(sizeof(*harts) * (vm->nharts - 1)) : NULL;
	if (vm->nharts > 1 && !harts) {
		free(backup);
		return vm_errf(err, errlen, -ENOMEM, "cannot load the VM state: %s", strerror(ENOMEM));
	}
	for (unsigned h = 1; h < vm->nharts; h++)
		memcpy(&harts[h - 1], vm->harts[h], sizeof(*harts));
	rc = apply_sections(vm, sec, err, errlen);
	if (rc || !keep) {
		memcpy(vm, backup, sizeof(*vm)); /* devices and CPU exactly as before */
		for (unsigned h = 1; h < vm->nharts; h++)
			memcpy(vm->harts[h], &harts[h - 1], sizeof(*harts));
	}
	free(harts);
	free(backup);
	return rc;
}

/* ---- reading a stream piecewise: the RAM records are never held in memory whole ---- */

#define CHUNK (RUN_PAGES * PAGE) /* read unit; also the largest record's data */
#define FRAME_HEADER_MAX 18 /* zstd frame header, enough for ZSTD_getFrameContentSize */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Reads [off, off + n) of the stream; past its end is corruption, a failed read an I/O error. */
static int src_read(const struct vm_state_src *src, uint64_t off, void *buf, size_t n, char *err, size_t errlen)
{
	if (off > src->len || n > src->len - off)
		return corrupt(err, errlen, "truncated");
	int rc = src->read(src->opaque, off, buf, n);
	return rc ? vm_errf(err, errlen, rc, "Error while reading VM state: %s", strerror(-rc)) : 0;
}

/* Magic and format version first (their messages win over a checksum mismatch), then the CRC
 * of every byte before the last four, read in chunks. */
static int check_head_and_crc(const struct vm_state_src *src, bool crc, uint8_t *chunk, char *err, size_t errlen)
{
	uint8_t h[16];
	if (src->len < 16 + 5 || src_read(src, 0, h, 16, err, errlen) || memcmp(h, VM_STATE_MAGIC, 8))
		return vm_errf(err, errlen, -EINVAL, "not a strata-vm VM state");
	uint32_t format = le32(h + 8);
	if (format > VM_STATE_FORMAT)
		return vm_errf(err, errlen, -EINVAL, "VM state format version %u is newer than this strata-vm reads (%u)",
			    format, VM_STATE_FORMAT);
	if (format == 0)
		return corrupt(err, errlen, "format version 0");
	if (!crc)
		return 0;
	uint32_t sum = 0;
	uint64_t body = src->len - 4;
	for (uint64_t off = 0; off < body;) {
		size_t n = body - off < CHUNK ? (size_t)(body - off) : CHUNK;
		int rc = src_read(src, off, chunk, n, err, errlen);
		if (rc)
			return rc;
		sum = stream_crc(format, sum, chunk, n);
		off += n;
	}
	uint8_t t[4];
	int rc = src_read(src, body, t, 4, err, errlen);
	if (rc)
		return rc;
	return sum == le32(t) ? 0 : corrupt(err, errlen, "checksum mismatch");
}

/* The stream without its RAM records: everything before the "ram" section's payload, an
 * empty RAM section, the end tag and a (not checked again) CRC, for check_stream and
 * try_sections. ram_off, ram_len: the records in the source (0/0 without a ram section:
 * then the whole stream is copied and check_stream finds what is wrong). */
static int compact(const struct vm_state_src *src, uint8_t **out, size_t *out_len, uint64_t *ram_off,
		   uint64_t *ram_len, char *err, size_t errlen)
{
	uint8_t f[8];
	char name[64];
	int rc;
	*ram_off = *ram_len = 0;
	if ((rc = src_read(src, 12, f, 4, err, errlen)))
		return rc;
	for (uint64_t off = 16 + (uint64_t)le32(f); off + 1 + 2 <= src->len;) {
		if ((rc = src_read(src, off, f, 3, err, errlen)))
			return rc;
		unsigned nl = (unsigned)f[1] | (unsigned)f[2] << 8;
		if (f[0] != TAG_SECTION || nl >= sizeof(name) || off + 3 + nl + 8 > src->len)
			break;
		if ((rc = src_read(src, off + 3, name, nl, err, errlen)) || (rc = src_read(src, off + 3 + nl, f, 8, err, errlen)))
			return rc;
		name[nl] = 0;
		uint64_t p = off + 3 + nl + 8, n = le32(f + 4);
		if (!strcmp(name, "ram") && n <= src->len - p) {
			*ram_off = p, *ram_len = n;
			break;
		}
		off = p + n;
	}
	bool split = *ram_off && *ram_off + *ram_len + 5 == src->len;
	if (!split)
		*ram_off = *ram_len = 0;
	size_t head = split ? (size_t)*ram_off : (size_t)src->len;
	uint8_t *b = malloc(head + (split ? 12 + 5 : 0));
	if (!b)
		return vm_errf(err, errlen, -ENOMEM, "cannot load the VM state: %s", strerror(ENOMEM));
	if ((rc = src_read(src, 0, b, head, err, errlen))) {
		free(b);
		return rc;
	}
	if (split) {
		uint8_t end;
		if ((rc = src_read(src, *ram_off + *ram_len, &end, 1, err, errlen)) || end != TAG_END) {
			free(b);
			return rc ? rc : corrupt(err, errlen, "bad section framing");
		}
		b[head - 4] = 12, b[head - 3] = b[head - 2] = b[head - 1] = 0; /* ram section length */
		memset(b + head, 0, 12);                                       /* the end-of-RAM record */
		b[head + 12] = TAG_END;
		memset(b + head + 13, 0, 4);
	}
	*out = b;
	*out_len = head + (split ? 12 + 5 : 0);
	return 0;
}

/* Walks the RAM records at [off, end): checks every record (bounds, encoding, sizes; zstd
 * frame headers) or, with `apply`, writes them into RAM (raw data is read straight into it,
 * zstd through `chunk`) and marks `written`. */
static int walk_ram(struct vm_virt *vm, const struct vm_state_src *src, uint64_t off, uint64_t end, bool apply,
		    uint8_t *chunk, uint8_t *written, ZSTD_DCtx *dc, char *err, size_t errlen)
{
	uint64_t pages = vm->bus.ram_size / PAGE;
	for (;;) {
		uint8_t h[17];
		int rc;
		if (end - off < 12)
			return corrupt(err, errlen, "truncated RAM section");
		if ((rc = src_read(src, off, h, 12, err, errlen)))
			return rc;
		uint64_t first = le64(h);
		uint32_t n = le32(h + 8);
		if (n == 0)
			return off + 12 == end ? 0 : corrupt(err, errlen, "data after the end of RAM");
		if (end - off < 17)
			return corrupt(err, errlen, "truncated RAM section");
		if ((rc = src_read(src, off + 12, h + 12, 5, err, errlen)))
			return rc;
		uint8_t enc = h[12];
		uint32_t dlen = le32(h + 13);
		off += 17;
		if (dlen > end - off || first >= pages || n > pages - first)
			return corrupt(err, errlen, "RAM record out of range");
		if ((enc == ENC_RAW && dlen != (uint64_t)n * PAGE) || (enc == ENC_ZSTD && dlen > CHUNK) || enc > ENC_ZSTD)
			return corrupt(err, errlen, "bad RAM record");
		uint8_t *dst = vm->bus.ram + first * PAGE;
		if (!apply && enc == ENC_ZSTD) {
			size_t hl = dlen < FRAME_HEADER_MAX ? dlen : FRAME_HEADER_MAX;
			if ((rc = src_read(src, off, chunk, hl, err, errlen)))
				return rc;
			if (ZSTD_getFrameContentSize(chunk, hl) != (uint64_t)n * PAGE)
				return corrupt(err, errlen, "bad RAM record");
		} else if (apply) {
			if ((rc = src_read(src, off, enc == ENC_RAW ? dst : chunk, dlen, err, errlen)))
				return rc;
			if (enc == ENC_ZSTD && ZSTD_decompressDCtx(dc, dst, (size_t)n * PAGE, chunk, dlen) != (size_t)n * PAGE)
				return corrupt(err, errlen, "RAM data does not decompress");
			memset(written + first, 1, n);
		}
		off += dlen;
	}
}

/* RAM from the source's records, the rest zeroed. Only after a checking walk. */
static int apply_ram(struct vm_virt *vm, const struct vm_state_src *src, uint64_t off, uint64_t len,
		     uint8_t *chunk, char *err, size_t errlen)
{
	uint64_t pages = vm->bus.ram_size / PAGE;
	uint8_t *touched = touched_pages(&vm->bus), *written = calloc(pages, 1);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	int rc = dc && written ? 0 : vm_errf(err, errlen, -ENOMEM, "cannot load RAM: %s", strerror(ENOMEM));
	if (!rc && !touched)
		vm_bus_clear_ram(&vm->bus);
	if (!rc)
		rc = walk_ram(vm, src, off, off + len, true, chunk, written, dc, err, errlen);
	if (!rc && touched)
		zero_rest(&vm->bus, touched, written);
	ZSTD_freeDCtx(dc);
	free(touched);
	free(written);
	return rc;
}

static int load_src(struct vm_virt *vm, const struct vm_state_src *src, bool crc, bool keep, char *err,
		    size_t errlen)
{
	struct section sec[SEC_DEV + VM_VIRT_MAX_DEVICES] = { 0 };
	uint8_t *chunk = malloc(CHUNK), *head = NULL;
	size_t head_len = 0;
	uint64_t ram_off, ram_len;
	if (!chunk)
		return vm_errf(err, errlen, -ENOMEM, "cannot load the VM state: %s", strerror(ENOMEM));
	int rc = check_head_and_crc(src, crc, chunk, err, errlen);
	if (!rc)
		rc = compact(src, &head, &head_len, &ram_off, &ram_len, err, errlen);
	if (!rc && ram_off)
		rc = walk_ram(vm, src, ram_off, ram_off + ram_len, false, chunk, NULL, NULL, err, errlen);
	if (!rc)
		rc = try_sections(vm, head, head_len, sec, keep, true, err, errlen);
	if (!rc && keep) {
		rc = ram_off ? apply_ram(vm, src, ram_off, ram_len, chunk, err, errlen) : 0;
		for (unsigned h = 0; h < vm->nharts; h++) {
			rv_cpu_flush_code(vm->harts[h]);
			rv_tlb_flush(vm->harts[h]);
		}
	}
	free(head);
	free(chunk);
	return rc;
}

int vm_state_check_src(struct vm_virt *vm, const struct vm_state_src *src, char *err, size_t errlen)
{
	return load_src(vm, src, true, false, err, errlen);
}

int vm_state_load_src(struct vm_virt *vm, const struct vm_state_src *src, bool checked, char *err, size_t errlen)
{
	return load_src(vm, src, !checked, true, err, errlen);
}

static int mem_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)opaque + off, len);
	return 0;
}

int vm_state_check(struct vm_virt *vm, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct vm_state_src src = { mem_read, (void *)(uintptr_t)buf, len };
	return vm_state_check_src(vm, &src, err, errlen);
}

int vm_state_load(struct vm_virt *vm, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct vm_state_src src = { mem_read, (void *)(uintptr_t)buf, len };
	return vm_state_load_src(vm, &src, false, err, errlen);
}
