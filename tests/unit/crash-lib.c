/* Shared pieces of the power-loss unit tests; see crash-lib.h. */
#include "crash-lib.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KiB 1024u

const struct crash_op crash_workload[] = {
	{ CRASH_WRITE, 0, 64 * KiB },
	{ CRASH_WRITE, 100 * KiB, 10 * KiB },
	{ CRASH_WRITE, 1024 * KiB, 1028 * KiB },
	{ CRASH_FLUSH, 0, 0 },
	{ CRASH_WRITE, 32 * KiB, 4 * KiB },
	{ CRASH_ZERO, 1024 * KiB, 64 * KiB },
	{ CRASH_WRITE, 3072 * KiB, 512 },
	{ CRASH_DISCARD, 0, 64 * KiB },
	{ CRASH_WRITE, 2560 * KiB, 300 * KiB },
	{ CRASH_FLUSH, 0, 0 },
	{ CRASH_WRITE, 0, 8 * KiB },
	{ CRASH_WRITE, 3990 * KiB, 100 * KiB },
	{ CRASH_WRITE, 1500 * KiB, 1 },
};
const size_t crash_workload_len = sizeof(crash_workload) / sizeof(crash_workload[0]);

void crash_compute_allowed(const struct crash_op *ops, size_t nops,
			   uint32_t allowed[CRASH_NSAMPLES])
{
	int id = 0;

	memset(allowed, 0, CRASH_NSAMPLES * sizeof(allowed[0]));
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].kind != CRASH_WRITE && ops[i].kind != CRASH_CWRITE)
			continue;
		id++;
		for (uint32_t s = ops[i].off / CRASH_SAMPLE;
		     s * CRASH_SAMPLE < ops[i].off + ops[i].len && s < CRASH_NSAMPLES; s++)
			allowed[s] |= 1u << id;
	}
}

int crash_run_ops(struct bc_image *img, const struct crash_op *ops, size_t nops)
{
	static uint8_t buf[2 << 20];
	int id = 0;

	for (size_t i = 0; i < nops; i++) {
		const struct crash_op *o = &ops[i];
		uint32_t len = o->off + o->len > CRASH_IMG_SIZE ? CRASH_IMG_SIZE - o->off : o->len;
		int ret = 0;
		switch (o->kind) {
		case CRASH_WRITE:
			memset(buf, ++id, len);
			ret = bc_write(img, o->off, buf, len);
			break;
		case CRASH_CWRITE:
			memset(buf, ++id, len);
			ret = bc_write_compressed(img, o->off, buf, len);
			break;
		case CRASH_ZERO: ret = bc_write_zeroes(img, o->off, len, BC_ZERO_MAY_UNMAP); break;
		case CRASH_DISCARD: ret = bc_discard(img, o->off, len); break;
		case CRASH_FLUSH: ret = bc_flush(img); break;
		}
		if (ret < 0)
			return ret;    /* the power is gone */
	}
	return bc_flush(img);
}

uint8_t *crash_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0) {
		rewind(fp);
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, fp) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(fp);
	return data;
}

uint8_t *crash_make_base(const char *fmt, uint32_t size, const char *opts, size_t *len,
			 struct bc_err *err)
{
	struct bc_opts *o = bc_opts_new();
	char path[64], num[32];
	uint8_t *data = NULL;

	snprintf(path, sizeof(path), "crash-base-%d.img", (int)getpid());
	snprintf(num, sizeof(num), "%u", size);
	bc_opts_set(o, "size", num);
	if (*opts)
		bc_opts_parse(o, opts, err);
	err->msg[0] = 0;
	if (bc_create(fmt, path, o, err) == 0)
		data = crash_read_file(path, len);
	unlink(path);
	bc_opts_free(o);
	return data;
}

struct bc_image *crash_open_checked(const char *fmt, struct bc_opts *driver_opts,
				    const char *tolerated, uint8_t *data, size_t len,
				    const char **why)
{
	static char buf[BC_ERR_MAX + 64];
	struct bc_open_opts o = { .format = fmt, .flags = BC_OPEN_NO_REPAIR,
				  .driver_opts = driver_opts };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;
	struct bc_check res;

	*why = buf;
	if (bc_file_open_mem(&f, "crash.img", data, len, len) < 0) {
		*why = "out of memory";
		return NULL;
	}
	if (bc_open_file(&img, f, &o, &err) < 0) {
		snprintf(buf, sizeof(buf), "open failed: %s", err.msg);
		return NULL;
	}
	if (bc_check(img, &res, 0, &err) < 0) {
		snprintf(buf, sizeof(buf), "check failed: %s", err.msg);
		bc_close(img);
		return NULL;
	}
	int corrupt = res.corruptions, errors = res.check_errors;
	for (int i = 0; i < res.nmessages && tolerated; i++)
		if (strstr(res.messages[i], tolerated))
			corrupt--;
	bc_check_free(&res);
	if (corrupt || errors) {
		snprintf(buf, sizeof(buf), "check: %d corruptions, %d errors", corrupt, errors);
		bc_close(img);
		return NULL;
	}
	*why = NULL;
	return img;
}

int crash_qcow2_corruptions(const struct bc_check *res, const char **first)
{
	int corrupt = res->corruptions;

	*first = NULL;
	for (int i = 0; i < res->nmessages; i++) {
		const char *m = res->messages[i], *rc = strstr(m, "refcount=");
		if (strstr(m, "OFLAG_COPIED") && rc && !strcmp(rc, "refcount=1"))
			corrupt--;
		else if (!*first && strncmp(m, "Leaked", 6))
			*first = m;
	}
	return corrupt;
}

int crash_recovery_choices(int n, size_t torn, int keep[8], size_t tear[8])
{
	int k = 0;

	keep[k] = 0, tear[k++] = 0;
	if (n >= 1)
		keep[k] = n, tear[k++] = 0;
	if (n >= 1)
		keep[k] = n, tear[k++] = torn;
	if (n >= 2)
		keep[k] = 1, tear[k++] = 0;
	if (n >= 3)
		keep[k] = n / 2, tear[k++] = 0, keep[k] = n - 1, tear[k++] = 0;
	return k;
}

int crash_once(const struct crash_target *t, const uint8_t *base, size_t blen, int budget,
	       int *failures)
{
	struct bc_open_opts o = { .format = t->fmt, .flags = BC_OPEN_RDWR,
				  .driver_opts = t->driver_opts };
	struct bc_err err = { 0 };
	struct bc_crashsim *sim;
	struct bc_file *f;
	struct bc_image *img;
	int keep[8];
	size_t tear[8];

	if (bc_file_open_crashsim(&f, "crash.img", base, blen, 64u << 20, budget, &sim) < 0)
		return -ENOMEM;
	if (bc_open_file(&img, f, &o, &err) < 0) {
		tap_diag("%s: open for the workload failed: %s", t->label, err.msg);
		return -EIO;
	}
	if (t->work(img, t->ctx, &err) < 0 && budget < 0 && (*failures)++ < 3)
		tap_diag("%s: the workload failed without a power loss%s%s", t->label,
			 err.msg[0] ? ": " : "", err.msg);
	int writes = bc_crashsim_writes(sim);
	int n = crash_recovery_choices(bc_crashsim_pending(sim), t->torn, keep, tear);
	for (int i = 0; i < n && budget >= 0; i++) {
		uint8_t *data;
		size_t len;
		if (bc_crashsim_image(sim, keep[i], tear[i], &data, &len) < 0)
			continue;
		const char *why = t->verify(data, len, t->ctx);
		if (why && (*failures)++ < 3)
			tap_diag("%s: power lost after write %d, %d pending kept%s: %s", t->label,
				 budget, keep[i], tear[i] ? " (last torn)" : "", why);
		free(data);
	}
	bc_close(img);
	return writes;
}

int crash_every_point(const struct crash_target *t, const uint8_t *base, size_t blen,
		      int *failures)
{
	int total = crash_once(t, base, blen, -1, failures);

	for (int k = 0; k < total; k++)
		crash_once(t, base, blen, k, failures);
	return total;
}
