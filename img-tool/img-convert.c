/* strata-img convert: copies one or more images (concatenated) into a new image of any format,
 * skipping what reads as zeros when the target starts out zeroed, as qemu-img convert does. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CONV_CHUNK (2u << 20)
/* -c: bigger pieces, so the codec workers rarely drain at the end of a call */
#define CONV_CHUNK_COMPRESS (16u << 20)

struct conv {
	struct bc_image **src;
	int nsrc;
	struct bc_image *dst;
	struct bc_opts *dst_opts; /* the target's runtime options (its key secret) */
	uint64_t sparse;        /* -S: zero runs of this size are not written; 0 writes everything */
	bool target_zero;       /* the target reads as zeros before we write anything */
	uint64_t whole;         /* target takes whole clusters of this size, in order; 0: any */
	uint64_t written_end;   /* with whole: the target is written up to here */
	bool compress;          /* -c: data clusters go through bc_write_compressed */
	bool salvage;           /* --salvage: unreadable sectors are copied as zeros */
	bool target_backing;    /* -B: the target's backing file provides the sources' backing */
	uint64_t backing_end;   /* -B: size of the target's backing file; UINT64_MAX unknown */
	uint8_t *buf;
	uint64_t chunk;         /* bytes read and written per step */
	struct img_progress bar; /* -p */
	uint64_t done, total;   /* bytes of the sources walked, for the bar */
};

enum conv_kind { CONV_DATA, CONV_ZERO, CONV_BACKING };

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Length of the sparse-size block at off, cut at len: blocks follow the target's offsets. */
static size_t sparse_block(const struct conv *c, uint64_t off, size_t len)
{
	size_t blk = (size_t)(c->sparse - off % c->sparse);
	return blk < len ? blk : len;
}

/* -c: buf is whole target clusters (the image's last may be partial); each one is written
 * compressed unless it is all zeros and zeros may be skipped (not -S 0), as qemu-img does.
 * Runs of data clusters go down in one call, so the codec workers compress them together. */
static int conv_write_compressed(struct conv *c, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t run = 0;   /* data clusters gathered before pos, not written yet */

	for (size_t pos = 0, n; pos < len; pos += n) {
		int ret = 0;
		n = len - pos < c->whole ? len - pos : (size_t)c->whole;
		if (!(c->sparse && is_zero(buf + pos, n))) {
			run += n;
			continue;
		}
		if (run)
			ret = bc_write_compressed(c->dst, off + pos - run, buf + pos - run, run);
		run = 0;
		if (ret == 0 && !c->target_zero)
			ret = bc_write_zeroes(c->dst, off + pos, n, BC_ZERO_MAY_UNMAP);
		if (ret < 0)
			return ret;
	}
	return run ? bc_write_compressed(c->dst, off + len - run, buf + len - run, run) : 0;
}

/* Writes buf as runs of data and runs of zero blocks; zero runs are left out when the target
 * already reads as zeros, and zeroed (not written) otherwise. */
static int conv_write(struct conv *c, uint64_t off, const uint8_t *buf, size_t len)
{
	if (c->compress)
		return conv_write_compressed(c, off, buf, len);
	if (!c->sparse)
		return bc_write(c->dst, off, buf, len);
	for (size_t pos = 0; pos < len;) {
		size_t run = sparse_block(c, off + pos, len - pos);
		bool zero = is_zero(buf + pos, run);
		while (pos + run < len) {
			size_t m = sparse_block(c, off + pos + run, len - pos - run);
			if (is_zero(buf + pos + run, m) != zero)
				break;
			run += m;
		}
		int ret = !zero ? bc_write(c->dst, off + pos, buf + pos, run)
			: c->target_zero ? 0 : bc_write_zeroes(c->dst, off + pos, run, BC_ZERO_MAY_UNMAP);
		if (ret < 0)
			return ret;
		pos += run;
	}
	return 0;
}

/* Reads [off, off+len) of src (base: its target offset). --salvage, as qemu-img: a failed
 * read is retried a sector at a time, and each sector that still fails reads as zeros with
 * qemu-img's warning (target offset). */
static int conv_read_src(struct conv *c, struct bc_image *src, uint64_t base, uint64_t off,
			 uint8_t *buf, size_t len)
{
	int ret = bc_read(src, off, buf, len);

	if (ret >= 0 || !c->salvage)
		return ret;
	for (size_t p = 0; p < len; p += 512) {
		size_t n = len - p < 512 ? len - p : 512;
		ret = bc_read(src, off + p, buf + p, n);
		if (ret < 0) {
			tool_error("warning: error while reading offset %" PRIu64 ": %s",
				   base + off + p, strerror(-ret));
			memset(buf + p, 0, n);
		}
	}
	return 0;
}

/* Reads [off, off+len) of the concatenated sources, in target offsets (zeros past them). */
static int conv_read_target(struct conv *c, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t base = 0;

	for (int i = 0; i < c->nsrc && len; i++) {
		uint64_t size = bc_length(c->src[i]);
		if (off < base + size) {
			size_t n = base + size - off < len ? (size_t)(base + size - off) : len;
			int ret = conv_read_src(c, c->src[i], base, off - base, buf, n);
			if (ret < 0)
				return ret;
			buf += n;
			off += n;
			len -= n;
		}
		base += size;
	}
	memset(buf, 0, len);
	return 0;
}

/* For targets that take whole clusters in order (compressed streams): a data extent grows to
 * the whole clusters around it that were not written yet, as qemu-img convert writes them. */
static int conv_write_whole(struct conv *c, uint64_t off, uint64_t len)
{
	uint64_t cs = c->whole, a = off / cs * cs, b = (off + len + cs - 1) / cs * cs;

	if (b > bc_length(c->dst))
		b = bc_length(c->dst);
	if (a < c->written_end)
		a = c->written_end;
	if (b <= a)
		return 0;
	int ret = conv_read_target(c, a, c->buf, (size_t)(b - a));
	if (ret < 0) {
		/* qemu-img reads these a cluster at a time: it names the cluster that failed */
		uint64_t at = a;
		while (at + cs < b && conv_read_target(c, at, c->buf, (size_t)cs) == 0)
			at += cs;
		tool_error("error while reading at byte %" PRIu64 ": %s", at, strerror(-ret));
		return ret;
	}
	c->written_end = b;
	ret = conv_write(c, a, c->buf, (size_t)(b - a));
	if (ret < 0)
		tool_error("error while writing at byte %" PRIu64 ": %s", a, strerror(-ret));
	return ret;
}

/*
 * With -B, qemu-img asks the block status of the source above its own backing file: what the
 * source's top layer leaves to its backing chain is taken to come from the target's backing
 * file and is not copied (qemu does not compare the two). Without -B the whole chain counts.
 */
static int conv_layer_status(const struct conv *c, struct bc_image *src, uint64_t off,
			     uint64_t len, struct bc_extent *e, enum conv_kind *kind)
{
	int ret = c->target_backing ? bc_block_status_layer(src, off, len, e)
				    : bc_block_status(src, off, len, e);
	if (ret < 0)
		return ret;
	if (c->target_backing && !(e->flags & BC_EXT_ALLOCATED)) {
		struct bc_image *below = bc_backing(src);
		uint64_t bsize = below ? bc_length(below) : 0;
		/* past the end of the source's chain it reads zeros: those are zero runs */
		if (off < bsize) {
			if (e->len > bsize - off)
				e->len = bsize - off;
			*kind = CONV_BACKING;
			return 0;
		}
		e->flags = BC_EXT_ZERO;
	}
	*kind = (e->flags & BC_EXT_ZERO) && !(e->flags & BC_EXT_DATA) ? CONV_ZERO : CONV_DATA;
	return 0;
}

/*
 * The run at off of src (base: its target offset) and what to do with it. Past the end of the
 * target's backing file a zero run is left out, the target reads zeros there already; before
 * it, it is zeroed so the backing file does not show through. Runs are split at that end, and
 * -S 0 turns the zero runs that remain into data (fully allocated), as in qemu-img.
 */
static int conv_status(const struct conv *c, struct bc_image *src, uint64_t base, uint64_t off,
		       uint64_t len, struct bc_extent *e, enum conv_kind *kind)
{
	int ret = conv_layer_status(c, src, off, len, e, kind);
	uint64_t toff = base + off;

	if (ret < 0)
		return ret;
	if (toff < c->backing_end && e->len > c->backing_end - toff)
		e->len = c->backing_end - toff;
	if (*kind == CONV_ZERO && toff >= c->backing_end)
		*kind = CONV_BACKING;
	if (*kind == CONV_ZERO && !c->sparse)
		*kind = CONV_DATA;
	return 0;
}

static int conv_copy_one(struct conv *c, struct bc_image *src, uint64_t base)
{
	uint64_t size = bc_length(src);

	for (uint64_t off = 0; off < size;) {
		struct bc_extent e;
		enum conv_kind kind;
		uint64_t want = size - off < c->chunk ? size - off : c->chunk;
		int ret = conv_status(c, src, base, off, want, &e, &kind);
		if (ret < 0) {
			tool_error("error while reading block status at offset %" PRIu64 ": %s", off,
				   strerror(-ret));
			return ret;
		}
		if (kind == CONV_BACKING) {
			/* the target's backing file provides it, or it reads zeros already */
		} else if (kind == CONV_ZERO) {
			if (!c->target_zero)
				ret = bc_write_zeroes(c->dst, base + off, e.len, BC_ZERO_MAY_UNMAP);
		} else if (c->whole) {
			ret = conv_write_whole(c, base + off, e.len);
			if (ret < 0)
				return ret;
		} else {
			ret = conv_read_src(c, src, base, off, c->buf, (size_t)e.len);
			if (ret < 0) {
				tool_error("error while reading at byte %" PRIu64 ": %s", off, strerror(-ret));
				return ret;
			}
			ret = conv_write(c, base + off, c->buf, (size_t)e.len);
		}
		if (ret < 0) {
			tool_error("error while writing at byte %" PRIu64 ": %s", base + off, strerror(-ret));
			return ret;
		}
		off += e.len;
		if (kind == CONV_DATA && c->total) {
			c->done += e.len;
			img_progress_print(&c->bar, 100.f * (float)c->done / (float)c->total);
		}
	}
	return 0;
}

/* -p: qemu-img's bar counts the data it copies (not zeros, not what the backing file has). */
static int conv_count_data(struct conv *c)
{
	uint64_t base = 0;

	c->total = c->done = 0;
	for (int i = 0; i < c->nsrc; i++) {
		uint64_t size = bc_length(c->src[i]);
		for (uint64_t off = 0; off < size;) {
			struct bc_extent e;
			enum conv_kind kind;
			uint64_t want = size - off < c->chunk ? size - off : c->chunk;
			if (conv_status(c, c->src[i], base, off, want, &e, &kind) < 0)
				return -1;
			if (kind == CONV_DATA)
				c->total += e.len;
			off += e.len;
		}
		base += size;
	}
	return 0;
}

struct conv_args {
	struct img_common co;   /* -f -t (the target's cache; qemu-img's default is unsafe),
				 * -T (the sources'), -q -U --object --image-opts */
	const char *out_fmt, *backing, *backing_fmt, *snapshot, *out;
	char *optstr;
	char *opt_backing, *opt_backing_fmt; /* -o backing_file=, backing_fmt= (owned) */
	uint64_t sparse;
	bool no_create, target_is_zero, compress, target_image_opts;
	bool bitmaps, skip_broken; /* --bitmaps, --skip-broken-bitmaps */
	bool copy_offload, sparse_set, salvage; /* -C, an explicit -S, --salvage */
	bool progress; /* -p */
	int coroutines;         /* -m: codec workers; 0: one per core */
	char **srcs;
	int nsrc;
};

/* -m: qemu's number of parallel coroutines, 1..16; here the number of codec workers. */
static int conv_parse_coroutines(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 16) {
		tool_error("Invalid number of coroutines. Allowed number of coroutines is between "
			   "1 and 16");
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* -o help (or ?): the output format's options, with the host file's when a target is named.
 * Returns 0 when it printed them. */
static int conv_print_help(const char *optstr, const char *fmt, const char *target)
{
	struct bc_opts *probe = bc_opts_new();
	const struct bc_format *f = bc_format_find(fmt);
	bool help = probe && bc_opts_parse(probe, optstr, NULL) == 0 &&
		    bc_opts_help_requested(probe);

	bc_opts_free(probe);
	if (!help || !f)
		return -1;
	if (target)
		img_print_opts_help_file(bc_format_create_opts(f));
	else
		img_print_opts_help(fmt, bc_format_create_opts(f));
	return 0;
}

static int conv_parse(int argc, char **argv, struct conv_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP,
		IMG_LONGOPT_OBJECT,
		IMG_LONGOPT_FORCE_SHARE,
		{ "target-is-zero", no_argument, NULL, 'Z' },
		{ "salvage", no_argument, NULL, 'V' },
		{ "bitmaps", no_argument, NULL, 'M' },
		{ "skip-broken-bitmaps", no_argument, NULL, 'K' },
		IMG_LONGOPT_IMAGE_OPTS,
		{ "target-image-opts", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:O:B:Cco:l:S:pt:T:qnm:WUr:F:", longopts, NULL)) != -1) {
		switch (c) {
		case 'O': a->out_fmt = optarg; break;
		case 'B': a->backing = optarg; break;
		case 'F': a->backing_fmt = optarg; break;
		case 'c': a->compress = true; break;
		case 'o':
			if (img_append_opts(&a->optstr, optarg) < 0)
				return 1;
			break;
		case 'l': a->snapshot = optarg; break;
		case 'S':
			if (bc_parse_size(optarg, &a->sparse) < 0 || a->sparse % 512 ||
			    a->sparse > (16u << 20)) {
				tool_error("Invalid buffer size for sparse output specified. Valid sizes are "
					   "multiples of 512 up to 16777216. Select 0 to disable sparse "
					   "detection (fully allocates output).");
				return 1;
			}
			a->sparse_set = true;
			break;
		case 'n': a->no_create = true; break;
		case 'Z': a->target_is_zero = true; break;
		case 'G': a->target_image_opts = true; break;
		case 'm':
			if (conv_parse_coroutines(optarg, &a->coroutines) < 0)
				return 1;
			break;
		case 'M': a->bitmaps = true; break;
		case 'K': a->skip_broken = true; break;
		case 'C': a->copy_offload = true; break;
		case 'V': a->salvage = true; break;
		case 'p': a->progress = true; break;
		case 'W': case 'r':
			break;   /* parallelism, rate limit: accepted, no effect on the result */
		case 'h':
			printf("usage: %s convert [-f fmt] [-O output_fmt] [-o options] [-B backing_file "
			       "[-F backing_fmt]] [-S sparse_size] [-n] [-q] filename [filename2 [...]] "
			       "output_filename\n", tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
			break;
		}
	}
	/* qemu-img's order of refusals, all before the file names are looked at */
	const char *bad = NULL;
	if (a->skip_broken && !a->bitmaps)
		bad = "Use of --skip-broken-bitmaps requires --bitmaps";
	else if (a->copy_offload && a->compress)
		bad = "Cannot enable copy offloading when -c is used";
	else if (a->copy_offload && a->sparse_set)
		bad = "Cannot enable copy offloading when -S is used";
	else if (a->copy_offload && a->salvage)
		bad = "Cannot use copy offloading in salvaging mode";
	else if (a->target_image_opts && !a->no_create)
		bad = "--target-image-opts requires use of -n flag";
	else if (a->no_create && a->optstr)
		bad = "-o has no effect when skipping image creation";
	else if (a->target_is_zero && !a->no_create)
		bad = "--target-is-zero requires use of -n flag";
	if (bad) {
		tool_error("%s", bad);
		return 1;
	}
	if (a->optstr && (strstr(a->optstr, "help") || strchr(a->optstr, '?')) &&
	    conv_print_help(a->optstr, a->out_fmt ? a->out_fmt : "raw",
			    argc - optind >= 2 ? argv[argc - 1] : NULL) == 0)
		return -1;
	if (argc - optind < 2) {
		tool_error("Must specify image file name");
		return 1;
	}
	a->srcs = argv + optind;
	a->nsrc = argc - optind - 1;
	a->out = argv[argc - 1];
	return 0;
}

/* A fresh target that is lost half-way is worthless anyway, so qemu-img writes it with
 * cache=unsafe (no flushes) unless -t says otherwise. */
static int conv_cache_flags(const char *mode, unsigned *flags)
{
	return tool_cache_flags(mode, flags);
}

static int conv_open_sources(struct conv *c, const struct conv_args *a, uint64_t *total)
{
	c->src = calloc((size_t)a->nsrc, sizeof(*c->src));
	if (!c->src)
		return -1;
	*total = 0;
	for (int i = 0; i < a->nsrc; i++) {
		struct bc_open_opts o = { .format = a->co.fmt, .snapshot = a->snapshot,
					  .flags = a->co.share ? BC_OPEN_SHARE : BC_OPEN_NO_SHARE_WRITE };
		tool_src_cache_flags(a->co.src_cache, &o.flags);   /* checked before */
		struct bc_err err = { 0 };
		if (img_image_opts_flags(a->co.image_opts, a->co.fmt, &o.flags))
			return -1;
		if (bc_open(&c->src[i], a->srcs[i], &o, &err) < 0) {
			tool_error("Could not open '%s': %s", a->srcs[i], err.msg);
			return -1;
		}
		c->nsrc++;
		*total += bc_length(c->src[i]);
	}
	return 0;
}

/* -o backing_file=B[,backing_fmt=F] means what -B B [-F F] means (qemu-img takes them as
 * the target's backing file): data the source leaves to its own backing is not copied. */
static void conv_backing_from_opts(struct conv_args *a)
{
	struct bc_opts *o = bc_opts_new();
	const char *b, *f;

	if (!o || !a->optstr || bc_opts_parse(o, a->optstr, NULL) < 0) {
		bc_opts_free(o);
		return;   /* conv_create_target reports a bad option list */
	}
	b = bc_opts_get(o, "backing_file");
	f = bc_opts_get(o, "backing_fmt");
	if (b && !a->backing && (a->opt_backing = strdup(b)))
		a->backing = a->opt_backing;
	if (f && !a->backing_fmt && (a->opt_backing_fmt = strdup(f)))
		a->backing_fmt = a->opt_backing_fmt;
	bc_opts_free(o);
}

/* qemu-img opens the new target with the encryption secret it was created with. */
static struct bc_opts *conv_target_secret_opts(const struct conv_args *a)
{
	static const char *const keys[] = { "key-secret", "encrypt.key-secret" };
	struct bc_opts *co = bc_opts_new(), *oo = NULL;

	if (co && a->optstr && bc_opts_parse(co, a->optstr, NULL) == 0) {
		for (int i = 0; i < 2; i++) {
			const char *v = bc_opts_get(co, keys[i]);

			if (v && (oo || (oo = bc_opts_new())))
				bc_opts_set(oo, keys[i], v);
		}
	}
	bc_opts_free(co);
	return oo;
}

static int conv_create_target(const struct conv_args *a, const char *fmt, uint64_t total)
{
	const struct bc_format *f = bc_format_find(fmt);
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	char num[32];
	int ret = -1;

	if (!f) {
		tool_error("Unknown file format '%s'", fmt);
		goto out;
	}
	if (!opts || (a->optstr && bc_opts_parse(opts, a->optstr, &err) < 0)) {
		tool_error("%s", err.msg);
		goto out;
	}
	if (bc_opts_validate(opts, bc_format_create_opts(f), &err) < 0) {
		tool_error("%s", err.msg);
		goto out;
	}
	snprintf(num, sizeof(num), "%" PRIu64, total);
	bc_opts_set(opts, "size", num);
	if (a->backing)
		bc_opts_set(opts, "backing_file", a->backing);
	if (a->backing_fmt)
		bc_opts_set(opts, "backing_fmt", a->backing_fmt);
	if (bc_create(fmt, a->out, opts, &err) < 0) {
		tool_error("%s: error while converting %s: %s", a->out, fmt, err.msg);
		goto out;
	}
	ret = 0;
out:
	bc_opts_free(opts);
	return ret;
}

int img_convert(int argc, char **argv)
{
	struct conv_args a = { .sparse = 4096 };
	struct conv c = { 0 };
	uint64_t total;
	int ret = conv_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	const char *out_fmt = a.out_fmt ? a.out_fmt : "raw";
	conv_backing_from_opts(&a);
	unsigned scratch = 0;
	if (tool_src_cache_flags(a.co.src_cache, &scratch) < 0 ||
	    conv_cache_flags(a.co.cache ? a.co.cache : "unsafe", &scratch) < 0)
		goto out;
	if (conv_open_sources(&c, &a, &total) < 0)
		goto out;
	if (a.bitmaps && img_conv_check_bitmaps(c.src, c.nsrc, a.skip_broken) < 0)
		goto out;
	if (a.backing && a.nsrc > 1) {
		tool_error("Having a backing file for the target makes no sense when concatenating "
			   "multiple input images");
		goto out;
	}
	if (a.compress && bc_format_find(out_fmt) && !bc_format_can_compress(bc_format_find(out_fmt))) {
		/* qemu-img asks the output format before creating anything */
		tool_error("Compression not supported for this file format");
		goto out;
	}
	if (!a.no_create && conv_create_target(&a, out_fmt, total) < 0)
		goto out;
	struct bc_open_opts o = { .format = a.no_create ? a.out_fmt : out_fmt, .flags = BC_OPEN_RDWR,
				  .workers = a.coroutines };
	if (conv_cache_flags(a.co.cache ? a.co.cache : "unsafe", &o.flags) < 0)
		goto out;
	struct bc_err err = { 0 };
	if (img_image_opts_flags(a.target_image_opts, a.out_fmt, &o.flags))
		goto out;
	o.driver_opts = c.dst_opts = conv_target_secret_opts(&a);
	if (bc_open(&c.dst, a.out, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.out, err.msg);
		goto out;
	}
	if (a.bitmaps && img_conv_dst_bitmaps_ok(c.dst) < 0)
		goto out;
	c.sparse = a.sparse;
	c.salvage = a.salvage;
	c.target_zero = (!a.no_create && !a.backing) || a.target_is_zero;
	c.target_backing = a.backing != NULL;
	c.backing_end = UINT64_MAX;
	if (a.backing && !a.no_create && bc_backing(c.dst))
		c.backing_end = bc_length(bc_backing(c.dst));
	struct bc_info info;
	if (bc_get_info(c.dst, &info, &err) == 0) {
		if (info.no_zero_init && !a.target_is_zero)
			c.target_zero = false;
		if ((info.whole_clusters || a.compress) && info.cluster_size) {
			c.whole = info.cluster_size;
			c.sparse = c.sparse ? c.whole : 0;   /* zero runs skipped as whole clusters */
			c.compress = a.compress;
		}
		bc_info_free(&info);
	}
	c.chunk = c.compress ? CONV_CHUNK_COMPRESS : CONV_CHUNK;
	c.bar.on = a.progress && !a.co.quiet;
	if (c.bar.on && conv_count_data(&c) < 0)
		c.total = 0;
	img_progress_print(&c.bar, 0);
	c.buf = bc_alloc_aligned((size_t)c.chunk + 2 * (size_t)c.whole);
	if (!c.buf)
		goto out;
	uint64_t base = 0;
	for (int i = 0; i < c.nsrc; i++) {
		if (base + bc_length(c.src[i]) > bc_length(c.dst)) {
			tool_error("Target image is too small for the source data");
			goto out;
		}
		if (conv_copy_one(&c, c.src[i], base) < 0)
			goto out;
		base += bc_length(c.src[i]);
	}
	/* The end of the compressed stream, as qemu-img signals it (silently failing, as there). */
	if (c.compress && bc_write_compressed(c.dst, 0, NULL, 0) < 0) {
		ret = 1;
		goto out;
	}
	if (a.bitmaps && img_conv_copy_bitmaps(c.src[0], c.dst, a.skip_broken) < 0)
		goto out;
	img_progress_print(&c.bar, 100);
	img_progress_end(&c.bar);
	ret = 0;
out:
	if (c.dst && bc_close(c.dst) < 0 && ret == 0) {
		tool_error("error while flushing '%s'", a.out);
		ret = 1;
	}
	bc_opts_free(c.dst_opts);
	for (int i = 0; i < c.nsrc; i++)
		bc_close(c.src[i]);
	free(c.src);
	free(c.buf);
	free(a.optstr);
	free(a.opt_backing);
	free(a.opt_backing_fmt);
	return ret;
}
