/*
 * strata-io — a drop-in for qemu-io's scripted use: opens one image with the block engine and
 * runs the -c commands (or lines from standard input) against it. Messages, output lines and
 * exit codes follow qemu-io 7.2, with the invoked program name where qemu-io says "qemu-io".
 */
#include "io.h"
#include "tool.h"
#include "secret.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_OBJECT = 256, OPT_IMAGE_OPTS };

struct main_args {
	struct io_open_args oa;
	char **cmds;
	int ncmds;
	bool image_opts;
	struct bc_secret secrets[8];
	int nsecrets;
};

static void usage(const char *prog)
{
	printf("Usage: %s [OPTIONS]... [-c STRING]... [file]\n"
	       "QEMU Disk exerciser\n"
	       "\n"
	       "  --object OBJECTDEF   define an object such as 'secret' for\n"
	       "                       passwords and/or encryption keys\n"
	       "  --image-opts         treat file as option string\n"
	       "  -c, --cmd STRING     execute command with its arguments\n"
	       "                       from the given string\n"
	       "  -f, --format FMT     specifies the block driver to use\n"
	       "  -r, --read-only      export read-only\n"
	       "  -s, --snapshot       use snapshot file\n"
	       "  -n, --nocache        disable host cache, short for -t none\n"
	       "  -C, --copy-on-read   enable copy-on-read\n"
	       "  -m, --misalign       misalign allocations for O_DIRECT\n"
	       "  -k, --native-aio     use kernel AIO implementation\n"
	       "                       (Linux only, prefer use of -i)\n"
	       "  -i, --aio=MODE       use AIO mode (threads, native or io_uring)\n"
	       "  -t, --cache=MODE     use the given cache mode for the image\n"
	       "  -d, --discard=MODE   use the given discard mode for the image\n"
	       "  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
	       "                       specify tracing options\n"
	       "                       see qemu-img(1) man page for full description\n"
	       "  -U, --force-share    force shared permissions\n"
	       "  -h, --help           display this help and exit\n"
	       "  -V, --version        output version information and exit\n"
	       "\n"
	       "See '%s -c help' for information on available commands.\n"
	       "\n"
	       "See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n"
	       "More information on the QEMU project at <https://qemu.org>.\n",
	       prog, prog);
}

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
	fprintf(stderr, "%s: can't open device %s: %s\n", st->prog, file, why);
	return -EINVAL;
}

static const struct bc_secret *g_secrets;
static int g_nsecrets;

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
	struct bc_open_opts o = { .format = oa->format, .flags = oa->flags, .io = oa->io,
				  .secrets = g_secrets, .nsecrets = g_nsecrets };
	struct bc_err err = { 0 };
	char *name = NULL;
	int ret;

	if (st->img) {
		fprintf(stderr, "%s: file open already, try 'help close'\n", st->prog);
		return -EBUSY;
	}
	ret = open_refused(st, file ? file : "", oa);
	if (ret < 0)
		return ret;
	if (oa->optstr && !(o.flags & BC_OPEN_IMAGE_OPTS)) {
		name = io_open_name(file, oa, &o.flags);
		if (!name)
			return -ENOMEM;
		o.format = NULL;
	}
	const char *open_name = name ? name : file;
	ret = oa->snapshot ? open_snapshot(st, open_name, &o, &err)
			   : bc_open(&st->img, open_name, &o, &err);
	if (ret < 0) {
		st->img = NULL;
		if (file && !(oa->flags & BC_OPEN_IMAGE_OPTS))
			fprintf(stderr, "%s: can't open device %s: %s\n", st->prog, file, err.msg);
		else
			fprintf(stderr, "%s: can't open: %s\n", st->prog, err.msg);
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
			file);
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
				  .secrets = g_secrets, .nsecrets = g_nsecrets, .driver_opts = opts };
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

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "cmd", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, 'f' },
	{ "read-only", no_argument, NULL, 'r' },
	{ "snapshot", no_argument, NULL, 's' },
	{ "nocache", no_argument, NULL, 'n' },
	{ "copy-on-read", no_argument, NULL, 'C' },
	{ "misalign", no_argument, NULL, 'm' },
	{ "native-aio", no_argument, NULL, 'k' },
	{ "aio", required_argument, NULL, 'i' },
	{ "discard", required_argument, NULL, 'd' },
	{ "cache", required_argument, NULL, 't' },
	{ "trace", required_argument, NULL, 'T' },
	{ "object", required_argument, NULL, OPT_OBJECT },
	{ "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
	{ "force-share", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 to go on, or the exit status. */
static int parse_args(struct io_state *st, struct main_args *ma, int argc, char **argv)
{
	int c, ret;

	while ((c = getopt_long(argc, argv, "hVc:d:f:rsnCmki:t:T:U", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(st->prog); return 0;
		case 'V':
			printf("%s version " STRATA_VERSION " (Strata; qemu-io 7.2 compatible)\n",
			       st->prog);
			return 0;
		case 'c': ma->cmds[ma->ncmds++] = optarg; continue;
		case 'f': ma->oa.format = optarg; continue;
		case OPT_OBJECT:
			if (tool_object_add(optarg) < 0)
				return 1;
			continue;
		case OPT_IMAGE_OPTS: ma->image_opts = true; continue;
		}
		ret = io_parse_open_option(st, &ma->oa, c, optarg);
		if (ret > 0)
			usage(st->prog);
		if (ret != 0)
			return 1;
	}
	if (argc - optind > 1) {
		usage(st->prog);
		return 1;
	}
	return -1;
}

/* The image named on the command line; with --image-opts an option string
 * ("driver=qcow2,file.filename=x,encrypt.key-secret=s") the engine reads. */
static int open_file_arg(struct io_state *st, struct main_args *ma, const char *arg)
{
	if (ma->image_opts) {
		if (ma->oa.format) {
			fprintf(stderr, "%s: --image-opts and -f are mutually exclusive\n", st->prog);
			return -EINVAL;
		}
		ma->oa.flags |= BC_OPEN_IMAGE_OPTS;
	}
	return io_open_image(st, arg, &ma->oa);
}

/* Without -c: one command per line of standard input, each after a prompt. */
static int interactive(struct io_state *st)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int last = 0;

	while (!st->quit) {
		printf("%s> ", st->prog);
		fflush(stdout);
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (io_run_command(st, line) < 0)
			last = 1;
	}
	free(line);
	return last;
}

int main(int argc, char **argv)
{
	struct io_state st = { 0 };
	struct main_args ma = { .oa = { .flags = BC_OPEN_RDWR } };
	int ret, i, status = 0;

	tool_set_name(argv[0]);
	st.prog = tool_name;
	argv[0] = (char *)st.prog;
	ma.cmds = calloc((size_t)argc + 1, sizeof(*ma.cmds));
	if (!ma.cmds)
		return 1;
	ret = parse_args(&st, &ma, argc, argv);
	g_secrets = ma.secrets;
	g_nsecrets = ma.nsecrets;
	if (ret < 0 && optind < argc && open_file_arg(&st, &ma, argv[optind]) < 0)
		ret = 1;
	if (ret < 0 && ma.ncmds) {
		for (i = 0; i < ma.ncmds && !st.quit; i++)
			if (io_run_command(&st, ma.cmds[i]) < 0)
				status = 1;
		ret = status;
	} else if (ret < 0) {
		ret = interactive(&st);
	}
	fflush(stdout);
	io_close_image(&st);
	for (i = 0; i < ma.nsecrets; i++) {
		free((char *)ma.secrets[i].id);
		free((uint8_t *)ma.secrets[i].data);
	}
	free(ma.oa.optstr);
	bc_secret_clear();
	free(ma.cmds);
	return ret;
}
