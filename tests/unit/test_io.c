/* The engine's data path: bounds, read-modify-write for aligned drivers, zero/discard fallbacks,
 * chain-walking block status and backing reads, queued requests, the probed-raw guard. */
#include "bc_driver.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A test driver over a memory file: 512-byte alignment, and every odd 4 KiB block "not
 * allocated here" (read from the backing chain) until written. */
#define TB 4096
struct tdrv {
	uint8_t owned[64];       /* one flag per 4 KiB block */
	int misaligned;          /* requests the engine should never have passed down */
};

static int t_open(struct bc_image *img, struct bc_err *err)
{
	struct tdrv *t = calloc(1, sizeof(*t));

	(void)err;
	if (!t)
		return -ENOMEM;
	for (int i = 0; i < 64; i += 2)
		t->owned[i] = 1;
	img->priv = t;
	img->size = 64 * TB;
	img->align = 512;
	if (access("base.raw", F_OK) == 0)
		img->backing_name = strdup("base.raw");
	return 0;
}

static void t_close(struct bc_image *img) { free(img->priv); }

static int t_check(struct bc_image *img, uint64_t off, size_t len)
{
	struct tdrv *t = img->priv;

	if ((off | len) % 512)
		t->misaligned++;
	return 0;
}

static int t_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	struct tdrv *t = img->priv;
	uint8_t *p = buf;

	t_check(img, off, len);
	while (len) {
		size_t n = TB - off % TB < len ? TB - off % TB : len;
		int ret = t->owned[off / TB] ? bc_file_pread(img->file, p, n, off)
					     : bc_backing_read(img, off, p, n);
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int t_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct tdrv *t = img->priv;

	t_check(img, off, len);
	for (uint64_t b = off / TB; b * TB < off + len; b++)
		t->owned[b] = 1;
	return bc_file_pwrite(img->file, buf, len, off);
}

static int t_status(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext)
{
	struct tdrv *t = img->priv;
	uint64_t b = off / TB, end = off;

	while (end < off + len && t->owned[end / TB] == t->owned[b])
		end = (end / TB + 1) * TB;
	ext->len = (end < off + len ? end : off + len) - off;
	ext->flags = t->owned[b] ? BC_EXT_ALLOCATED | BC_EXT_DATA : 0;
	return 0;
}

static const struct bc_format test_format = {
	.name = "test", .open = t_open, .close = t_close, .read = t_read, .write = t_write,
	.block_status = t_status,
};

static struct bc_image *open_test(bool rw)
{
	struct bc_open_opts o = { .driver = &test_format, .flags = rw ? BC_OPEN_RDWR : 0 };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;

	if (bc_file_open_mem(&f, "top.test", NULL, 0, 1u << 20) < 0)
		return NULL;
	if (bc_open_file(&img, f, &o, &err) < 0) {
		tap_diag("open: %s", err.msg);
		return NULL;
	}
	return img;
}

static void test_rmw(void)
{
	struct bc_image *img = open_test(true);
	uint8_t w[3000], r[3000];

	if (!tap_ok(img != NULL, "open test driver on a memory file"))
		return;
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 1);
	tap_ok(bc_write(img, 100, w, sizeof(w)) == 0, "unaligned write");
	tap_ok(bc_read(img, 100, r, sizeof(r)) == 0 && !memcmp(w, r, sizeof(r)), "unaligned read back");
	tap_ok(bc_read(img, 99, r, 1) == 0 && r[0] == 0, "byte before untouched");
	tap_ok(bc_read(img, 3100, r, 1) == 0 && r[0] == 0, "byte after untouched");
	tap_ok(((struct tdrv *)img->priv)->misaligned == 0, "driver saw only aligned requests");
	tap_ok(bc_read(img, 64 * TB - 1, r, 2) == -EIO, "read past the end fails with EIO");
	tap_ok(bc_write(img, 64 * TB, w, 1) == -EIO, "write past the end fails with EIO");
	tap_ok(bc_write_zeroes(img, 150, 1000, 0) == 0 && bc_read(img, 100, r, 1100) == 0 &&
	       !memcmp(r, w, 50) && r[50] == 0 && r[1049] == 0 && r[1050] == w[1050],
	       "write_zeroes falls back to writing zeros, unaligned edges kept");
	tap_ok(bc_discard(img, 0, 512) == 0, "discard without driver support is a no-op");
	bc_close(img);
	img = open_test(false);
	tap_ok(img && bc_write(img, 0, w, 1) == -EACCES, "read-only image refuses writes");
	bc_close(img);
}

static void test_chain(void)
{
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_image *base, *img;
	uint8_t buf[TB];

	bc_opts_set(o, "size", "8192");   /* shorter than the 256 KiB overlay */
	tap_ok(bc_create("raw", "base.raw", o, &err) == 0, "create a short raw backing file");
	bc_opts_free(o);
	struct bc_open_opts bo = { .format = "raw", .flags = BC_OPEN_RDWR };
	if (bc_open(&base, "base.raw", &bo, &err) == 0) {
		memset(buf, 0xbb, sizeof(buf));
		bc_write(base, TB, buf, TB);
		bc_close(base);
	}
	img = open_test(true);
	if (!tap_ok(img && bc_backing(img), "backing image opened by the engine"))
		return;
	tap_ok(bc_read(img, TB, buf, TB) == 0 && buf[0] == 0xbb && buf[TB - 1] == 0xbb,
	       "unowned block reads from the backing file");
	tap_ok(bc_read(img, 3 * TB, buf, TB) == 0 && buf[0] == 0, "past the backing's end reads zeros");
	struct bc_extent e;
	tap_ok(bc_block_status(img, TB, TB, &e) == 0 && e.depth == 1 && (e.flags & BC_EXT_DATA),
	       "block status: data from depth 1 (flags %x depth %d)", e.flags, e.depth);
	tap_ok(bc_block_status(img, 0, TB, &e) == 0 && e.depth == 0 && (e.flags & BC_EXT_ALLOCATED),
	       "block status: allocated at depth 0");
	tap_ok(bc_block_status(img, 3 * TB, TB, &e) == 0 && (e.flags & BC_EXT_ZERO) &&
	       !(e.flags & BC_EXT_ALLOCATED), "block status: beyond backing is unallocated zero");
	bc_close(img);
	unlink("base.raw");
}

static void aio_done(struct bc_aio *req) { (*(int *)req->opaque)++; }

static void test_aio_raw(void)
{
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_image *img;
	static uint8_t bufs[8][4096];
	struct bc_aio reqs[8];
	int done = 0;

	bc_opts_set(o, "size", "1M");
	bc_create("raw", "aio.raw", o, &err);
	bc_opts_free(o);
	for (int io = BC_IO_POSIX; io <= BC_IO_URING; io++) {
		struct bc_open_opts oo = { .format = "raw", .flags = BC_OPEN_RDWR,
					   .io = (enum bc_io_backend)io };
		if (bc_open(&img, "aio.raw", &oo, &err) < 0) {
			tap_ok(io == BC_IO_URING, "open with backend %d: %s # SKIP when io_uring refused",
			       io, err.msg);
			continue;
		}
		done = 0;
		for (int i = 0; i < 8; i++) {
			memset(bufs[i], 0x10 * io + i, 4096);
			reqs[i] = (struct bc_aio){ .op = BC_AIO_WRITE, .off = (uint64_t)i * 8192,
						   .buf = bufs[i], .len = 4096, .cb = aio_done, .opaque = &done };
			bc_aio_submit(img, &reqs[i]);
		}
		bc_aio_wait(img, -1);
		int ok = done == 8;
		for (int i = 0; i < 8; i++)
			ok &= reqs[i].ret == 0;
		tap_ok(ok, "backend %d: 8 queued writes complete", io);
		uint8_t r[4096];
		ok = 1;
		for (int i = 0; i < 8; i++)
			ok &= bc_read(img, (uint64_t)i * 8192, r, 4096) == 0 && r[0] == 0x10 * io + i &&
			      r[4095] == 0x10 * io + i;
		tap_ok(ok, "backend %d: queued writes read back", io);
		bc_close(img);
	}
	unlink("aio.raw");
}

static void test_probe_guard(void)
{
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_image *img;
	static const uint8_t qcow_magic[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

	bc_opts_set(o, "size", "64k");
	bc_create("raw", "probe.raw", o, &err);
	bc_opts_free(o);
	struct bc_open_opts po = { .flags = BC_OPEN_RDWR };
	if (!tap_ok(bc_open(&img, "probe.raw", &po, &err) == 0, "probe opens a blank file"))
		return;
	tap_ok(bc_probed_raw(img), "blank file probes as raw");
	uint8_t zero[8] = { 0 };
	tap_ok(bc_write(img, 0, zero, 8) == 0, "ordinary write to block 0 allowed");
	if (bc_format_find("qcow2"))
		tap_ok(bc_write(img, 0, qcow_magic, 8) == -EPERM, "write making block 0 a qcow2 header refused");
	bc_close(img);
	unlink("probe.raw");
}

/* O_DIRECT files accept unaligned requests from drivers (bounced inside the host layer). */
static void test_direct_unaligned(void)
{
	struct bc_err err = { 0 };
	struct bc_file *f;
	uint8_t w[100], r[100];

	unlink("direct.bin");
	if (bc_file_open(&f, "direct.bin", BC_FILE_RDWR | BC_FILE_CREATE | BC_FILE_DIRECT,
			 BC_IO_POSIX, &err) < 0) {
		tap_ok(true, "O_DIRECT unaligned I/O # SKIP O_DIRECT refused here: %s", err.msg);
		return;
	}
	memset(w, 0x5a, sizeof(w));
	tap_ok(bc_file_pwrite(f, w, sizeof(w), 10) == 0, "O_DIRECT: unaligned write");
	tap_ok(bc_file_length(f) == 110, "O_DIRECT: file length is what was written (%lld)",
	       (long long)bc_file_length(f));
	tap_ok(bc_file_pread(f, r, sizeof(r), 10) == 0 && !memcmp(w, r, sizeof(r)),
	       "O_DIRECT: unaligned read back");
	tap_ok(bc_file_pread(f, r, 10, 0) == 0 && r[0] == 0 && r[9] == 0, "O_DIRECT: head untouched");
	bc_file_close(f);
	unlink("direct.bin");
}

int main(void)
{
	test_direct_unaligned();
	test_rmw();
	test_chain();
	test_aio_raw();
	test_probe_guard();
	return tap_done();
}
