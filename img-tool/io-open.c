/*
 * strata-io: opening, reopening and closing the image, for the command line and for the
 * open/reopen/close commands, with the options both take (-r -s -n -k -U -C -t -i -d -o).
 * Secrets given with --object live in the engine's store (tool_object_add).
 */
#include "io.h"
#include "tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_cache(struct io_open_args *oa, const char *mode)
{
	return bc_parse_cache_mode(mode, &oa->flags);
}

static int parse_aio(struct io_open_args *oa, const char *mode)
{
	if (!strcmp(mode, "threads"))
		oa->io = BC_IO_POSIX, oa->native_aio = false;
	else if (!strcmp(mode, "native"))
		oa->io = BC_IO_POSIX, oa->native_aio = true;
	else if (!strcmp(mode, "io_uring"))
		oa->io = BC_IO_URING, oa->native_aio = false;
	else
		return -EINVAL;
	return 0;
}

static bool valid_discard(const char *mode)
{
	return !strcmp(mode, "off") || !strcmp(mode, "ignore") || !strcmp(mode, "on") ||
	       !strcmp(mode, "unmap");
}

/* -o key=value,...: qemu block options (driver=, file.*, encrypt.key-secret=, ...), joined
 * for the engine, which reads them as --image-opts (io_open_name). */
static int parse_driver_opts(struct io_state *st, struct io_open_args *oa, const char *arg)
{
	size_t old = oa->optstr ? strlen(oa->optstr) : 0;
	char *n = realloc(oa->optstr, old + strlen(arg) + 2);

	if (!n) {
		fprintf(stderr, "%s: %s\n", st->prog, strerror(ENOMEM));
		return -ENOMEM;
	}
	if (old)
		n[old++] = ',';
	strcpy(n + old, arg);
	oa->optstr = n;
	return 0;
}

/* The name to open: file itself, or with -o an option string "file.filename=FILE,-o..."
 * (commas in FILE doubled) with -f as driver=. NULL when out of memory. */
static char *io_open_name(const char *file, const struct io_open_args *oa, unsigned *flags)
{
	size_t cap = (file ? 2 * strlen(file) : 0) + strlen(oa->optstr) +
		     (oa->format ? strlen(oa->format) : 0) + 32;
	char *s = malloc(cap), *p = s;

	if (!s)
		return NULL;
	if (oa->format)
		p += sprintf(p, "driver=%s,", oa->format);
	if (file) {
		p += sprintf(p, "file.filename=");
		for (const char *f = file; *f; f++) {
			if (*f == ',')
				*p++ = ',';
			*p++ = *f;
		}
		*p++ = ',';
	}
	strcpy(p, oa->optstr);
	*flags |= BC_OPEN_IMAGE_OPTS;
	return s;
}

int io_parse_open_option(struct io_state *st, struct io_open_args *oa, int opt, const char *arg)
{
	switch (opt) {
	case 'r': oa->flags &= ~BC_OPEN_RDWR; return 0;
	case 's': oa->snapshot = true; return 0;
	case 'n': return parse_cache(oa, "none");
	case 'k': oa->native_aio = true; oa->io = BC_IO_POSIX; return 0;
	case 'U': oa->flags |= BC_OPEN_SHARE; return 0;
	case 'C': oa->copy_on_read = true; return 0;  /* reads do not populate the top layer */
	case 'm': case 'T': return 0;                  /* misalign, trace: no effect */
	case 'o': return parse_driver_opts(st, oa, arg);
	case 't':
		if (parse_cache(oa, arg) == 0)
			return 0;
		fprintf(stderr, "%s: Invalid cache option: %s\n", st->prog, arg);
		return -EINVAL;
	case 'i':
		if (parse_aio(oa, arg) == 0)
			return 0;
		fprintf(stderr, "%s: Invalid aio option: %s\n", st->prog, arg);
		return -EINVAL;
	case 'd':
		if (valid_discard(arg))
			return 0;
		fprintf(stderr, "%s: Invalid discard option: %s\n", st->prog, arg);
		return -EINVAL;
	}
	return 1;
}

/* qemu-io names the file only when it was given as a file name, not as an option string. */
static void open_error(struct io_state *st, const char *file, const struct io_open_args *oa,
		       const char *msg)
{
	if (file && !(oa->flags & BC_OPEN_IMAGE_OPTS))
		fprintf(stderr, "%s: can't open device %s: %s\n", st->prog, file, msg);
	else
		fprintf(stderr, "%s: can't open: %s\n", st->prog, msg);
}

/* qemu-io parses option strings without an implied first key: a bare item K is the
 * deprecated short form of K=on (noK: K=off), with qemu's warning. Returns a new string. */
static char *short_form_bools(struct io_state *st, const char *s)
{
	char *out = malloc(strlen(s) * 2 + 8), *w = out;

	while (out && *s) {
		size_t k = strcspn(s, "=,");
		if (s[k] == '=') {              /* key=value, ",," escapes a comma in the value */
			const char *v = s + k + 1;
			while (*v && !(*v == ',' && v[1] != ','))
				v += *v == ',' ? 2 : 1;
			memcpy(w, s, (size_t)(v - s));
			w += v - s;
			s = v;
		} else {
			bool no = k > 2 && !strncmp(s, "no", 2);
			fprintf(stderr, "%s: warning: short-form boolean option '%.*s' deprecated\n"
				"Please use %.*s=%s instead\n", st->prog, (int)k, s,
				(int)(no ? k - 2 : k), no ? s + 2 : s, no ? "off" : "on");
			w += sprintf(w, "%.*s=%s", (int)(no ? k - 2 : k), no ? s + 2 : s,
				     no ? "off" : "on");
			s += k;
		}
		if (*s == ',')
			*w++ = *s++;
	}
	if (out)
		*w = '\0';
	return out;
}

static int open_refused(struct io_state *st, const char *file, const struct io_open_args *oa)
{
	const char *why = NULL;

	if (oa->copy_on_read && !(oa->flags & BC_OPEN_RDWR))
		why = "Can't use copy-on-read on read-only device";
	else if ((oa->flags & BC_OPEN_SHARE) && (oa->flags & BC_OPEN_RDWR))
		why = "force-share=on can only be used with read-only images";
	else if (oa->native_aio && !(oa->flags & BC_OPEN_DIRECT))
		why = "aio=native was specified, but it requires cache.direct=on, which was not "
		      "specified.";
	if (!why)
		return 0;
	open_error(st, file, oa, why);
	return -EINVAL;
}

/* A temporary qcow2 overlay over file: fmt and size of the base, base path made absolute. */
static int create_overlay(const char *tmp, const char *file, const struct bc_open_opts *o,
			  struct bc_err *err)
{
	struct bc_open_opts bo = *o;
	struct bc_image *base;
	struct bc_opts *opts;
	char *abs, num[32];
	int ret;

	bo.flags &= ~BC_OPEN_RDWR;
	ret = bc_open(&base, file, &bo, err);
	if (ret < 0)
		return ret;
	abs = realpath(bc_filename(base), NULL);
	opts = bc_opts_new();
	snprintf(num, sizeof(num), "%llu", (unsigned long long)bc_length(base));
	if (!abs || !opts || bc_opts_set(opts, "size", num) < 0 ||
	    bc_opts_set(opts, "backing_file", abs) < 0 ||
	    bc_opts_set(opts, "backing_fmt", bc_format_name(base)) < 0)
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
	else
		ret = bc_create("qcow2", tmp, opts, err);
	bc_opts_free(opts);
	free(abs);
	bc_close(base);
	return ret;
}

/* -s: writes go to a temporary overlay, deleted once open (qemu's snapshot=on). */
static int open_snapshot(struct io_state *st, const char *file, const struct bc_open_opts *o,
			 struct bc_err *err)
{
	const char *dir = getenv("TMPDIR");
	struct bc_open_opts oo = *o;
	char tmp[4096];
	int fd, ret;

	snprintf(tmp, sizeof(tmp), "%s/vl.XXXXXX", dir && *dir ? dir : "/var/tmp");
	fd = mkstemp(tmp);
	if (fd < 0)
		return bc_err_set(err, -errno, "Could not get temporary filename: %s",
				  strerror(errno));
	close(fd);
	ret = create_overlay(tmp, file, o, err);
	oo.format = "qcow2";
	oo.flags &= ~BC_OPEN_IMAGE_OPTS;
	if (ret == 0)
		ret = bc_open(&st->img, tmp, &oo, err);
	unlink(tmp);
	return ret;
}

int io_open_image(struct io_state *st, const char *file, const struct io_open_args *oa)
{
	struct bc_open_opts o = { .format = oa->format, .flags = oa->flags, .io = oa->io };
	struct bc_err err = { 0 };
	char *name = NULL;
	int ret;

	if (st->img) {
		fprintf(stderr, "%s: file open already, try 'help close'\n", st->prog);
		return -EBUSY;
	}
	if (oa->optstr && !(o.flags & BC_OPEN_IMAGE_OPTS)) {
		char *joined = io_open_name(file, oa, &o.flags);
		name = joined ? short_form_bools(st, joined) : NULL;
		free(joined);
		o.format = NULL;
	} else if (file && (o.flags & BC_OPEN_IMAGE_OPTS)) {
		name = short_form_bools(st, file);
	}
	if ((oa->optstr || (o.flags & BC_OPEN_IMAGE_OPTS)) && !name)
		return -ENOMEM;
	ret = open_refused(st, file, oa);
	if (ret < 0) {
		free(name);
		return ret;
	}
	const char *open_name = name ? name : file;
	ret = oa->snapshot ? open_snapshot(st, open_name, &o, &err)
			   : bc_open(&st->img, open_name, &o, &err);
	if (ret < 0) {
		st->img = NULL;
		open_error(st, file, oa, err.msg);
		free(name);
		return ret;
	}
	st->file = name ? name : strdup(file);
	st->format = o.format ? strdup(o.format) : NULL;
	st->open_flags = o.flags;
	st->io = oa->io;
	st->snapshot = oa->snapshot;
	if (bc_probed_raw(st->img) && bc_is_writable(st->img))
		fprintf(stderr, "WARNING: Image format was not specified for '%s' and probing "
			"guessed raw.\n"
			"         Automatically detecting the format is dangerous for raw images, "
			"write operations on block 0 will be restricted.\n"
			"         Specify the 'raw' format explicitly to remove the restrictions.\n",
			bc_protocol_name(st->img, file));
	return 0;
}

void io_close_image(struct io_state *st)
{
	if (!st->img)
		return;
	io_aio_drain(st);
	bc_close(st->img);
	st->img = NULL;
	free(st->file);
	free(st->format);
	st->file = st->format = NULL;
}

int io_reopen_image(struct io_state *st, unsigned flags)
{
	return io_reopen_image_opts(st, flags, st->driver_opts);
}

int io_reopen_image_opts(struct io_state *st, unsigned flags, struct bc_opts *opts)
{
	struct bc_open_opts o = { .format = st->format, .flags = flags, .io = st->io,
				  .driver_opts = opts };
	struct bc_err err = { 0 };
	int ret;

	if (st->snapshot) {
		fprintf(stderr, "%s: reopen: %s\n", st->prog, strerror(ENOTSUP));
		return -ENOTSUP;
	}
	io_aio_drain(st);
	bc_close(st->img);
	ret = bc_open(&st->img, st->file, &o, &err);
	if (ret < 0 && opts != st->driver_opts) {
		/* refused options: qemu keeps the image open as it was */
		fprintf(stderr, "%s: %s\n", st->prog, err.msg);
		o.flags = st->open_flags;
		o.driver_opts = st->driver_opts;
		if (bc_open(&st->img, st->file, &o, &err) == 0)
			return ret;
	}
	if (ret < 0) {
		st->img = NULL;
		fprintf(stderr, "%s: %s\n", st->prog, err.msg);
		free(st->file);
		free(st->format);
		st->file = st->format = NULL;
		return ret;
	}
	st->open_flags = flags;
	if (opts != st->driver_opts) {
		bc_opts_free(st->driver_opts);
		st->driver_opts = opts;
	}
	return 0;
}
