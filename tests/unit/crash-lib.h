/*
 * Shared pieces of the power-loss unit tests (test_crash, test_crypt_crash, test_amend_crash,
 * test_crash_points, test_qcow2_snapshot): base images as bytes, the standard write workload
 * and its sample model, the check of a disk found after a crash, and the loop that loses power
 * after every write of some work on a crash-simulating file.
 */
#ifndef STRATA_CRASH_LIB_H
#define STRATA_CRASH_LIB_H

#include "bc_driver.h"

#include <stddef.h>
#include <stdint.h>

#define CRASH_IMG_SIZE (4u << 20)   /* guest size of the standard workload's image */
#define CRASH_SAMPLE 512
#define CRASH_NSAMPLES (CRASH_IMG_SIZE / CRASH_SAMPLE)

enum crash_op_kind { CRASH_WRITE, CRASH_ZERO, CRASH_DISCARD, CRASH_FLUSH, CRASH_CWRITE /* compressed */ };
struct crash_op {
	enum crash_op_kind kind;
	uint32_t off, len;
};
/* Allocating, overwriting, partial, zeroing and discarding writes with two flushes; write i
 * (1-based among the writes) fills its range with the byte i. */
extern const struct crash_op crash_workload[];
extern const size_t crash_workload_len;

/* allowed[s], bit i: write i of ops may be what sample s holds. */
void crash_compute_allowed(const struct crash_op *ops, size_t nops,
			   uint32_t allowed[CRASH_NSAMPLES]);
/* Runs ops on an image of CRASH_IMG_SIZE, then flushes; returns the first error (the power
 * loss, or without one a real failure). */
int crash_run_ops(struct bc_image *img, const struct crash_op *ops, size_t nops);

/* The whole file at path (malloc'd, one spare byte) and its length; NULL when unreadable. */
uint8_t *crash_read_file(const char *path, size_t *len);
/* A new image of fmt with size bytes and the creation options opts ("" for none), as the
 * bytes of its file; NULL with err->msg set when creation fails (err->msg empty: the file
 * could not be read back). */
uint8_t *crash_make_base(const char *fmt, uint32_t size, const char *opts, size_t *len,
			 struct bc_err *err);

/* Opens the disk data (not copied) as fmt without repair and checks it: the open image when
 * the check finds no corruptions nor errors (leaks are allowed, as qemu allows them) other
 * than findings containing tolerated; else NULL, with what is wrong in *why. */
struct bc_image *crash_open_checked(const char *fmt, struct bc_opts *driver_opts,
				    const char *tolerated, uint8_t *data, size_t len,
				    const char **why);
/* qcow2 corruptions in res less those tolerated after a crash: "OFLAG_COPIED ... refcount=1"
 * (COPIED clear with refcount 1: a crash between the refcount and the L2 writes of one
 * metadata flush, which the write path handles, as qemu's has the same window). *first: the
 * first other finding that is not a leak, or NULL. */
int crash_qcow2_corruptions(const struct bc_check *res, const char **first);

/* Disks to try after a crash with n pending writes: none, all, all with the last torn after
 * torn bytes, the first, half, all but the last. Fills keep/tear; returns how many. */
int crash_recovery_choices(int n, size_t torn, int keep[8], size_t tear[8]);

struct crash_target {
	const char *fmt;               /* the format the work opens the image as */
	struct bc_opts *driver_opts;   /* its open options (secrets), or NULL */
	const char *label;             /* names the case in diagnostics */
	size_t torn;                   /* see crash_recovery_choices */
	/* The work, on the image open read-write; < 0 when it failed (the power is gone). */
	int (*work)(struct bc_image *img, void *ctx, struct bc_err *err);
	/* One disk as found after the power loss: what is wrong with it, or NULL. */
	const char *(*verify)(uint8_t *data, size_t len, void *ctx);
	void *ctx;
};

/* Runs t's work on base with the power lost after budget writes (< 0: never) and verifies
 * each recovery choice; returns the writes the work issued or -errno. Failures are counted
 * in *failures and the first three described. */
int crash_once(const struct crash_target *t, const uint8_t *base, size_t blen, int budget,
	       int *failures);
/* crash_once without a power loss, then with it after every write; returns the writes. */
int crash_every_point(const struct crash_target *t, const uint8_t *base, size_t blen,
		      int *failures);

#endif
