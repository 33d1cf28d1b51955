/*
 * Crash tests of the vdi driver's write path (invariants 1, 2 and 5 of formats/vdi/driver.c).
 *
 * A workload of allocating and in-place writes runs on a host file that "loses power" after its
 * k-th write, for every k. The disk image left behind is what was flushed plus a choice of the
 * writes issued since the last flush: none, all, each one alone, or each prefix ending in a
 * torn (half-applied) write. Bytes the file claims but that were never written hold stale
 * garbage (0xee), so an entry pointing at an unwritten block shows. Every such image must:
 *  - open, have unique in-range block map entries, and a header count >= the entries in use;
 *  - read, at every sampled byte, either zero or a value some write put there;
 *  - accept a further allocating write without handing out a host block twice.
 */
#include "formats/vdi/vdi.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024u * 1024u)
#define BLOCKS 6u
#define IMG_SIZE (BLOCKS * MiB)
#define GARBAGE 0xee
#define MAX_PEND 64

struct pend {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

struct crash_file {
	uint8_t *cur, *dur;
	size_t cur_len, dur_len, cap;
	struct pend pend[MAX_PEND];
	int npend;
	int budget;          /* writes left before the crash; < 0: no crash */
	bool crashed;
	int writes;
};

static int cf_reserve(struct crash_file *c, size_t end)
{
	if (end <= c->cap)
		return 0;
	size_t cap = end + MiB;
	uint8_t *a = realloc(c->cur, cap), *b;
	if (!a)
		return -ENOMEM;
	c->cur = a;
	b = realloc(c->dur, cap);
	if (!b)
		return -ENOMEM;
	c->dur = b;
	memset(c->cur + c->cap, 0, cap - c->cap);
	memset(c->dur + c->cap, 0, cap - c->cap);
	c->cap = cap;
	return 0;
}

static int cf_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	struct crash_file *c = f->priv;
	size_t n = off < c->cur_len ? c->cur_len - (size_t)off : 0;

	if (n > len)
		n = len;
	if (n)
		memcpy(buf, c->cur + off, n);
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

static int cf_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	struct crash_file *c = f->priv;

	if (c->crashed || c->budget == 0 || c->npend == MAX_PEND) {
		c->crashed = true;
		return -EIO;
	}
	if (c->budget > 0)
		c->budget--;
	if (cf_reserve(c, (size_t)(off + len)) < 0)
		return -ENOMEM;
	memcpy(c->cur + off, buf, len);
	if (off + len > c->cur_len)
		c->cur_len = (size_t)(off + len);
	struct pend *p = &c->pend[c->npend];
	p->off = off;
	p->len = len;
	p->data = malloc(len);
	if (!p->data)
		return -ENOMEM;
	memcpy(p->data, buf, len);
	c->npend++;
	c->writes++;
	return 0;
}

static void cf_drop_pending(struct crash_file *c)
{
	for (int i = 0; i < c->npend; i++)
		free(c->pend[i].data);
	c->npend = 0;
}

static int cf_flush(struct bc_file *f)
{
	struct crash_file *c = f->priv;

	if (c->crashed)
		return -EIO;
	memcpy(c->dur, c->cur, c->cur_len);
	c->dur_len = c->cur_len;
	cf_drop_pending(c);
	return 0;
}

static int64_t cf_length(struct bc_file *f)
{
	return (int64_t)((struct crash_file *)f->priv)->cur_len;
}

static void cf_close(struct bc_file *f)
{
	struct crash_file *c = f->priv;

	cf_drop_pending(c);
	free(c->cur);
	free(c->dur);
}

static const struct bc_file_ops cf_ops = {
	.name = "crash", .pread = cf_pread, .pwrite = cf_pwrite, .flush = cf_flush,
	.length = cf_length, .close = cf_close,
};

static struct bc_file *cf_new(const uint8_t *img, size_t len, int budget)
{
	struct bc_file *f = calloc(1, sizeof(*f));
	struct crash_file *c = calloc(1, sizeof(*c));

	if (!f || !c || cf_reserve(c, len) < 0) {
		free(f);
		if (c) {
			free(c->cur);
			free(c->dur);
		}
		free(c);
		return NULL;
	}
	memcpy(c->cur, img, len);
	memcpy(c->dur, img, len);
	c->cur_len = c->dur_len = len;
	c->budget = budget;
	f->ops = &cf_ops;
	f->path = strdup("crash.vdi");
	f->fd = -1;
	f->writable = true;
	f->align = 1;
	f->priv = c;
	return f;
}

/* ---- the workload ------------------------------------------------------------------------ */

struct wl_write {
	uint64_t off;
	size_t len;
	uint8_t pat;         /* 0: write_zeroes */
};

static const struct wl_write workload[] = {
	{ MiB + 100, 4096, 0x11 },              /* allocates block 1 -> host 0 */
	{ 3 * MiB - 5000, 10000, 0x22 },        /* allocates blocks 2, 3 in one request */
	{ MiB + 200, 512, 0x33 },               /* in place */
	{ 4 * MiB, MiB, 0x44 },                 /* a whole block: no bounce buffer */
	{ 100, 100, 0x55 },                     /* block 0 */
	{ 3 * MiB - 100, 200, 0 },              /* zeroes across allocated blocks */
	{ 5 * MiB + MiB - 10, 10, 0x66 },       /* the last block */
};
#define NWL (sizeof(workload) / sizeof(workload[0]))

static uint8_t allowed[IMG_SIZE];             /* bit i: workload write i may own this byte */

static void build_allowed(void)
{
	memset(allowed, 0, sizeof(allowed));
	for (size_t i = 0; i < NWL; i++)
		for (size_t b = 0; b < workload[i].len; b++)
			allowed[workload[i].off + b] |= (uint8_t)(1u << i);
}

static bool byte_ok(uint64_t off, uint8_t v)
{
	if (v == 0)
		return true;
	for (size_t i = 0; i < NWL; i++)
		if ((allowed[off] & (1u << i)) && workload[i].pat == v)
			return true;
	return false;
}

static void empty_image(uint8_t *d)
{
	struct vdi_header h = { 0 };

	memset(d, 0, 1024);
	memcpy(d, VDI_TEXT, strlen(VDI_TEXT));
	h.signature = VDI_SIGNATURE;
	h.version = VDI_VERSION_1_1;
	h.header_size = VDI_HEADER_SIZE;
	h.image_type = VDI_TYPE_DYNAMIC;
	h.offset_bmap = 512;
	h.offset_data = 1024;
	h.sector_size = 512;
	h.disk_size = IMG_SIZE;
	h.block_size = VDI_BLOCK_SIZE;
	h.blocks_in_image = BLOCKS;
	vdi_header_encode(&h, d);
	for (unsigned i = 0; i < BLOCKS; i++)
		bc_wr_le32(d + 512 + i * 4, VDI_UNALLOCATED);
}

static int open_on(struct bc_image *img, struct bc_file *f)
{
	struct bc_err err = { 0 };

	memset(img, 0, sizeof(*img));
	img->fmt = &bc_format_vdi;
	img->file = f;
	img->filename = (char *)"crash.vdi";
	img->flags = BC_OPEN_RDWR;
	img->align = 1;
	int ret = bc_format_vdi.open(img, &err);
	if (ret < 0)
		tap_diag("open: %s", err.msg);
	return ret;
}

/* Runs the workload until the file crashes; returns the number of writes done. */
static int run_workload(struct bc_file *f)
{
	struct bc_image img;
	uint8_t *buf = malloc(MiB);

	if (!buf || open_on(&img, f) < 0) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < NWL; i++) {
		const struct wl_write *w = &workload[i];
		int ret;

		if (w->pat) {
			memset(buf, w->pat, w->len);
			ret = bc_format_vdi.write(&img, w->off, buf, w->len);
		} else {
			ret = bc_format_vdi.write_zeroes(&img, w->off, w->len, 0);
		}
		if (ret < 0)
			break;
	}
	/* After the crash, writes must fail cleanly (the broken flag, invariant 5). */
	if (((struct crash_file *)f->priv)->crashed) {
		memset(buf, 0x77, 512);
		if (bc_format_vdi.write(&img, 0, buf, 512) == 0)
			tap_diag("a write after the crash succeeded");
	}
	bc_format_vdi.close(&img);
	free(buf);
	return ((struct crash_file *)f->priv)->writes;
}

/* Checks one post-crash disk image; returns a description of the first problem or NULL. */
static const char *verify(const uint8_t *d, size_t len)
{
	static char why[200];
	struct bc_image img;
	struct bc_file *f;
	uint8_t used[BLOCKS] = { 0 }, buf[64];
	uint32_t nused = 0;

	if (bc_file_open_mem(&f, "after.vdi", d, len, len + 4 * MiB) < 0)
		return "memory file";
	f->writable = true;
	if (open_on(&img, f) < 0) {
		bc_file_close(f);
		return "does not open";
	}
	struct vdi_state *s = img.priv;
	for (uint32_t i = 0; i < BLOCKS; i++) {
		uint32_t e = s->bmap[i];

		if (!vdi_entry_allocated(e))
			continue;
		if (e >= BLOCKS || used[e]) {
			snprintf(why, sizeof(why), "entry %u = %u out of range or duplicated", i, e);
			goto fail;
		}
		used[e] = 1;
		nused++;
	}
	if (s->h.blocks_allocated < nused) {
		snprintf(why, sizeof(why), "count %u below the %u entries in use",
			 s->h.blocks_allocated, nused);
		goto fail;
	}
	/* Sampled bytes everywhere, and every byte around each write's edges. */
	for (uint64_t off = 0; off < IMG_SIZE; off += 509) {
		if (bc_format_vdi.read(&img, off, buf, 1) < 0 || !byte_ok(off, buf[0])) {
			snprintf(why, sizeof(why), "byte %llu reads 0x%02x", (unsigned long long)off, buf[0]);
			goto fail;
		}
	}
	for (size_t i = 0; i < NWL; i++) {
		uint64_t edges[2] = { workload[i].off, workload[i].off + workload[i].len };
		for (int k = 0; k < 2; k++) {
			uint64_t o = edges[k] >= 32 ? edges[k] - 32 : 0;
			size_t n = o + 64 <= IMG_SIZE ? 64 : (size_t)(IMG_SIZE - o);
			if (bc_format_vdi.read(&img, o, buf, n) < 0) {
				snprintf(why, sizeof(why), "read at %llu fails", (unsigned long long)o);
				goto fail;
			}
			for (size_t b = 0; b < n; b++) {
				if (!byte_ok(o + b, buf[b])) {
					snprintf(why, sizeof(why), "byte %llu reads 0x%02x",
						 (unsigned long long)(o + b), buf[b]);
					goto fail;
				}
			}
		}
	}
	/* A further allocation must not reuse a host block. */
	for (uint32_t i = 0; i < BLOCKS; i++) {
		if (vdi_entry_allocated(s->bmap[i]))
			continue;
		memset(buf, 0x99, sizeof(buf));
		if (bc_format_vdi.write(&img, (uint64_t)i * MiB, buf, sizeof(buf)) < 0) {
			snprintf(why, sizeof(why), "further write to block %u fails", i);
			goto fail;
		}
		uint32_t e = s->bmap[i];
		if (e < BLOCKS && used[e]) {
			snprintf(why, sizeof(why), "further write reuses host block %u", e);
			goto fail;
		}
		break;
	}
	bc_format_vdi.close(&img);
	bc_file_close(f);
	return NULL;
fail:
	bc_format_vdi.close(&img);
	bc_file_close(f);
	return why;
}

/* Builds the disk image a crash leaves: flushed bytes, the chosen pending writes (the one at
 * torn only its whole sectors up to its middle: sector writes are atomic), and garbage in every
 * byte past the flushed length that the file claims but no applied write reached. */
static uint8_t *crash_image(const struct crash_file *c, unsigned long long pick, int torn,
			    size_t *len)
{
	size_t end = c->dur_len;
	uint8_t *d;

	for (int i = 0; i < c->npend; i++)
		if (c->pend[i].off + c->pend[i].len > end)
			end = (size_t)(c->pend[i].off + c->pend[i].len);
	d = malloc(end);
	if (!d)
		return NULL;
	memset(d, GARBAGE, end);
	memcpy(d, c->dur, c->dur_len);
	/* Bytes of the flushed file never written stay as they are in dur (zeros from growth
	 * are real zeros); only the tail beyond the flushed length is garbage. */
	for (int i = 0; i < c->npend; i++) {
		size_t n = c->pend[i].len;

		if (!(pick & (1ull << i)))
			continue;
		if (i == torn) {
			uint64_t mid = (c->pend[i].off + n / 2) / 512 * 512;
			n = mid > c->pend[i].off ? (size_t)(mid - c->pend[i].off) : 0;
		}
		memcpy(d + c->pend[i].off, c->pend[i].data, n);
	}
	*len = end;
	return d;
}

int main(void)
{
	uint8_t base[1024];
	int total, failures = 0, images = 0;
	struct bc_file *f;

	build_allowed();
	empty_image(base);
	f = cf_new(base, sizeof(base), -1);
	total = f ? run_workload(f) : -1;
	if (f)
		bc_file_close(f);
	if (!tap_ok(total > 0, "workload runs without a crash (%d writes)", total))
		return tap_done();

	for (int k = 0; k <= total; k++) {
		const char *why = NULL;

		f = cf_new(base, sizeof(base), k);
		if (!f)
			return 1;
		run_workload(f);
		struct crash_file *c = f->priv;
		int p = c->npend;
		unsigned long long all = p >= 64 ? ~0ull : (1ull << p) - 1;
		/* none, all, each alone, each prefix ending torn */
		for (int m = -2; m < 2 * p && !why; m++) {
			unsigned long long pick;
			int torn = -1;
			size_t len;

			if (m == -2)
				pick = 0;
			else if (m == -1)
				pick = all;
			else if (m < p)
				pick = 1ull << m;
			else {
				torn = m - p;
				pick = (1ull << (torn + 1)) - 1;
			}
			uint8_t *d = crash_image(c, pick, torn, &len);
			if (!d)
				return 1;
			why = verify(d, len);
			images++;
			if (why)
				tap_diag("crash after %d writes, pending %d, pick %llx torn %d: %s", k, p,
					 pick, torn, why);
			free(d);
		}
		if (why)
			failures++;
		bc_file_close(f);
	}
	tap_ok(failures == 0, "every crash point leaves a consistent image (%d images, %d failures)",
	       images, failures);
	return tap_done();
}
