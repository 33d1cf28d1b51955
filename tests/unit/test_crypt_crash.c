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
#include "bc_driver.h"
#include "secret.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMG_SIZE (4u << 20)
#define SAMPLE 512
#define NSAMPLES (IMG_SIZE / SAMPLE)
#define KiB 1024u

enum op_kind { OP_WRITE, OP_ZERO, OP_DISCARD, OP_FLUSH };
struct op {
	enum op_kind kind;
	uint32_t off, len;
};

/* Write i (1-based among OP_WRITEs) fills its range with the byte i. */
static const struct op workload[] = {
	{ OP_WRITE, 0, 64 * KiB },
	{ OP_WRITE, 100 * KiB, 10 * KiB },
	{ OP_WRITE, 1024 * KiB, 1028 * KiB },
	{ OP_FLUSH, 0, 0 },
	{ OP_WRITE, 32 * KiB, 4 * KiB },
	{ OP_ZERO, 1024 * KiB, 64 * KiB },
	{ OP_WRITE, 3072 * KiB, 512 },
	{ OP_DISCARD, 0, 64 * KiB },
	{ OP_WRITE, 2560 * KiB, 300 * KiB },
	{ OP_FLUSH, 0, 0 },
	{ OP_WRITE, 0, 8 * KiB },
	{ OP_WRITE, 3990 * KiB, 100 * KiB },
	{ OP_WRITE, 1500 * KiB, 1 },
};

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
static const struct op *const ops = workload;
static const size_t nops = sizeof(workload) / sizeof(workload[0]);

static uint32_t allowed[NSAMPLES];   /* bit i: write i may be what a sample holds */

static void compute_allowed(void)
{
	int id = 0;

	memset(allowed, 0, sizeof(allowed));
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].kind != OP_WRITE)
			continue;
		id++;
		for (uint32_t s = ops[i].off / SAMPLE; s * SAMPLE < ops[i].off + ops[i].len &&
							      s < NSAMPLES; s++)
			allowed[s] |= 1u << id;
	}
}

/* Returns the first error: the power loss, or (without one) a real failure. */
static int run_workload(struct bc_image *img)
{
	static uint8_t buf[2 << 20];
	int id = 0;

	for (size_t i = 0; i < nops; i++) {
		const struct op *o = &ops[i];
		uint32_t len = o->off + o->len > IMG_SIZE ? IMG_SIZE - o->off : o->len;
		int ret = 0;
		switch (o->kind) {
		case OP_WRITE:
			memset(buf, ++id, len);
			ret = bc_write(img, o->off, buf, len);
			break;
		case OP_ZERO: ret = bc_write_zeroes(img, o->off, len, BC_ZERO_MAY_UNMAP); break;
		case OP_DISCARD: ret = bc_discard(img, o->off, len); break;
		case OP_FLUSH: ret = bc_flush(img); break;
		}
		if (ret < 0)
			return ret;    /* the power is gone */
	}
	return bc_flush(img);
}

/* Checks one disk as found after a power loss; returns a description of what is wrong. */
static const char *verify_image(const struct fmt_case *fc, uint8_t *data, size_t len)
{
	static char why[BC_ERR_MAX + 64];
	static uint8_t buf[IMG_SIZE];
	struct bc_open_opts o = { .format = fc->fmt, .flags = BC_OPEN_NO_REPAIR,
				  .driver_opts = dopts };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;
	struct bc_check res;

	if (bc_file_open_mem(&f, "crash.img", data, len, len) < 0)
		return "out of memory";
	if (bc_open_file(&img, f, &o, &err) < 0) {
		snprintf(why, sizeof(why), "open failed: %s", err.msg);
		return why;
	}
	if (bc_check(img, &res, 0, &err) < 0) {
		snprintf(why, sizeof(why), "check failed: %s", err.msg);
		bc_close(img);
		return why;
	}
	int corrupt = res.corruptions, errors = res.check_errors;
	bc_check_free(&res);
	if (corrupt || errors) {
		snprintf(why, sizeof(why), "check: %d corruptions, %d errors", corrupt, errors);
		bc_close(img);
		return why;
	}
	const char *bad = NULL;
	if (bc_read(img, 0, buf, IMG_SIZE) < 0) {
		bad = "read failed";
	} else {
		for (uint32_t i = 0; i < IMG_SIZE && !bad; i++) {
			uint8_t v = buf[i];
			if (v && (v >= 32 || !(allowed[i / SAMPLE] & (1u << v)))) {
				snprintf(why, sizeof(why), "byte %u reads %u, never written there", i, v);
				bad = why;
			}
		}
	}
	bc_close(img);
	return bad;
}

/* Disks to try after a crash with n pending writes: none, all, a few prefixes, torn tails. */
static int recovery_choices(int n, int keep[8], size_t tear[8], const struct bc_crashsim *sim)
{
	int k = 0;
	(void)sim;
	keep[k] = 0, tear[k++] = 0;
	if (n >= 1)
		keep[k] = n, tear[k++] = 0;
	if (n >= 1)
		keep[k] = n, tear[k++] = 512;     /* the last write torn after a sector */
	if (n >= 2)
		keep[k] = 1, tear[k++] = 0;
	if (n >= 3)
		keep[k] = n / 2, tear[k++] = 0, keep[k] = n - 1, tear[k++] = 0;
	return k;
}

static int crash_once(const struct fmt_case *fc, const uint8_t *base, size_t blen, int budget,
		      int *failures)
{
	struct bc_open_opts o = { .format = fc->fmt, .flags = BC_OPEN_RDWR, .driver_opts = dopts };
	struct bc_err err = { 0 };
	struct bc_crashsim *sim;
	struct bc_file *f;
	struct bc_image *img;
	int keep[8];
	size_t tear[8];

	if (bc_file_open_crashsim(&f, "crash.img", base, blen, 64u << 20, budget, &sim) < 0)
		return -ENOMEM;
	if (bc_open_file(&img, f, &o, &err) < 0) {
		tap_diag("%s %s: open for the workload failed: %s", fc->fmt, fc->opts, err.msg);
		return -EIO;
	}
	if (run_workload(img) < 0 && budget < 0 && (*failures)++ < 3)
		tap_diag("%s %s: the workload failed without a power loss", fc->fmt, fc->opts);
	int writes = bc_crashsim_writes(sim);
	int n = recovery_choices(bc_crashsim_pending(sim), keep, tear, sim);
	for (int i = 0; i < n && budget >= 0; i++) {
		uint8_t *data;
		size_t len;
		if (bc_crashsim_image(sim, keep[i], tear[i], &data, &len) < 0)
			continue;
		const char *why = verify_image(fc, data, len);
		if (why && (*failures)++ < 3)
			tap_diag("%s %s: power lost after write %d, %d pending kept%s: %s", fc->fmt,
				 fc->opts, budget, keep[i], tear[i] ? " (last torn)" : "", why);
		free(data);
	}
	bc_close(img);
	return writes;
}

static uint8_t *make_base(const struct fmt_case *fc, size_t *len)
{
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	char path[64], num[32];
	uint8_t *data = NULL;

	snprintf(path, sizeof(path), "crash-base-%d.img", (int)getpid());
	snprintf(num, sizeof(num), "%u", IMG_SIZE);
	bc_opts_set(opts, "size", num);
	if (*fc->opts)
		bc_opts_parse(opts, fc->opts, &err);
	if (bc_create(fc->fmt, path, opts, &err) == 0) {
		FILE *fp = fopen(path, "rb");
		if (fp && fseek(fp, 0, SEEK_END) == 0) {
			long n = ftell(fp);
			data = n >= 0 ? malloc((size_t)n + 1) : NULL;
			rewind(fp);
			if (data && fread(data, 1, (size_t)n, fp) == (size_t)n)
				*len = (size_t)n;
			else {
				free(data);
				data = NULL;
			}
		}
		if (fp)
			fclose(fp);
	} else {
		tap_diag("create %s %s: %s", fc->fmt, fc->opts, err.msg);
	}
	unlink(path);
	bc_opts_free(opts);
	return data;
}

int main(void)
{
	struct bc_err err = { 0 };

	dopts = bc_opts_new();
	if (!dopts || bc_secret_object_add("secret,id=s0,data=crash-pass", &err) < 0 ||
	    bc_opts_set(dopts, "encrypt.key-secret", "s0") < 0)
		return 1;
	compute_allowed();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct fmt_case *fc = &cases[c];
		size_t blen = 0;
		int failures = 0;
		uint8_t *base = make_base(fc, &blen);

		if (!tap_ok(base != NULL, "crash %s %s: base image", fc->fmt, fc->opts))
			continue;
		int total = crash_once(fc, base, blen, -1, &failures);
		for (int k = 0; k < total; k++)
			crash_once(fc, base, blen, k, &failures);
		tap_ok(total > 0 && failures == 0, "crash %s %s: %d crash points, %d bad disks",
		       fc->fmt, fc->opts, total, failures);
		free(base);
	}
	bc_opts_free(dopts);
	return tap_done();
}
