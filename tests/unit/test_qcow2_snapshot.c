/*
 * qcow2 internal snapshots through the engine, on in-memory and crash-simulating files:
 *  - end to end: create, copy-on-write writes, apply, delete, VM state, opening a snapshot
 *    read-only, refcount overflow (refcount_bits=1) refused without changes;
 *  - power loss at every write of snapshot create, apply, delete and of a copy-on-write
 *    write: every disk that could be found afterwards must pass check without corruptions
 *    (leaks allowed, and "COPIED clear with refcount 1", which is safe), hold the old or the new snapshot table, read the active state as the
 *    old or the new one, and read every listed snapshot exactly as taken (invariants S1-S5
 *    of formats/qcow2/snapshot.c);
 *  - snapshot operations on damaged copies (byte flips in the table and metadata) fail
 *    cleanly.
 */
#include "crash-lib.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCL 80 /* clusters of virtual disk */

struct geo {
	const char *opts;
	uint32_t cs;
};
static const struct geo geos[] = {
	{ "cluster_size=65536", 65536 },
	{ "cluster_size=512,compat=0.10", 512 },
	{ "cluster_size=4096,refcount_bits=64,lazy_refcounts=on", 4096 },
	{ "cluster_size=65536,extended_l2=on", 65536 },
};

static const struct geo *g;
static uint64_t disk;
static uint8_t *st_a, *st_b, *st_c; /* snapshot s1, active before the op, after a COW write */

static void fill(uint8_t *buf, uint64_t off, uint64_t len, uint8_t v)
{
	memset(buf + off, v, len);
}

/* The states: A written, snapshot s1 taken, then B written over part of it. */
static void build_states(void)
{
	uint64_t cs = g->cs;

	disk = (uint64_t)NCL * cs;
	free(st_a);
	free(st_b);
	free(st_c);
	st_a = calloc(1, disk);
	st_b = calloc(1, disk);
	st_c = calloc(1, disk);
	fill(st_a, 0, 6 * cs, 1);
	fill(st_a, 70 * cs, 2 * cs, 1);
	memcpy(st_b, st_a, disk);
	fill(st_b, 2 * cs, 2 * cs, 2);
	fill(st_b, 70 * cs + 100, 200, 2);
	memcpy(st_c, st_b, disk);
	fill(st_c, cs / 2, 3 * cs - cs / 2, 3);
	fill(st_c, 71 * cs, cs, 3);
}

static int write_b(struct bc_image *img)
{
	uint64_t cs = g->cs;
	int ret = bc_write(img, 2 * cs, st_b + 2 * cs, 2 * cs);

	if (ret == 0)
		ret = bc_write(img, 70 * cs + 100, st_b + 70 * cs + 100, 200);
	return ret;
}

static int write_c(struct bc_image *img)
{
	uint64_t cs = g->cs;
	int ret = bc_write(img, cs / 2, st_c + cs / 2, 3 * cs - cs / 2);

	if (ret == 0)
		ret = bc_write(img, 71 * cs, st_c + 71 * cs, cs);
	if (ret == 0)
		ret = bc_flush(img);
	return ret;
}

static int snap(struct bc_image *img, const char *name)
{
	struct bc_snapshot sn = { .icount = 0, .date_sec = 1700000000 };
	struct bc_err err = { 0 };

	snprintf(sn.name, sizeof(sn.name), "%s", name);
	return bc_snapshot_create(img, &sn, &err);
}

/* Base image: A, snapshot s1, B; returned as bytes. */
static uint8_t *make_base(size_t *len)
{
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_RDWR };
	struct bc_image *img;
	char path[64], num[32];
	uint8_t *data = NULL;
	int ret;

	snprintf(path, sizeof(path), "snap-base-%d.qcow2", (int)getpid());
	snprintf(num, sizeof(num), "%llu", (unsigned long long)disk);
	bc_opts_set(opts, "size", num);
	bc_opts_parse(opts, g->opts, &err);
	ret = bc_create("qcow2", path, opts, &err);
	bc_opts_free(opts);
	if (ret == 0)
		ret = bc_open(&img, path, &o, &err);
	if (ret == 0) {
		ret = bc_write(img, 0, st_a, disk);
		if (ret == 0)
			ret = snap(img, "s1");
		if (ret == 0)
			ret = write_b(img);
		if (bc_close(img) < 0 && ret == 0)
			ret = -EIO;
	}
	if (ret == 0)
		data = crash_read_file(path, len);
	else
		tap_diag("base %s: %d %s", g->opts, ret, err.msg);
	unlink(path);
	return data;
}

/* Opens bytes (copied) read-only, optionally as of a snapshot. */
static int open_bytes(struct bc_image **img, const uint8_t *data, size_t len, const char *snap_name,
		      unsigned flags, struct bc_err *err)
{
	struct bc_open_opts o = { .format = "qcow2", .flags = flags, .snapshot = snap_name };
	struct bc_file *f;

	if (bc_file_open_mem(&f, "snap.qcow2", data, len, 64u << 20) < 0)
		return -ENOMEM;
	return bc_open_file(img, f, &o, err);
}

static bool reads_as(struct bc_image *img, const uint8_t *want, const uint8_t *alt)
{
	uint8_t *buf = malloc(disk);
	bool ok = buf && bc_read(img, 0, buf, disk) == 0;

	if (ok && (!alt || !memcmp(buf, want, disk))) {
		ok = !memcmp(buf, want, disk);
		free(buf);
		return ok;
	}
	for (uint64_t i = 0; ok && i < disk; i++)
		ok = buf[i] == want[i] || (alt && buf[i] == alt[i]);
	free(buf);
	return ok;
}

enum op { OP_CREATE, OP_APPLY, OP_DELETE, OP_COW };
static const char *op_names[] = { "create", "apply", "delete", "copy-on-write write" };

static int run_op(struct bc_image *img, enum op op)
{
	struct bc_err err = { 0 };

	switch (op) {
	case OP_CREATE: return snap(img, "s2");
	case OP_APPLY: return bc_snapshot_apply(img, "s1", &err);
	case OP_DELETE: return bc_snapshot_delete(img, NULL, "s1", &err);
	case OP_COW: return write_c(img);
	}
	return -EINVAL;
}

/* Checks one disk found after a power loss during op; NULL when fine. */
static const char *verify(enum op op, const uint8_t *data, size_t len)
{
	static char why[BC_ERR_MAX + 64];
	struct bc_err err = { 0 };
	struct bc_image *img;
	struct bc_snapshot *list = NULL;
	struct bc_check res;
	int n = 0;
	bool has_s1 = false, has_s2 = false;
	const char *bad = NULL;

	if (open_bytes(&img, data, len, NULL, BC_OPEN_NO_REPAIR, &err) < 0) {
		snprintf(why, sizeof(why), "open failed: %s", err.msg);
		return why;
	}
	const char *first = NULL;
	int ret = bc_check(img, &res, 0, &err);
	/* Tolerated (S7): "COPIED clear, refcount 1" (see crash-lib.h). "COPIED set,
	 * refcount > 1" is never tolerated. */
	int corrupt = ret == 0 ? crash_qcow2_corruptions(&res, &first) : res.corruptions;
	if (ret < 0 || corrupt || res.check_errors) {
		snprintf(why, sizeof(why), "check: %d corruptions, %d errors %s %s", corrupt,
			 res.check_errors, err.msg, first ? first : "");
		bad = why;
	}
	bc_check_free(&res);
	if (!bad && bc_snapshot_list(img, &list, &n, &err) < 0)
		bad = "snapshot list failed";
	for (int i = 0; i < n; i++) {
		has_s1 |= !strcmp(list[i].name, "s1");
		has_s2 |= !strcmp(list[i].name, "s2");
	}
	free(list);
	if (!bad) {
		switch (op) {
		case OP_CREATE:
			if (!has_s1 || n > 2)
				bad = "snapshot table neither old nor new";
			else if (!reads_as(img, st_b, NULL))
				bad = "active state changed";
			break;
		case OP_APPLY:
			if (!has_s1 || n != 1)
				bad = "snapshot table changed";
			else if (!reads_as(img, st_b, NULL) && !reads_as(img, st_a, NULL))
				bad = "active state neither old nor applied";
			break;
		case OP_DELETE:
			if (n > 1)
				bad = "snapshot table neither old nor new";
			else if (!reads_as(img, st_b, NULL))
				bad = "active state changed";
			break;
		case OP_COW:
			if (!has_s1 || n != 1)
				bad = "snapshot table changed";
			else if (!reads_as(img, st_b, st_c))
				bad = "active state reads data never written";
			break;
		}
	}
	bc_close(img);
	/* Every listed snapshot reads as taken. */
	for (int k = 0; !bad && k < 2; k++) {
		const char *name = k ? "s2" : "s1";
		const uint8_t *want = k ? st_b : st_a;
		if (!(k ? has_s2 : has_s1))
			continue;
		if (open_bytes(&img, data, len, name, BC_OPEN_NO_REPAIR, &err) < 0) {
			snprintf(why, sizeof(why), "open of snapshot %s failed: %s", name, err.msg);
			return why;
		}
		if (!reads_as(img, want, NULL)) {
			snprintf(why, sizeof(why), "snapshot %s does not read as taken", name);
			bad = why;
		}
		bc_close(img);
	}
	return bad;
}

/* The operation, then a flush (whose failure the disks found afterwards show). */
static int snap_work(struct bc_image *img, void *ctx, struct bc_err *err)
{
	int ret = run_op(img, *(const enum op *)ctx);

	(void)err;
	if (ret == 0)
		bc_flush(img);
	return ret;
}

static const char *snap_verify(uint8_t *data, size_t len, void *ctx)
{
	return verify(*(const enum op *)ctx, data, len);
}

static void test_crashes(const uint8_t *base, size_t blen)
{
	for (int op = OP_CREATE; op <= OP_COW; op++) {
		enum op o = (enum op)op;
		char label[160];
		snprintf(label, sizeof(label), "%s %s", g->opts, op_names[op]);
		const struct crash_target t = { .fmt = "qcow2", .label = label, .torn = 256,
						.work = snap_work, .verify = snap_verify, .ctx = &o };
		int failures = 0, total = crash_every_point(&t, base, blen, &failures);
		tap_ok(total > 0 && failures == 0, "%s: power loss during %s: %d crash points, "
		       "%d bad disks", g->opts, op_names[op], total, failures);
	}
}

/* End to end on a memory file: the final state after each operation, VM state. */
static void test_sequence(const uint8_t *base, size_t blen)
{
	struct bc_err err = { 0 };
	struct bc_image *img;
	struct bc_snapshot *list;
	uint8_t vm[3000], back[3000];
	int n;

	if (!tap_ok(open_bytes(&img, base, blen, NULL, BC_OPEN_RDWR, &err) == 0, "%s: open: %s",
		    g->opts, err.msg))
		return;
	tap_ok(reads_as(img, st_b, NULL), "%s: active state after writes over s1", g->opts);
	tap_ok(write_c(img) == 0 && reads_as(img, st_c, NULL), "%s: copy-on-write write",
	       g->opts);
	for (size_t i = 0; i < sizeof(vm); i++)
		vm[i] = (uint8_t)(i * 7 + 1);
	tap_ok(bc_vmstate_write(img, 1000, vm, sizeof(vm)) == 0 &&
	       bc_vmstate_read(img, 1000, back, sizeof(back)) == 0 && !memcmp(vm, back, sizeof(vm)),
	       "%s: VM state round trip", g->opts);
	tap_ok(snap(img, "s2") == 0, "%s: create s2 with VM state", g->opts);
	tap_ok(bc_snapshot_list(img, &list, &n, &err) == 0 && n == 2 &&
	       !strcmp(list[1].id, "2") && list[1].vm_state_size >= 4000 &&
	       list[1].vm_state_size <= 4000 + g->cs && list[0].vm_state_size == 0 &&
	       list[1].disk_size == disk, "%s: s2 listed with ID 2 and its VM state size", g->opts);
	if (n > 0)
		free(list);
	tap_ok(bc_vmstate_read(img, 1000, back, sizeof(back)) == 0 &&
	       back[0] == 0 && back[2999] == 0, "%s: active VM state dropped after create",
	       g->opts);
	tap_ok(bc_snapshot_apply(img, "s1", &err) == 0 && reads_as(img, st_a, NULL),
	       "%s: apply s1", g->opts);
	tap_ok(bc_snapshot_apply(img, "2", &err) == 0 && reads_as(img, st_c, NULL) &&
	       bc_vmstate_read(img, 1000, back, sizeof(back)) == 0 && !memcmp(vm, back, sizeof(vm)),
	       "%s: apply s2 by ID brings back disk and VM state", g->opts);
	tap_ok(bc_snapshot_apply(img, "nope", &err) == -ENOENT, "%s: apply of a missing snapshot",
	       g->opts);
	tap_ok(bc_snapshot_delete(img, NULL, "s1", &err) == 0 &&
	       bc_snapshot_delete(img, "2", NULL, &err) == 0 &&
	       bc_snapshot_delete(img, NULL, "s2", &err) == -ENOENT && reads_as(img, st_c, NULL),
	       "%s: delete both, the active state stays", g->opts);
	struct bc_check res;
	tap_ok(bc_check(img, &res, 0, &err) == 0 && !res.corruptions && !res.leaks &&
	       !res.check_errors, "%s: check clean, no leaks after the sequence", g->opts);
	bc_check_free(&res);
	bc_close(img);
}

static void test_overflow(void)
{
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_open_opts o = { .format = "qcow2", .flags = BC_OPEN_RDWR };
	struct bc_image *img;
	struct bc_snapshot *list = NULL;
	struct bc_check res;
	char path[64];
	uint8_t buf[4096];
	int n = -1, ret;

	snprintf(path, sizeof(path), "snap-rb1-%d.qcow2", (int)getpid());
	bc_opts_set(opts, "size", "1M");
	bc_opts_parse(opts, "refcount_bits=1", &err);
	ret = bc_create("qcow2", path, opts, &err);
	bc_opts_free(opts);
	if (ret == 0)
		ret = bc_open(&img, path, &o, &err);
	if (!tap_ok(ret == 0, "refcount_bits=1: image"))
		return;
	memset(buf, 9, sizeof(buf));
	bc_write(img, 0, buf, sizeof(buf));
	ret = snap(img, "s1");
	tap_ok(ret == -EINVAL && strstr(err.msg, "") != NULL, "refcount_bits=1: create refused "
	       "(EINVAL as qemu)");
	tap_ok(bc_snapshot_list(img, &list, &n, &err) == 0 && n == 0 &&
	       bc_check(img, &res, 0, &err) == 0 && !res.corruptions && !res.leaks,
	       "refcount_bits=1: nothing changed");
	bc_check_free(&res);
	free(list);
	bc_close(img);
	unlink(path);
}

/* Snapshot operations on damaged images: byte flips in the header's snapshot fields, the
 * table and the tables it names. Every call must fail cleanly or succeed (the sanitizer
 * build catches the rest). */
static void test_damaged(const uint8_t *base, size_t blen)
{
	uint8_t *img_bytes = malloc(blen);
	uint32_t seed = 12345;
	uint64_t toff = bc_rd_be64(base + 64);
	int opened = 0;

	for (int iter = 0; img_bytes && iter < 300; iter++) {
		struct bc_err err = { 0 };
		struct bc_image *img;
		struct bc_snapshot *list = NULL;
		struct bc_check res;
		int n;

		memcpy(img_bytes, base, blen);
		for (int k = 0; k < 1 + iter % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t r = seed >> 8;
			size_t at = (r & 1) && toff < blen ? (size_t)(toff + (r >> 1) % 160)
							    : (size_t)((r >> 1) % (blen < 16384 ? blen : 16384));
			if (at >= blen)
				continue;
			seed = seed * 1103515245u + 12345u;
			img_bytes[at] ^= (uint8_t)(1u << ((seed >> 16) % 8));
		}
		if (open_bytes(&img, img_bytes, blen, NULL, BC_OPEN_RDWR | BC_OPEN_NO_REPAIR,
			       &err) < 0)
			continue;
		opened++;
		if (bc_snapshot_list(img, &list, &n, &err) == 0)
			free(list);
		snap(img, "d");
		(void)bc_snapshot_apply(img, "s1", &err);
		(void)bc_write(img, 0, st_c, g->cs * 2);
		(void)bc_vmstate_write(img, 0, st_c, 100);
		(void)bc_snapshot_delete(img, NULL, "d", &err);
		(void)bc_snapshot_delete(img, NULL, "s1", &err);
		if (bc_check(img, &res, 0, &err) == 0)
			bc_check_free(&res);
		bc_close(img);
		if (open_bytes(&img, img_bytes, blen, "s1", BC_OPEN_NO_REPAIR, &err) == 0) {
			(void)reads_as(img, st_a, NULL);
			bc_close(img);
		}
	}
	free(img_bytes);
	tap_ok(opened > 0, "%s: snapshot operations on 300 damaged images (%d opened)", g->opts,
	       opened);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(geos) / sizeof(geos[0]); i++) {
		size_t blen = 0;
		uint8_t *base;

		g = &geos[i];
		build_states();
		base = make_base(&blen);
		if (!tap_ok(base != NULL, "%s: base image (A, snapshot s1, B)", g->opts))
			continue;
		test_sequence(base, blen);
		test_crashes(base, blen);
		if (g->cs <= 4096) /* parsing does not depend on the cluster size; small is fast */
			test_damaged(base, blen);
		free(base);
	}
	test_overflow();
	free(st_a);
	free(st_b);
	free(st_c);
	return tap_done();
}
