/*
 * io.h — private header of strata-io, the qemu-io compatible front end.
 *
 * strata-io.c parses the command line; io-open.c opens, reopens and closes the image;
 * io-cmds.c holds the command table and the dispatcher; io-rw.c, io-aio.c and io-misc.c implement the commands; io-util.c the
 * number parsing and the report/dump formatting that every command shares. Every output line
 * follows qemu-io 7.2; a command returns 0 or a negative errno (any failure makes the exit
 * status 1).
 */
#ifndef STRATA_IO_H
#define STRATA_IO_H

#include "bc.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* qemu's BDRV_REQUEST_MAX_BYTES: the largest single request. */
#define IO_MAX_REQUEST 2147483136LL
#define IO_SECTOR 512

struct io_open_args {
	const char *format;     /* NULL: probe */
	unsigned flags;         /* BC_OPEN_* */
	enum bc_io_backend io;
	bool native_aio;        /* -i native / -k: needs -n */
	bool snapshot;          /* -s: writes go to a temporary overlay */
	bool copy_on_read;      /* -C: accepted, no effect on the data read */
	char *optstr;           /* -o: qemu block options, joined with commas (owned) */
};

struct io_state {
	const char *prog;       /* basename of argv[0], used where qemu-io says "qemu-io" */
	struct bc_image *img;   /* NULL when no file is open */
	bool quit;
	int aio_pending;        /* submitted bc_aio requests not yet completed */
	struct io_aio *aio_first, *aio_last; /* requests whose lines are not printed yet */
	/* How the current image was opened, for reopen. */
	char *file, *format;    /* format NULL: probed */
	unsigned open_flags;
	enum bc_io_backend io;
	bool snapshot;          /* opened with -s: the overlay cannot be opened again */
	struct bc_opts *driver_opts; /* runtime driver options of the current image */
};

enum {
	IO_CMD_NOFILE_OK = 1u << 0, /* runs without an open image */
	IO_CMD_WRITE     = 1u << 1, /* needs a writable image ("Block node is read-only") */
};

struct io_cmd {
	const char *name;
	const char *alt;        /* one-letter alias, or NULL */
	int (*fn)(struct io_state *st, int argc, char **argv);
	int argmin, argmax;     /* argument count without the name; argmax -1: unlimited */
	unsigned flags;         /* IO_CMD_* */
	const char *args;       /* usage synopsis; NULL for none */
	const char *oneline;
	const char *help;       /* extended help, or NULL */
};

/* io-open.c */
/* Applies one option common to the command line and "open"; 0 done, 1 not such an option,
 * -EINVAL after printing qemu-io's message for a bad value. */
int io_parse_open_option(struct io_state *st, struct io_open_args *oa, int opt, const char *arg);
/* Opens file as the current image; prints qemu-io's messages. 0 or -errno. */
int io_open_image(struct io_state *st, const char *file, const struct io_open_args *oa);
/* Opens the current image again with new flags (reopen); prints the engine's message. */
int io_reopen_image(struct io_state *st, unsigned flags);
/* The same with new runtime options opts (taken over on success; on failure the image is
 * opened again as it was, the caller still owns opts). */
int io_reopen_image_opts(struct io_state *st, unsigned flags, struct bc_opts *opts);
void io_close_image(struct io_state *st);

/* io-cmds.c */
int io_run_command(struct io_state *st, const char *line);
void io_usage(const char *name);

/* io-help.c: the extended help texts */
extern const char io_help_aio_read[], io_help_aio_write[], io_help_discard[], io_help_open[],
	io_help_read[], io_help_readv[], io_help_reopen[], io_help_sigraise[], io_help_write[],
	io_help_writev[];

/* io-rw.c */
int io_cmd_read(struct io_state *st, int argc, char **argv);
int io_cmd_write(struct io_state *st, int argc, char **argv);
int io_cmd_readv(struct io_state *st, int argc, char **argv);
int io_cmd_writev(struct io_state *st, int argc, char **argv);

/* io-aio.c */
int io_cmd_aio_read(struct io_state *st, int argc, char **argv);
int io_cmd_aio_write(struct io_state *st, int argc, char **argv);
int io_cmd_aio_flush(struct io_state *st, int argc, char **argv);
/* Completes outstanding requests; their lines wait for io_aio_drain. */
void io_aio_complete(struct io_state *st);
/* Completes them and prints their lines, in submission order. */
void io_aio_drain(struct io_state *st);

/* io-misc.c */
int io_cmd_length(struct io_state *st, int argc, char **argv);
int io_cmd_info(struct io_state *st, int argc, char **argv);
int io_cmd_map(struct io_state *st, int argc, char **argv);
int io_cmd_alloc(struct io_state *st, int argc, char **argv);
int io_cmd_flush(struct io_state *st, int argc, char **argv);
int io_cmd_discard(struct io_state *st, int argc, char **argv);
int io_cmd_truncate(struct io_state *st, int argc, char **argv);

/* io-util.c */
int io_parse_size(const char *text, const char *prog, uint64_t *out);
int64_t io_cvtnum(const char *text, const char *prog);
void io_print_cvtnum_err(int64_t rc, const char *arg);
int io_parse_pattern(const char *arg);
void io_cvtstr(double value, char *buf, size_t size);
struct timespec io_now(void);
void io_print_report(const char *op, struct timespec t1, int64_t off, int64_t count,
		     int64_t total, int cnt, bool machine);
/* Same, for a request that took d. */
void io_print_report_elapsed(const char *op, struct timespec d, int64_t off, int64_t count,
			     int64_t total, int cnt, bool machine);
void io_dump_buffer(const uint8_t *buf, int64_t off, int64_t len);
bool io_pattern_ok(const uint8_t *buf, size_t len, int pattern);
int io_check_request(struct io_state *st, int64_t off, int64_t len);
/* Parses a list of lengths into one buffer filled with pattern; prints qemu-io's errors. */
uint8_t *io_alloc_vec(char **args, int n, int pattern, int64_t *total, const char *prog);
void io_reset_getopt(void);

#endif
