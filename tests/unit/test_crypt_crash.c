/*
 * Power loss during encrypted writes: test_crash's workload on qcow2 images encrypted with
 * LUKS (aes-256-xts, aes-128-cbc-essiv) and legacy AES (v2 and v3), on a crash-simulating
 * host file that loses power after its k-th write, for every k. Each disk that could be found
 * afterwards (the last flush plus a prefix of the writes since, the last one torn at a sector
 * boundary: a disk writes sectors whole, and a torn sector would decrypt to noise on any
 * implementation) must open with the secret, pass check without corruptions, and read at
 * every byte either zero or the byte of a write that covered it (noise from a sector encrypted
 * with the wrong key/IV or left unencrypted fails this).
 */
#include "crash-lib.h"
#include "secret.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

struct fmt_case {
	const char *fmt, *opts;
};
#define LUKS "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10"
static const struct fmt_case cases[] = {
	{ "qcow2", LUKS },
	{ "qcow2", LUKS ",cluster_size=4096,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,"
		   "encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256" },
	{ "qcow2", "encrypt.format=aes,encrypt.key-secret=s0" },
	{ "qcow2", "encrypt.format=aes,encrypt.key-secret=s0,compat=0.10,cluster_size=4096" },
};
static struct bc_opts *dopts;   /* encrypt.key-secret=s0 */

static uint32_t allowed[CRASH_NSAMPLES];   /* bit i: write i may be what a sample holds */

static int run_workload(struct bc_image *img, void *ctx, struct bc_err *err)
{
	(void)ctx, (void)err;
	return crash_run_ops(img, crash_workload, crash_workload_len);
}

/* Checks one disk as found after a power loss; returns a description of what is wrong. */
static const char *verify_image(uint8_t *data, size_t len, void *ctx)
{
	static char why[64];
	static uint8_t buf[CRASH_IMG_SIZE];
	const struct fmt_case *fc = ctx;
	const char *bad = NULL;
	struct bc_image *img = crash_open_checked(fc->fmt, dopts, NULL, data, len, &bad);

	if (!img)
		return bad;
	if (bc_read(img, 0, buf, CRASH_IMG_SIZE) < 0) {
		bad = "read failed";
	} else {
		for (uint32_t i = 0; i < CRASH_IMG_SIZE && !bad; i++) {
			uint8_t v = buf[i];
			if (v && (v >= 32 || !(allowed[i / CRASH_SAMPLE] & (1u << v)))) {
				snprintf(why, sizeof(why), "byte %u reads %u, never written there", i, v);
				bad = why;
			}
		}
	}
	bc_close(img);
	return bad;
}

int main(void)
{
	struct bc_err err = { 0 };

	dopts = bc_opts_new();
	if (!dopts || bc_secret_object_add("secret,id=s0,data=crash-pass", &err) < 0 ||
	    bc_opts_set(dopts, "encrypt.key-secret", "s0") < 0)
		return 1;
	crash_compute_allowed(crash_workload, crash_workload_len, allowed);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct fmt_case *fc = &cases[c];
		char label[256];
		size_t blen = 0;
		int failures = 0;
		uint8_t *base = crash_make_base(fc->fmt, CRASH_IMG_SIZE, fc->opts, &blen, &err);

		if (!base && err.msg[0])
			tap_diag("create %s %s: %s", fc->fmt, fc->opts, err.msg);
		if (!tap_ok(base != NULL, "crash %s %s: base image", fc->fmt, fc->opts))
			continue;
		/* the last write torn after a sector: a torn sector decrypts to noise */
		snprintf(label, sizeof(label), "%s %s", fc->fmt, fc->opts);
		const struct crash_target t = { .fmt = fc->fmt, .driver_opts = dopts, .label = label,
						.torn = 512, .work = run_workload,
						.verify = verify_image, .ctx = (void *)fc };
		int total = crash_every_point(&t, base, blen, &failures);
		tap_ok(total > 0 && failures == 0, "crash %s %s: %d crash points, %d bad disks",
		       fc->fmt, fc->opts, total, failures);
		free(base);
	}
	bc_opts_free(dopts);
	return tap_done();
}
