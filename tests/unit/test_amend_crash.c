/*
 * Crash consistency of qcow2 amend: each amendment runs on a crash-simulating host file that
 * loses power after its k-th write, for every k. Each disk a power loss could leave (the last
 * flush plus a prefix of the writes since, the last one torn or not) must open, pass check
 * without corruptions (leaks are allowed, as qemu allows them) and read what the image held
 * before: an amendment never changes guest data (past a new, smaller size it may read zero).
 */
#include "crash-lib.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMG_SIZE (4u << 20)
#define KiB 1024u

struct amend_case {
	const char *create, *amend;
};

static const struct amend_case cases[] = {
	{ "", "compat=0.10" },
	{ "compat=0.10", "compat=1.1" },
	{ "lazy_refcounts=on", "lazy_refcounts=off" },
	{ "", "lazy_refcounts=on" },
	{ "", "refcount_bits=1" },
	{ "cluster_size=4096", "refcount_bits=64" },
	{ "cluster_size=512", "refcount_bits=64" },
	{ "refcount_bits=64", "refcount_bits=16,compat=0.10" },
	{ "", "size=8M" },
	{ "", "size=2M" },
};

static uint8_t expect[IMG_SIZE];

/* Data, zero clusters with and without a host cluster, partial clusters. */
static int write_content(struct bc_image *img)
{
	static uint8_t buf[1 << 20];
	int ret;

	memset(buf, 1, sizeof(buf));
	ret = bc_write(img, 0, buf, 256 * KiB);
	if (ret == 0)
		ret = bc_write_zeroes(img, 64 * KiB, 64 * KiB, 0);
	if (ret == 0)
		ret = bc_write_zeroes(img, 1024 * KiB, 128 * KiB, 0);
	if (ret == 0)
		ret = bc_write_zeroes(img, 192 * KiB, 64 * KiB, BC_ZERO_MAY_UNMAP);
	memset(buf, 2, sizeof(buf));
	if (ret == 0)
		ret = bc_write(img, 2560 * KiB, buf, 1000 * KiB + 17);
	if (ret == 0)
		ret = bc_write(img, 3 * KiB, buf, 5000);
	return ret;
}

/* The starting image (file bytes) and its guest content in expect. */
static uint8_t *make_base(const struct amend_case *ac, size_t *len)
{
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_RDWR };
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_image *img = NULL;
	char path[64], num[32];
	uint8_t *data = NULL;

	snprintf(path, sizeof(path), "amend-base-%d.img", (int)getpid());
	snprintf(num, sizeof(num), "%u", IMG_SIZE);
	bc_opts_set(opts, "size", num);
	if (*ac->create)
		bc_opts_parse(opts, ac->create, &err);
	if (bc_create("qcow2", path, opts, &err) < 0 || bc_open(&img, path, &o, &err) < 0) {
		tap_diag("create %s: %s", ac->create, err.msg);
	} else if (write_content(img) == 0 && bc_read(img, 0, expect, IMG_SIZE) == 0 &&
		   bc_close(img) == 0) {
		img = NULL;
		data = crash_read_file(path, len);
	}
	if (img)
		bc_close(img);
	unlink(path);
	bc_opts_free(opts);
	return data;
}

/* One disk as found after a power loss; returns what is wrong with it, NULL when fine. */
static const char *verify_image(uint8_t *data, size_t len, void *ctx)
{
	static char why[64];
	static uint8_t buf[IMG_SIZE];
	const char *bad = NULL;
	struct bc_image *img = crash_open_checked("qcow2", NULL, NULL, data, len, &bad);

	(void)ctx;
	if (!img)
		return bad;
	uint64_t size = bc_length(img), n = size < IMG_SIZE ? size : IMG_SIZE;
	if (bc_read(img, 0, buf, (size_t)n) < 0)
		bad = "read failed";
	for (uint64_t i = 0; !bad && i < n; i++) {
		/* a shrink may have dropped the tail before the size in the header changed */
		if (buf[i] != expect[i] && !(buf[i] == 0 && i >= 2u << 20)) {
			snprintf(why, sizeof(why), "byte %llu reads %u, was %u", (unsigned long long)i,
				 buf[i], expect[i]);
			bad = why;
		}
	}
	bc_close(img);
	return bad;
}

/* The amendment, then a flush. */
static int amend(struct bc_image *img, void *ctx, struct bc_err *err)
{
	const struct amend_case *ac = ctx;
	struct bc_opts *opts = bc_opts_new();
	int ret = opts ? 0 : -ENOMEM;

	if (ret == 0) {
		bc_opts_parse(opts, ac->amend, err);
		ret = bc_amend(img, opts, NULL, err);
	}
	if (ret == 0)
		ret = bc_flush(img);
	bc_opts_free(opts);
	return ret;
}

int main(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct amend_case *ac = &cases[c];
		char label[128];
		size_t blen = 0;
		int failures = 0;
		uint8_t *base = make_base(ac, &blen);

		if (!tap_ok(base != NULL, "amend %s -> %s: base image", ac->create, ac->amend))
			continue;
		snprintf(label, sizeof(label), "%s -> %s", ac->create, ac->amend);
		const struct crash_target t = { .fmt = "qcow2", .label = label, .torn = 256,
						.work = amend, .verify = verify_image,
						.ctx = (void *)ac };
		int total = crash_every_point(&t, base, blen, &failures);
		tap_ok(total > 0 && failures == 0, "amend %s -> %s: %d crash points, %d bad disks",
		       ac->create, ac->amend, total, failures);
		free(base);
	}
	return tap_done();
}
