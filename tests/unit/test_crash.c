/*
 * Crash consistency of every writable format, through the engine: a workload of allocating,
 * overwriting, partial-cluster, zeroing and discarding writes runs on a crash-simulating host
 * file that loses power after its k-th write, for every k. Each disk that could be found after
 * such a power loss (the last flush plus a prefix of the writes since, the last one torn or not)
 * must open, pass the format's check without corruptions (leaks are allowed, as qemu allows
 * them), and read at every sampled byte either zero or a value some write put there.
 */
#include "crash-lib.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024u

/* Compressed writes (whole 64 KiB ranges, so whole clusters at 4 KiB and 64 KiB) packed into
 * shared host clusters, and every kind of overwrite of them. CRASH_CWRITE counts as a write. */
static const struct crash_op cworkload[] = {
	{ CRASH_CWRITE, 0, 128 * KiB },
	{ CRASH_CWRITE, 256 * KiB, 64 * KiB },
	{ CRASH_WRITE, 1024 * KiB, 64 * KiB },
	{ CRASH_FLUSH, 0, 0 },
	{ CRASH_WRITE, 64 * KiB + 100, 1000 },
	{ CRASH_CWRITE, 0, 64 * KiB },
	{ CRASH_CWRITE, 1024 * KiB, 64 * KiB },
	{ CRASH_ZERO, 256 * KiB, 64 * KiB },
	{ CRASH_DISCARD, 0, 64 * KiB },
	{ CRASH_CWRITE, 4032 * KiB, 64 * KiB },
	{ CRASH_FLUSH, 0, 0 },
	{ CRASH_CWRITE, 512 * KiB, 192 * KiB },
	{ CRASH_CWRITE, 64 * KiB, 64 * KiB },
};

struct fmt_case {
	const char *fmt, *opts;
	/* A check finding the format cannot avoid after a crash, counted but not failed on:
	 * vdi keeps its allocated-block count in the header, in another sector than the block
	 * map, so no write order keeps the two equal across a power loss (qemu's vdi neither). */
	const char *tolerated;
	bool compressed;  /* runs cworkload instead of crash_workload */
};
static const struct fmt_case cases[] = {
	{ "qcow2", "", NULL, false },
	{ "qcow2", "compat=0.10", NULL, false },
	{ "qcow2", "cluster_size=4096,refcount_bits=1", NULL, false },
	{ "qcow2", "extended_l2=on", NULL, false },
	{ "vmdk", "", NULL, false },
	{ "vdi", "", "allocated blocks mismatch", false },
	{ "qcow2", "", NULL, true },
	{ "qcow2", "compat=0.10,compression_type=zlib", NULL, true },
	{ "qcow2", "cluster_size=4096,refcount_bits=1", NULL, true },
	{ "qcow2", "extended_l2=on,compression_type=zstd", NULL, true },
};
static const struct crash_op *ops = crash_workload;
static size_t nops;

static uint32_t allowed[CRASH_NSAMPLES];   /* bit i: write i may be what a sample holds */

static int run_workload(struct bc_image *img, void *ctx, struct bc_err *err)
{
	(void)ctx, (void)err;
	return crash_run_ops(img, ops, nops);
}

/* Checks one disk as found after a power loss; returns a description of what is wrong. */
static const char *verify_image(uint8_t *data, size_t len, void *ctx)
{
	static char why[64];
	static uint8_t buf[CRASH_IMG_SIZE];
	const struct fmt_case *fc = ctx;
	const char *bad = NULL;
	struct bc_image *img = crash_open_checked(fc->fmt, NULL, fc->tolerated, data, len, &bad);

	if (!img)
		return bad;
	if (bc_read(img, 0, buf, CRASH_IMG_SIZE) < 0) {
		bad = "read failed";
	} else {
		for (uint32_t s = 0; s < CRASH_NSAMPLES && !bad; s++) {
			uint8_t v[2] = { buf[s * CRASH_SAMPLE],
					 buf[s * CRASH_SAMPLE + CRASH_SAMPLE - 1] };
			for (int k = 0; k < 2 && !bad; k++) {
				if (v[k] && (v[k] >= 32 || !(allowed[s] & (1u << v[k])))) {
					snprintf(why, sizeof(why), "byte %u reads %u, never written there",
						 s * CRASH_SAMPLE + (k ? CRASH_SAMPLE - 1 : 0), v[k]);
					bad = why;
				}
			}
		}
	}
	bc_close(img);
	return bad;
}

int main(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct fmt_case *fc = &cases[c];
		struct bc_err err = { 0 };
		char label[128];
		size_t blen = 0;
		int failures = 0;

		ops = fc->compressed ? cworkload : crash_workload;
		nops = fc->compressed ? sizeof(cworkload) / sizeof(cworkload[0]) : crash_workload_len;
		crash_compute_allowed(ops, nops, allowed);
		if (!bc_format_find(fc->fmt)) {
			tap_ok(true, "crash %s %s # SKIP format not built", fc->fmt, fc->opts);
			continue;
		}
		uint8_t *base = crash_make_base(fc->fmt, CRASH_IMG_SIZE, fc->opts, &blen, &err);
		if (!base && err.msg[0])
			tap_diag("create %s %s: %s", fc->fmt, fc->opts, err.msg);
		if (!tap_ok(base != NULL, "crash %s %s%s: base image", fc->fmt, fc->opts,
			   fc->compressed ? " (compressed writes)" : ""))
			continue;
		snprintf(label, sizeof(label), "%s %s", fc->fmt, fc->opts);
		const struct crash_target t = { .fmt = fc->fmt, .label = label, .torn = 256,
						.work = run_workload, .verify = verify_image,
						.ctx = (void *)fc };
		int total = crash_every_point(&t, base, blen, &failures);
		tap_ok(total > 0 && failures == 0, "crash %s %s%s: %d crash points, %d bad disks",
		       fc->fmt, fc->opts, fc->compressed ? " (compressed writes)" : "", total, failures);
		free(base);
	}
	return tap_done();
}
