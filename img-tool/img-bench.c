/* strata-img bench: keeps `depth` requests in flight through the engine's queued I/O (io_uring
 * where the kernel allows it), as qemu-img bench does, and reports the run time. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench {
	struct bc_image *img;
	struct bc_aio *reqs;
	uint8_t *bufs;
	uint64_t image_size, offset, step, bufsize;
	long count, submitted, completed, in_flight;
	int depth, flush_interval;
	bool write, drain, failed;
	int err;
};

static void bench_next(struct bench *b, struct bc_aio *req);

static void bench_done(struct bc_aio *req)
{
	struct bench *b = req->opaque;

	b->in_flight--;
	if (req->ret < 0 && !b->failed) {
		b->failed = true;
		b->err = req->ret;
	}
	if (req->op == BC_AIO_FLUSH) {
		req->op = b->write ? BC_AIO_WRITE : BC_AIO_READ;
		bench_next(b, req);
		return;
	}
	b->completed++;
	if (b->flush_interval && b->completed % b->flush_interval == 0) {
		/* with draining, the flush waits for the other requests in flight to finish */
		req->op = BC_AIO_FLUSH;
		b->in_flight++;
		bc_aio_submit(b->img, req);
		return;
	}
	bench_next(b, req);
}

static void bench_next(struct bench *b, struct bc_aio *req)
{
	if (b->failed || b->submitted >= b->count)
		return;
	req->off = b->offset;
	req->len = b->bufsize;
	b->offset += b->step;
	if (b->image_size)
		b->offset %= b->image_size;
	b->submitted++;
	b->in_flight++;
	bc_aio_submit(b->img, req);
}

static int bench_run(struct bench *b)
{
	for (int i = 0; i < b->depth && b->submitted < b->count; i++) {
		struct bc_aio *req = &b->reqs[i];
		*req = (struct bc_aio){ .op = b->write ? BC_AIO_WRITE : BC_AIO_READ,
					.buf = b->bufs + (size_t)i * b->bufsize, .cb = bench_done,
					.opaque = b };
		bench_next(b, req);
	}
	while (b->in_flight > 0) {
		int ret = bc_aio_wait(b->img, 1);
		if (ret < 0)
			return ret;
	}
	return b->failed ? b->err : 0;
}

struct bench_args {
	struct img_common co;     /* -t: checked with bench's own message */
	const char *filename;
	long count;
	int depth, flush_interval, pattern;
	uint64_t offset, bufsize, step;
	bool write, nodrain, step_set;
	enum bc_io_backend io;
};

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || *end || end == s || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int bench_parse_opt(int c, struct bench_args *a)
{
	long v;
	uint64_t sz;

	switch (c) {
	case 'c':
		if (parse_long(optarg, &v) < 0 || v > INT32_MAX)
			return tool_error("Invalid request count specified"), 1;
		a->count = v;
		return 0;
	case 'd':
		if (parse_long(optarg, &v) < 0 || v < 1 || v > 4096)
			return tool_error("Invalid queue depth specified"), 1;
		a->depth = (int)v;
		return 0;
	case 'o':
		if (bc_parse_size(optarg, &sz) < 0)
			return tool_error("Invalid offset specified"), 1;
		a->offset = sz;
		return 0;
	case 's':
		if (bc_parse_size(optarg, &sz) < 0 || sz > (1u << 30))
			return tool_error("Invalid buffer size specified"), 1;
		a->bufsize = sz;
		return 0;
	case 'S':
		if (bc_parse_size(optarg, &sz) < 0 || sz > INT32_MAX)
			return tool_error("Invalid step size specified"), 1;
		a->step = sz;
		a->step_set = true;
		return 0;
	case 'F':
		if (parse_long(optarg, &v) < 0 || v > INT32_MAX)
			return tool_error("Invalid flush interval specified"), 1;
		a->flush_interval = (int)v;
		return 0;
	case 'P':
		if (parse_long(optarg, &v) < 0 || v > 255)
			return tool_error("Invalid pattern byte specified"), 1;
		a->pattern = (int)v;
		return 0;
	case 'i':
		if (!strcmp(optarg, "io_uring"))
			a->io = BC_IO_URING;
		else if (!strcmp(optarg, "threads") || !strcmp(optarg, "native"))
			a->io = BC_IO_POSIX;
		else
			return tool_error("Invalid aio option: %s", optarg), 1;
		return 0;
	}
	return -1;
}

static int bench_parse(int argc, char **argv, struct bench_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP,
		{ "flush-interval", required_argument, NULL, 'F' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "no-drain", no_argument, NULL, 'D' },
		IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", longopts, NULL)) != -1) {
		int ret = bench_parse_opt(c, a);
		if (ret >= 0) {
			if (ret)
				return ret;
			continue;
		}
		switch (c) {
		case 'n': a->co.cache = "none"; break;
		case 'w': a->write = true; break;
		case 'D': a->nodrain = true; break;
		case 'h':
			printf("usage: %s bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-n] "
			       "[--no-drain] [-o offset] [--pattern=N] [-q] [-s size] [-S step] [-t cache] "
			       "[-w] [-U] filename\n", tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	a->filename = argv[optind];
	if (a->flush_interval && !a->write)
		return tool_error("--flush-interval is only available in write tests"), 1;
	if (a->flush_interval && a->flush_interval < a->depth)
		return tool_error("Flush interval can't be smaller than depth"), 1;
	return 0;
}

static int bench_open_flags(const struct bench_args *a, unsigned *flags)
{
	*flags = a->write ? BC_OPEN_RDWR : 0;
	if (a->co.share)
		*flags |= BC_OPEN_SHARE;
	if (!a->co.cache || bc_parse_cache_mode(a->co.cache, flags) == 0)
		return 0;
	return tool_error("Invalid cache mode"), -1;
}

int img_bench(int argc, char **argv)
{
	struct bench_args a = { .count = 75000, .depth = 64, .bufsize = 4096, .pattern = 0 };
	struct bench b = { 0 };
	struct bc_err err = { 0 };
	struct timespec t0, t1;
	unsigned flags;
	int ret = bench_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (bench_open_flags(&a, &flags) < 0)
		return 1;
	struct bc_open_opts o = { .format = a.co.fmt, .flags = flags, .io = a.io };
	if (img_image_opts_flags(a.co.image_opts, a.co.fmt, &o.flags))
		return 1;
	if (bc_open(&b.img, a.filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.filename, err.msg);
		return 1;
	}
	b.image_size = bc_length(b.img);
	b.count = a.count;
	b.depth = a.depth;
	b.bufsize = a.bufsize;
	b.step = a.step_set ? a.step : a.bufsize;
	b.offset = a.offset;
	b.write = a.write;
	b.flush_interval = a.flush_interval;
	b.drain = !a.nodrain;
	b.reqs = calloc((size_t)a.depth, sizeof(*b.reqs));
	b.bufs = bc_alloc_aligned((size_t)a.depth * a.bufsize);
	if (!b.reqs || !b.bufs) {
		tool_error("Out of memory");
		ret = 1;
		goto out;
	}
	memset(b.bufs, a.pattern, (size_t)a.depth * a.bufsize);
	printf("Sending %ld %s requests, %llu bytes each, %d in parallel (starting at offset %llu, "
	       "step size %llu)\n", a.count, a.write ? "write" : "read",
	       (unsigned long long)a.bufsize, a.depth, (unsigned long long)a.offset,
	       (unsigned long long)b.step);
	if (a.flush_interval)
		printf("Sending flush every %d requests\n", a.flush_interval);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = bench_run(&b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret < 0) {
		tool_error("Failed request: %s", strerror(-ret));
		ret = 1;
		goto out;
	}
	printf("Run completed in %3.3f seconds.\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
out:
	free(b.reqs);
	free(b.bufs);
	if (bc_close(b.img) < 0 && ret == 0)
		ret = 1;
	return ret;
}
