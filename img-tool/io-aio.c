/*
 * io-aio.c — aio_read, aio_write and aio_flush on top of bc_aio_submit/bc_aio_wait.
 *
 * A request's lines are printed at aio_flush, at close and at exit, in submission order: qemu-io
 * prints them at those points too, but in whatever order the requests completed. Before a
 * synchronous command, outstanding requests are completed (not printed) so that it sees
 * their data.
 */
#include "io.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct io_aio {
	struct bc_aio req;
	struct io_state *st;
	struct io_aio *next;
	bool write, done;
	uint8_t *buf;
	int64_t off, len;
	bool machine, quiet, verbose, pattern_set;
	int pattern;
	struct timespec t1, elapsed;
};

static void print_read(struct io_aio *ctx)
{
	if (ctx->req.ret < 0) {
		printf("readv failed: %s\n", strerror(-ctx->req.ret));
		return;
	}
	if (ctx->pattern_set && !io_pattern_ok(ctx->buf, (size_t)ctx->len, ctx->pattern))
		printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes\n",
		       ctx->off, ctx->len);
	if (ctx->quiet)
		return;
	if (ctx->verbose)
		io_dump_buffer(ctx->buf, ctx->off, ctx->len);
	io_print_report_elapsed("read", ctx->elapsed, ctx->off, ctx->len, ctx->len, 1,
				ctx->machine);
}

static void print_write(struct io_aio *ctx)
{
	if (ctx->req.ret < 0)
		printf("aio_write failed: %s\n", strerror(-ctx->req.ret));
	else if (!ctx->quiet)
		io_print_report_elapsed("wrote", ctx->elapsed, ctx->off, ctx->len, ctx->len, 1,
					ctx->machine);
}

static void mark_done(struct io_aio *ctx)
{
	struct timespec t2 = io_now();

	ctx->elapsed.tv_sec = t2.tv_sec - ctx->t1.tv_sec;
	ctx->elapsed.tv_nsec = t2.tv_nsec - ctx->t1.tv_nsec;
	if (ctx->elapsed.tv_nsec < 0) {
		ctx->elapsed.tv_sec--;
		ctx->elapsed.tv_nsec += 1000000000L;
	}
	ctx->done = true;
	ctx->st->aio_pending--;
}

static void request_done(struct bc_aio *req)
{
	mark_done(req->opaque);
}

void io_aio_complete(struct io_state *st)
{
	while (st->img && st->aio_pending > 0)
		if (bc_aio_wait(st->img, -1) <= 0)
			break;
}

void io_aio_drain(struct io_state *st)
{
	struct io_aio *ctx;

	io_aio_complete(st);
	while ((ctx = st->aio_first) && ctx->done) {
		st->aio_first = ctx->next;
		if (ctx->write)
			print_write(ctx);
		else
			print_read(ctx);
		free(ctx->buf);
		free(ctx);
	}
	if (!st->aio_first)
		st->aio_last = NULL;
}

/* Queues ctx for printing; started requests then go to the engine. */
static void enqueue(struct io_aio *ctx)
{
	struct io_state *st = ctx->st;

	if (st->aio_last)
		st->aio_last->next = ctx;
	else
		st->aio_first = ctx;
	st->aio_last = ctx;
	st->aio_pending++;
	ctx->t1 = io_now();
}

static int submit(struct io_aio *ctx, enum bc_aio_op op)
{
	int ret;

	ctx->req.op = op;
	ctx->req.off = (uint64_t)ctx->off;
	ctx->req.buf = ctx->buf;
	ctx->req.len = (size_t)ctx->len;
	ctx->req.cb = request_done;
	ctx->req.opaque = ctx;
	ctx->write = op == BC_AIO_WRITE;
	enqueue(ctx);
	ret = bc_aio_submit(ctx->st->img, &ctx->req);
	if (ret < 0) {
		ctx->req.ret = ret;
		mark_done(ctx);
	}
	return 0;
}

/* Offset and lengths: the buffer is allocated and filled with pattern. */
static int aio_args(struct io_aio *ctx, int argc, char **argv, int pattern)
{
	int64_t off = io_cvtnum(argv[optind], ctx->st->prog);

	if (off < 0) {
		io_print_cvtnum_err(off, argv[optind]);
		return (int)off;
	}
	ctx->off = off;
	optind++;
	ctx->buf = io_alloc_vec(argv + optind, argc - optind, pattern, &ctx->len, ctx->st->prog);
	return ctx->buf ? 0 : -EINVAL;
}

static int aio_read_opts(struct io_aio *ctx, int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "CP:iqv")) != -1) {
		switch (c) {
		case 'C': ctx->machine = true; break;
		case 'q': ctx->quiet = true; break;
		case 'v': ctx->verbose = true; break;
		case 'i':
			printf("injecting invalid read request\n");
			return 1;
		case 'P':
			ctx->pattern_set = true;
			ctx->pattern = io_parse_pattern(optarg);
			if (ctx->pattern < 0)
				return -EINVAL;
			break;
		default:
			io_usage("aio_read");
			return -EINVAL;
		}
	}
	if (optind > argc - 2) {
		io_usage("aio_read");
		return -EINVAL;
	}
	return 0;
}

int io_cmd_aio_read(struct io_state *st, int argc, char **argv)
{
	struct io_aio *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx)
		return -ENOMEM;
	ctx->st = st;
	ret = aio_read_opts(ctx, argc, argv);
	if (ret == 0)
		ret = aio_args(ctx, argc, argv, 0xab);
	if (ret != 0) {
		free(ctx);
		return ret > 0 ? 0 : ret;
	}
	return submit(ctx, BC_AIO_READ);
}

struct aio_write_opts {
	bool zero, fua;
	unsigned zflags;
	int pattern;
};

static int aio_write_opts(struct io_aio *ctx, struct aio_write_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "CfiqP:uz")) != -1) {
		switch (c) {
		case 'C': ctx->machine = true; break;
		case 'f': o->fua = true; break;
		case 'q': ctx->quiet = true; break;
		case 'u': o->zflags |= BC_ZERO_MAY_UNMAP; break;
		case 'z': o->zero = true; break;
		case 'i':
			printf("injecting invalid write request\n");
			return 1;
		case 'P':
			o->pattern = io_parse_pattern(optarg);
			if (o->pattern < 0)
				return -EINVAL;
			break;
		default:
			io_usage("aio_write");
			return -EINVAL;
		}
	}
	if (optind > argc - 2) {
		io_usage("aio_write");
		return -EINVAL;
	}
	if (o->zero && optind != argc - 2) {
		printf("-z supports only a single length parameter\n");
		return -EINVAL;
	}
	if ((o->zflags & BC_ZERO_MAY_UNMAP) && !o->zero) {
		printf("-u requires -z to be specified\n");
		return -EINVAL;
	}
	return 0;
}

/* There is no queued zero write: run it now; its lines wait like the others'. */
static int aio_write_zeroes(struct io_aio *ctx, unsigned zflags)
{
	io_aio_complete(ctx->st);
	ctx->write = true;
	enqueue(ctx);
	ctx->req.ret = io_check_request(ctx->st, ctx->off, ctx->len);
	if (ctx->req.ret == 0)
		ctx->req.ret = bc_write_zeroes(ctx->st->img, (uint64_t)ctx->off,
					       (uint64_t)ctx->len, zflags);
	mark_done(ctx);
	return 0;
}

int io_cmd_aio_write(struct io_state *st, int argc, char **argv)
{
	struct aio_write_opts o = { .pattern = 0xcd };
	struct io_aio *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx)
		return -ENOMEM;
	ctx->st = st;
	ret = aio_write_opts(ctx, &o, argc, argv);
	if (ret == 0 && o.zero) {
		ctx->off = io_cvtnum(argv[optind], st->prog);
		ctx->len = ctx->off < 0 ? 0 : io_cvtnum(argv[optind + 1], st->prog);
		if (ctx->off < 0 || ctx->len < 0) {
			ret = (int)(ctx->off < 0 ? ctx->off : ctx->len);
			io_print_cvtnum_err(ret, argv[optind + (ctx->off >= 0)]);
		} else {
			return aio_write_zeroes(ctx, o.zflags);
		}
	} else if (ret == 0) {
		ret = aio_args(ctx, argc, argv, o.pattern);
	}
	if (ret != 0) {
		free(ctx);
		return ret > 0 ? 0 : ret;
	}
	/* -f (FUA): completion already means the data reached the file; flush at aio_flush. */
	return submit(ctx, BC_AIO_WRITE);
}

int io_cmd_aio_flush(struct io_state *st, int argc, char **argv)
{
	(void)argc, (void)argv;
	io_aio_drain(st);
	return 0;
}
