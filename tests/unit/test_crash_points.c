/*
 * Power loss at every write of long random qcow2 workloads (allocating, overwriting, partial,
 * zeroing, discarding and compressed writes, flushes, snapshot create and delete), in one
 * process. The crash-simulating file runs in journal mode: one run of the workload logs every
 * write, and since the crash model is ordered, the disks a power loss can leave are the initial
 * bytes plus each prefix of that log, the last write whole or torn. Each such disk must open,
 * check without corruption (leaks allowed, as qemu allows them) and read, at both ends of
 * every 512-byte sample, the value it held at the last completed flush or one written since:
 * so nothing flushed is lost and nothing never written appears.
 */
#include "crash-lib.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_SIZE (1u << 20)
#define SAMPLE 512
#define NSAMPLES (IMG_SIZE / SAMPLE)
#define MAX_OPS 250      /* op i fills with byte i + 1: ids fit a byte */

enum op_kind { OP_WRITE, OP_ZERO, OP_DISCARD, OP_CWRITE, OP_FLUSH, OP_SNAP, OP_SNAPDEL };
struct op {
	enum op_kind kind;
	uint32_t off, len;
	int start, end;   /* log length when the op began and when it completed */
};

struct cfg {
	const char *opts;
	uint32_t cluster;
	int nops;
	unsigned seed;
	bool no_snap;     /* refcount_bits=1 cannot share a cluster: no snapshots */
};
static const struct cfg cfgs[] = {
	{ "cluster_size=512", 512, 110, 1, false },
	{ "cluster_size=4096,refcount_bits=1", 4096, 140, 2, true },
	{ "cluster_size=4096,lazy_refcounts=on", 4096, 140, 3, false },
	{ "", 65536, 200, 4, false },
	{ "compat=0.10,cluster_size=1024", 1024, 120, 5, false },
	{ "extended_l2=on,cluster_size=16384", 16384, 160, 6, false },
	{ "refcount_bits=64,cluster_size=2048,compression_type=zstd", 2048, 120, 7, false },
};

static struct op ops[MAX_OPS];
static int nops;

/* Per sample, as sets of byte values: what it may hold now, at the last completed flush, and
 * what was written since. A set because a discard may leave the old bytes (it is advisory:
 * qcow2 ignores the parts of clusters it does not cover) or zeros. */
static uint32_t cur[NSAMPLES][8], flushed[NSAMPLES][8], since[NSAMPLES][8];

static uint32_t rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8) & 0xffffff;
}

static void make_ops(const struct cfg *c)
{
	unsigned s = c->seed;

	nops = c->nops;
	for (int i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		uint32_t r = rnd(&s) % 100;
		o->kind = r < 55 ? OP_WRITE : r < 63 ? OP_ZERO : r < 70 ? OP_DISCARD
			: r < 80 ? OP_CWRITE : r < 90 || c->no_snap ? OP_FLUSH
			: r < 95 ? OP_SNAP : OP_SNAPDEL;
		if (o->kind == OP_CWRITE) {
			uint32_t n = 1 + rnd(&s) % (c->cluster >= 16384 ? 2 : 8);
			o->len = n * c->cluster;
			o->off = rnd(&s) % (IMG_SIZE / c->cluster - n + 1) * c->cluster;
		} else {
			o->len = SAMPLE * (1 + rnd(&s) % (rnd(&s) % 4 ? 16 : 256));
			o->off = rnd(&s) % (NSAMPLES - o->len / SAMPLE + 1) * SAMPLE;
		}
	}
}

static int snap_op(struct bc_image *img, enum op_kind kind, int i)
{
	struct bc_snapshot sn = { .icount = 0, .date_sec = 1700000000 };
	struct bc_snapshot *list = NULL;
	struct bc_err err = { 0 };
	int n = 0, ret;

	if (kind == OP_SNAP) {
		snprintf(sn.name, sizeof(sn.name), "s%d", i);
		return bc_snapshot_create(img, &sn, &err);
	}
	ret = bc_snapshot_list(img, &list, &n, &err);
	if (ret == 0 && n > 0)
		ret = bc_snapshot_delete(img, list[0].id, NULL, &err);
	free(list);
	return ret;
}

static int run_ops(struct bc_image *img, const struct bc_crashsim *sim)
{
	static uint8_t buf[256 * SAMPLE];

	for (int i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		int ret = 0;
		o->start = bc_crashsim_writes(sim);
		switch (o->kind) {
		case OP_WRITE:
			memset(buf, i + 1, o->len);
			ret = bc_write(img, o->off, buf, o->len);
			break;
		case OP_CWRITE:
			memset(buf, i + 1, o->len);
			ret = bc_write_compressed(img, o->off, buf, o->len);
			break;
		case OP_ZERO: ret = bc_write_zeroes(img, o->off, o->len, BC_ZERO_MAY_UNMAP); break;
		case OP_DISCARD: ret = bc_discard(img, o->off, o->len); break;
		case OP_FLUSH: ret = bc_flush(img); break;
		case OP_SNAP: case OP_SNAPDEL: ret = snap_op(img, o->kind, i); break;
		}
		o->end = bc_crashsim_writes(sim);
		if (ret < 0) {
			tap_diag("op %d (kind %d at %u+%u) failed: %s", i, o->kind, o->off, o->len,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void model_apply(const struct op *o, int i)
{
	uint8_t v = o->kind == OP_WRITE || o->kind == OP_CWRITE ? (uint8_t)(i + 1) : 0;

	if (o->kind == OP_FLUSH || o->kind == OP_SNAP || o->kind == OP_SNAPDEL)
		return;
	for (uint32_t s = o->off / SAMPLE; s < (o->off + o->len) / SAMPLE; s++) {
		if (o->kind != OP_DISCARD)
			memset(cur[s], 0, sizeof(cur[s]));
		cur[s][v / 32] |= 1u << (v % 32);
		since[s][v / 32] |= 1u << (v % 32);
	}
}

static bool allowed(uint32_t s, uint8_t v)
{
	return ((flushed[s][v / 32] | since[s][v / 32]) >> (v % 32)) & 1;
}

/* Checks one disk; returns what is wrong with it or NULL. */
static const char *verify(const uint8_t *data, size_t len)
{
	static char why[BC_ERR_MAX + 96];
	static uint8_t buf[IMG_SIZE];
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_NO_REPAIR };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;
	struct bc_check res;
	const char *bad = NULL;

	if (bc_file_open_mem(&f, "points.img", data, len, len) < 0)
		return "out of memory";
	if (bc_open_file(&img, f, &o, &err) < 0) {
		snprintf(why, sizeof(why), "open failed: %s", err.msg);
		return why;
	}
	const char *first = NULL;
	int ret = bc_check(img, &res, 0, &err);
	int corrupt = ret < 0 ? 1 : crash_qcow2_corruptions(&res, &first);
	if (ret < 0 || corrupt || res.check_errors) {
		snprintf(why, sizeof(why), "check: %d corruptions, %d errors %s %s", corrupt,
			 ret < 0 ? 0 : res.check_errors, err.msg, first ? first : "");
		bad = why;
	}
	if (ret == 0)
		bc_check_free(&res);
	if (!bad && bc_read(img, 0, buf, IMG_SIZE) < 0)
		bad = "read failed";
	for (uint32_t s = 0; s < NSAMPLES && !bad; s++) {
		const uint8_t v[2] = { buf[s * SAMPLE], buf[s * SAMPLE + SAMPLE - 1] };
		for (int k = 0; k < 2 && !bad; k++) {
			if (!allowed(s, v[k])) {
				snprintf(why, sizeof(why), "byte %u reads %u",
					 s * SAMPLE + (k ? SAMPLE - 1 : 0), v[k]);
				bad = why;
			}
		}
	}
	bc_close(img);
	return bad;
}

/* Applies log entry i to the disk (growing it), whole or only its first tear bytes. */
static int apply_write(const struct bc_crashsim *sim, int i, uint8_t **disk, size_t *len,
		       size_t *cap, size_t tear)
{
	uint64_t off;
	size_t wl, new_len;
	const uint8_t *d;

	if (bc_crashsim_write_at(sim, i, &off, &wl, &d, &new_len) < 0)
		return -EINVAL;
	if (new_len > *cap) {
		uint8_t *n = realloc(*disk, new_len);
		if (!n)
			return -ENOMEM;
		memset(n + *cap, 0, new_len - *cap);
		*disk = n;
		*cap = new_len;
	}
	if (d)
		memcpy(*disk + off, d, tear && tear < wl ? tear : wl);
	else if (new_len < *len)
		memset(*disk + new_len, 0, *len - new_len);
	*len = new_len;
	return 0;
}

/* Advances the model to the disk holding the first m log entries. */
static void model_advance(int *next, int m)
{
	while (*next < nops && ops[*next].start <= m) {
		const struct op *o = &ops[*next];
		if (o->kind == OP_FLUSH) {
			if (o->end > m)
				break;      /* the flush has not completed on this disk */
			memcpy(flushed, cur, sizeof(cur));
			memset(since, 0, sizeof(since));
		}
		model_apply(o, *next);
		(*next)++;
	}
}

static void run_cfg(const struct cfg *c, long *points_total)
{
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_RDWR };
	struct bc_err err = { 0 };
	struct bc_crashsim *sim;
	struct bc_file *f;
	struct bc_image *img;
	size_t blen = 0;
	uint8_t *base = crash_make_base("qcow2", IMG_SIZE, c->opts, &blen, &err);
	int failures = 0, points = 0;

	if (!base && err.msg[0])
		tap_diag("create %s: %s", c->opts, err.msg);
	if (!tap_ok(base != NULL, "crash points %s: base image", c->opts))
		return;
	make_ops(c);
	if (bc_file_open_crashsim(&f, "points.img", base, blen, 64u << 20, -1, &sim) < 0) {
		tap_ok(false, "crash points %s: crash file", c->opts);
		free(base);
		return;
	}
	bc_crashsim_journal(sim);
	if (bc_open_file(&img, f, &o, &err) < 0 || run_ops(img, sim) < 0 || bc_flush(img) < 0) {
		tap_ok(false, "crash points %s: workload %s", c->opts, err.msg);
		free(base);
		return;
	}
	int total = bc_crashsim_writes(sim);
	memset(since, 0, sizeof(since));
	for (uint32_t s = 0; s < NSAMPLES; s++) {
		memset(cur[s], 0, sizeof(cur[s]));
		cur[s][0] = 1;      /* a new image reads zeros */
	}
	memcpy(flushed, cur, sizeof(cur));
	size_t len = blen, cap = blen;
	uint8_t *disk = malloc(cap), *save = malloc(SAMPLE);
	int next = 0;
	memcpy(disk, base, blen);
	for (int m = 0; m <= total && disk && save; m++) {
		if (m > 0 && apply_write(sim, m - 1, &disk, &len, &cap, 0) < 0)
			break;
		model_advance(&next, m);
		const char *why = verify(disk, len);
		points++;
		if (why && failures++ < 3)
			tap_diag("%s: power lost after write %d of %d: %s", c->opts, m, total, why);
		if (why && failures == 1 && getenv("CRASH_DEBUG"))
			for (int i = 0; i < nops; i++)
				tap_diag("op %d kind %d %u+%u writes %d..%d", i, ops[i].kind, ops[i].off,
					 ops[i].len, ops[i].start, ops[i].end);
		/* The next write torn after its first 256 bytes (a sector half written). */
		uint64_t off;
		size_t wl, nl;
		const uint8_t *d;
		if (m < total && bc_crashsim_write_at(sim, m, &off, &wl, &d, &nl) == 0 && d &&
		    wl > 256 && off + 256 <= len) {
			memcpy(save, disk + off, 256);
			memcpy(disk + off, d, 256);
			why = verify(disk, len);
			memcpy(disk + off, save, 256);
			points++;
			if (why && failures++ < 3)
				tap_diag("%s: write %d torn: %s", c->opts, m + 1, why);
		}
	}
	free(save);
	free(disk);
	bc_close(img);
	free(base);
	*points_total += points;
	tap_ok(failures == 0 && points > total, "crash points %s: %d writes, %d disks, %d bad",
	       c->opts, total, points, failures);
}

int main(void)
{
	long points = 0;

	if (!bc_format_find("qcow2")) {
		tap_ok(true, "crash points # SKIP qcow2 not built");
		return tap_done();
	}
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		run_cfg(&cfgs[i], &points);
	tap_ok(points >= 10000, "%ld simulated power-loss disks verified (at least 10000)", points);
	return tap_done();
}
