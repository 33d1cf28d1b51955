/*
 * io-rw.c — the synchronous data commands: read, write, readv, writev.
 */
#include "io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct read_opts {
	bool vmstate, machine, pattern_set, quiet, verbose, lflag, sflag;
	int pattern;
	int64_t poff, plen;
};

/* Parses offset and length arguments, printing qemu-io's message on failure. */
static int parse_num(struct io_state *st, const char *arg, int64_t *out)
{
	int64_t v = io_cvtnum(arg, st->prog);

	if (v < 0) {
		io_print_cvtnum_err(v, arg);
		return (int)v;
	}
	*out = v;
	return 0;
}

static int check_sector_aligned(int64_t off, int64_t count)
{
	if (off % IO_SECTOR) {
		printf("%" PRId64 " is not a sector-aligned value for 'offset'\n", off);
		return -EINVAL;
	}
	if (count % IO_SECTOR) {
		printf("%" PRId64 " is not a sector-aligned value for 'count'\n", count);
		return -EINVAL;
	}
	return 0;
}

static int read_getopt(struct io_state *st, struct read_opts *o, int argc, char **argv)
{
	int c, ret;

	while ((c = getopt(argc, argv, "bCl:pP:qs:v")) != -1) {
		switch (c) {
		case 'b': o->vmstate = true; break;
		case 'C': o->machine = true; break;
		case 'p': break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'P':
			o->pattern_set = true;
			o->pattern = io_parse_pattern(optarg);
			if (o->pattern < 0)
				return -EINVAL;
			break;
		case 'l':
			o->lflag = true;
			ret = parse_num(st, optarg, &o->plen);
			if (ret < 0)
				return ret;
			break;
		case 's':
			o->sflag = true;
			ret = parse_num(st, optarg, &o->poff);
			if (ret < 0)
				return ret;
			break;
		default:
			io_usage("read");
			return -EINVAL;
		}
	}
	if (optind != argc - 2) {
		io_usage("read");
		return -EINVAL;
	}
	return 0;
}

static int read_args(struct io_state *st, struct read_opts *o, char **args, int64_t *off,
		     int64_t *count)
{
	int ret = parse_num(st, args[0], off);

	if (ret == 0)
		ret = parse_num(st, args[1], count);
	if (ret < 0)
		return ret;
	if (*count > IO_MAX_REQUEST) {
		printf("length cannot exceed %lld, given %s\n", IO_MAX_REQUEST, args[1]);
		return -EINVAL;
	}
	if (!o->pattern_set && (o->lflag || o->sflag)) {
		io_usage("read");
		return -EINVAL;
	}
	if (!o->lflag)
		o->plen = *count - o->poff;
	if (o->plen < 0 || o->plen + o->poff > *count) {
		printf("pattern verification range exceeds end of read data\n");
		return -EINVAL;
	}
	return o->vmstate ? check_sector_aligned(*off, *count) : 0;
}

int io_cmd_read(struct io_state *st, int argc, char **argv)
{
	struct read_opts o = { 0 };
	struct timespec t1;
	int64_t off = 0, count = 0;
	uint8_t *buf;
	int ret;

	ret = read_getopt(st, &o, argc, argv);
	if (ret == 0)
		ret = read_args(st, &o, argv + optind, &off, &count);
	if (ret < 0)
		return ret;
	buf = malloc(count ? (size_t)count : 1);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0xab, (size_t)count);
	t1 = io_now();
	if (o.vmstate)
		ret = bc_vmstate_read(st->img, (uint64_t)off, buf, (size_t)count);
	else if ((ret = io_check_request(st, off, count)) == 0)
		ret = bc_read(st->img, (uint64_t)off, buf, (size_t)count);
	if (ret < 0) {
		printf("read failed: %s\n", strerror(-ret));
		goto out;
	}
	if (o.pattern_set && !io_pattern_ok(buf + o.poff, (size_t)o.plen, o.pattern)) {
		printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes\n",
		       off + o.poff, o.plen);
		ret = -EINVAL;
	}
	if (o.quiet)
		goto out;
	if (o.verbose)
		io_dump_buffer(buf, off, count);
	io_print_report("read", t1, off, count, count, 1, o.machine);
out:
	free(buf);
	return ret;
}

struct write_opts {
	bool vmstate, compressed, machine, fua, pattern_set, quiet, zero;
	unsigned zflags;
	int pattern;
	const char *source;
};

static int write_getopt(struct write_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "bcCfnpP:qs:uz")) != -1) {
		switch (c) {
		case 'b': o->vmstate = true; break;
		case 'c': o->compressed = true; break;
		case 'C': o->machine = true; break;
		case 'f': o->fua = true; break;
		case 'n': o->zflags |= BC_ZERO_NO_FALLBACK; break;
		case 'p': break;
		case 'q': o->quiet = true; break;
		case 's': o->source = optarg; break;
		case 'u': o->zflags |= BC_ZERO_MAY_UNMAP; break;
		case 'z': o->zero = true; break;
		case 'P':
			o->pattern_set = true;
			o->pattern = io_parse_pattern(optarg);
			if (o->pattern < 0)
				return -EINVAL;
			break;
		default:
			io_usage("write");
			return -EINVAL;
		}
	}
	if (optind != argc - 2) {
		io_usage("write");
		return -EINVAL;
	}
	return 0;
}

/* The option combinations qemu-io refuses, in its order. */
static int write_check(const struct write_opts *o)
{
	const char *msg = NULL;

	if (o->vmstate && o->zero)
		msg = "-b and -z cannot be specified at the same time";
	else if (o->fua && (o->vmstate || o->compressed))
		msg = "-f and -b or -c cannot be specified at the same time";
	else if ((o->zflags & BC_ZERO_NO_FALLBACK) && !o->zero)
		msg = "-n requires -z to be specified";
	else if ((o->zflags & BC_ZERO_MAY_UNMAP) && !o->zero)
		msg = "-u requires -z to be specified";
	else if (o->zero + o->pattern_set + (o->source != NULL) > 1)
		msg = "Only one of -z, -P, and -s can be specified at the same time";
	if (!msg)
		return 0;
	printf("%s\n", msg);
	return -EINVAL;
}

/* The write buffer filled by repeating the contents of a file (write -s). */
static uint8_t *buffer_from_file(const char *name, size_t len)
{
	FILE *f = fopen(name, "r");
	uint8_t *buf;
	size_t got, done;

	if (!f) {
		perror(name);
		return NULL;
	}
	buf = malloc(len ? len : 1);
	got = buf ? fread(buf, 1, len, f) : 0;
	if (buf && ferror(f)) {
		perror(name);
		got = 0;
	} else if (buf && got == 0) {
		fprintf(stderr, "%s: file is empty\n", name);
	}
	fclose(f);
	if (got == 0) {
		free(buf);
		return NULL;
	}
	for (done = got; done < len; done += got < len - done ? got : len - done)
		memcpy(buf + done, buf, got < len - done ? got : len - done);
	return buf;
}

static int do_write(struct io_state *st, const struct write_opts *o, int64_t off, int64_t count,
		    const uint8_t *buf)
{
	int ret;

	if (o->vmstate)
		return bc_vmstate_write(st->img, (uint64_t)off, buf, (size_t)count);
	ret = io_check_request(st, off, count);
	if (ret < 0)
		return ret;
	if (o->zero)
		return bc_write_zeroes(st->img, (uint64_t)off, (uint64_t)count, o->zflags);
	if (o->compressed)
		return bc_write_compressed(st->img, (uint64_t)off, buf, (size_t)count);
	ret = bc_write(st->img, (uint64_t)off, buf, (size_t)count);
	if (ret == 0 && o->fua)
		ret = bc_flush(st->img);
	return ret;
}

static int write_args(struct io_state *st, const struct write_opts *o, char **args,
		      int64_t *off, int64_t *count)
{
	int ret = parse_num(st, args[0], off);

	if (ret == 0)
		ret = parse_num(st, args[1], count);
	if (ret < 0)
		return ret;
	if (*count > IO_MAX_REQUEST && !(o->zflags & BC_ZERO_NO_FALLBACK)) {
		printf("length cannot exceed %lld without -n, given %s\n", IO_MAX_REQUEST, args[1]);
		return -EINVAL;
	}
	return o->vmstate || o->compressed ? check_sector_aligned(*off, *count) : 0;
}

int io_cmd_write(struct io_state *st, int argc, char **argv)
{
	struct write_opts o = { .pattern = 0xcd };
	struct timespec t1;
	int64_t off = 0, count = 0;
	uint8_t *buf = NULL;
	int ret;

	ret = write_getopt(&o, argc, argv);
	if (ret == 0)
		ret = write_check(&o);
	if (ret == 0)
		ret = write_args(st, &o, argv + optind, &off, &count);
	if (ret < 0)
		return ret;
	if (o.source) {
		buf = buffer_from_file(o.source, (size_t)count);
		if (!buf)
			return -EINVAL;
	} else if (!o.zero) {
		buf = malloc(count ? (size_t)count : 1);
		if (!buf)
			return -ENOMEM;
		memset(buf, o.pattern, (size_t)count);
	}
	t1 = io_now();
	ret = do_write(st, &o, off, count, buf);
	free(buf);
	if (ret < 0) {
		printf("write failed: %s\n", strerror(-ret));
		return ret;
	}
	if (!o.quiet)
		io_print_report("wrote", t1, off, count, count, 1, o.machine);
	return 0;
}

/* readv: one request into the concatenation of the given lengths. */
int io_cmd_readv(struct io_state *st, int argc, char **argv)
{
	bool machine = false, quiet = false, verbose = false, pset = false;
	int c, pattern = 0, ret;
	int64_t off = 0, total = 0;
	struct timespec t1;
	uint8_t *buf;

	while ((c = getopt(argc, argv, "CP:qv")) != -1) {
		switch (c) {
		case 'C': machine = true; break;
		case 'q': quiet = true; break;
		case 'v': verbose = true; break;
		case 'P':
			pset = true;
			pattern = io_parse_pattern(optarg);
			if (pattern < 0)
				return -EINVAL;
			break;
		default:
			io_usage("readv");
			return -EINVAL;
		}
	}
	if (optind > argc - 2) {
		io_usage("readv");
		return -EINVAL;
	}
	ret = parse_num(st, argv[optind], &off);
	if (ret < 0)
		return ret;
	buf = io_alloc_vec(argv + optind + 1, argc - optind - 1, 0xab, &total, st->prog);
	if (!buf)
		return -EINVAL;
	t1 = io_now();
	ret = io_check_request(st, off, total);
	if (ret == 0)
		ret = bc_read(st->img, (uint64_t)off, buf, (size_t)total);
	if (ret < 0) {
		printf("readv failed: %s\n", strerror(-ret));
		goto out;
	}
	if (pset && !io_pattern_ok(buf, (size_t)total, pattern)) {
		printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes\n",
		       off, total);
		ret = -EINVAL;
	}
	if (quiet)
		goto out;
	if (verbose)
		io_dump_buffer(buf, off, total);
	io_print_report("read", t1, off, total, total, 1, machine);
out:
	free(buf);
	return ret;
}

int io_cmd_writev(struct io_state *st, int argc, char **argv)
{
	bool machine = false, quiet = false, fua = false;
	int c, pattern = 0xcd, ret;
	int64_t off = 0, total = 0;
	struct timespec t1;
	uint8_t *buf;

	while ((c = getopt(argc, argv, "CfqP:")) != -1) {
		switch (c) {
		case 'C': machine = true; break;
		case 'f': fua = true; break;
		case 'q': quiet = true; break;
		case 'P':
			pattern = io_parse_pattern(optarg);
			if (pattern < 0)
				return -EINVAL;
			break;
		default:
			io_usage("writev");
			return -EINVAL;
		}
	}
	if (optind > argc - 2) {
		io_usage("writev");
		return -EINVAL;
	}
	ret = parse_num(st, argv[optind], &off);
	if (ret < 0)
		return ret;
	buf = io_alloc_vec(argv + optind + 1, argc - optind - 1, pattern, &total, st->prog);
	if (!buf)
		return -EINVAL;
	t1 = io_now();
	ret = io_check_request(st, off, total);
	if (ret == 0)
		ret = bc_write(st->img, (uint64_t)off, buf, (size_t)total);
	if (ret == 0 && fua)
		ret = bc_flush(st->img);
	free(buf);
	if (ret < 0) {
		printf("writev failed: %s\n", strerror(-ret));
		return ret;
	}
	if (!quiet)
		io_print_report("wrote", t1, off, total, total, 1, machine);
	return 0;
}
