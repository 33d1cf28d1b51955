/*
 * io-cmds.c — strata-io's command table, the line dispatcher and the commands that manage
 * the session (help, quit, open, close, sleep, ...). Checks run in qemu-io's order: an open
 * file, the argument count, write permission, then the command's own options.
 */
#include "io.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmd_help(struct io_state *st, int argc, char **argv);
static int cmd_quit(struct io_state *st, int argc, char **argv);
static int cmd_close(struct io_state *st, int argc, char **argv);
static int cmd_open(struct io_state *st, int argc, char **argv);
static int cmd_abort(struct io_state *st, int argc, char **argv);
static int cmd_sleep(struct io_state *st, int argc, char **argv);
static int cmd_sigraise(struct io_state *st, int argc, char **argv);
static int cmd_break(struct io_state *st, int argc, char **argv);
static int cmd_remove_break(struct io_state *st, int argc, char **argv);
static int cmd_resume(struct io_state *st, int argc, char **argv);
static int cmd_wait_break(struct io_state *st, int argc, char **argv);
static int cmd_reopen(struct io_state *st, int argc, char **argv);

#define NOFILE IO_CMD_NOFILE_OK
#define WR IO_CMD_WRITE

/* Sorted by name: "help" lists them in this order. */
static const struct io_cmd cmds[] = {
	{ "abort", NULL, cmd_abort, 0, 0, NOFILE, NULL,
	  "simulate a program crash using abort(3)", NULL },
	{ "aio_flush", NULL, io_cmd_aio_flush, 0, 0, 0, NULL,
	  "completes all outstanding aio requests", NULL },
	{ "aio_read", NULL, io_cmd_aio_read, 2, -1, 0, "[-Ciqv] [-P pattern] off len [len..]",
	  "asynchronously reads a number of bytes", io_help_aio_read },
	{ "aio_write", NULL, io_cmd_aio_write, 2, -1, WR,
	  "[-Cfiquz] [-P pattern] off len [len..]", "asynchronously writes a number of bytes",
	  io_help_aio_write },
	{ "alloc", "a", io_cmd_alloc, 1, 2, 0, "offset [count]",
	  "checks if offset is allocated in the file", NULL },
	{ "break", NULL, cmd_break, 2, 2, 0, "event tag",
	  "sets a breakpoint on event and tags the stopped request as tag", NULL },
	{ "close", "c", cmd_close, 0, 0, 0, NULL, "close the current open file", NULL },
	{ "discard", "d", io_cmd_discard, 2, -1, WR, "[-Cq] off len",
	  "discards a number of bytes at a specified offset", io_help_discard },
	{ "flush", "f", io_cmd_flush, 0, 0, 0, NULL, "flush all in-core file state to disk", NULL },
	{ "help", "?", cmd_help, 0, 1, NOFILE, "[command]", "help for one or all commands", NULL },
	{ "info", "i", io_cmd_info, 0, 0, 0, NULL, "prints information about the current file",
	  NULL },
	{ "length", "l", io_cmd_length, 0, 0, 0, NULL, "gets the length of the current file", NULL },
	{ "map", NULL, io_cmd_map, 0, 0, 0, "", "prints the allocated areas of a file", NULL },
	{ "open", "o", cmd_open, 1, -1, NOFILE,
	  "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
	  "open the file specified by path", io_help_open },
	{ "quit", "q", cmd_quit, 0, -1, NOFILE, NULL, "exit the program", NULL },
	{ "read", "r", io_cmd_read, 2, -1, 0, "[-abCqv] [-P pattern [-s off] [-l len]] off len",
	  "reads a number of bytes at a specified offset", io_help_read },
	{ "readv", NULL, io_cmd_readv, 2, -1, 0, "[-Cqv] [-P pattern] off len [len..]",
	  "reads a number of bytes at a specified offset", io_help_readv },
	{ "remove_break", NULL, cmd_remove_break, 1, 1, 0, "tag", "remove a breakpoint by tag",
	  NULL },
	{ "reopen", NULL, cmd_reopen, 0, -1, 0, "[(-r|-w)] [-c cache] [-o options]",
	  "reopens an image with new options", io_help_reopen },
	{ "resume", NULL, cmd_resume, 1, 1, 0, "tag", "resumes the request tagged as tag", NULL },
	{ "sigraise", NULL, cmd_sigraise, 1, 1, NOFILE, "signal", "raises a signal",
	  io_help_sigraise },
	{ "sleep", NULL, cmd_sleep, 1, 1, NOFILE, NULL,
	  "waits for the given value in milliseconds", NULL },
	{ "truncate", "t", io_cmd_truncate, 1, 3, WR, "[-m prealloc_mode] off",
	  "truncates the current file at the given offset", NULL },
	{ "wait_break", NULL, cmd_wait_break, 1, 1, 0, "tag",
	  "waits for the suspension of a request", NULL },
	{ "write", "w", io_cmd_write, 2, -1, WR,
	  "[-bcCfnquz] [-P pattern | -s source_file] off len",
	  "writes a number of bytes at a specified offset", io_help_write },
	{ "writev", NULL, io_cmd_writev, 2, -1, WR, "[-Cfq] [-P pattern] off len [len..]",
	  "writes a number of bytes at a specified offset", io_help_writev },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct io_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name) || (cmds[i].alt && !strcmp(cmds[i].alt, name)))
			return &cmds[i];
	return NULL;
}

static void help_oneline(const char *name, const struct io_cmd *c)
{
	printf("%s ", name);
	if (c->args)
		printf("%s ", c->args);
	printf("-- %s\n", c->oneline);
}

/* The synopsis line a command prints when its options or arguments are wrong. */
void io_usage(const char *name)
{
	const struct io_cmd *c = find_command(name);

	if (c)
		help_oneline(c->name, c);
}

static int check_argc(const struct io_cmd *c, const char *name, int n)
{
	if (n >= c->argmin && (c->argmax < 0 || n <= c->argmax))
		return 0;
	if (c->argmax < 0)
		fprintf(stderr, "bad argument count %d to %s, expected at least %d arguments\n", n,
			name, c->argmin);
	else if (c->argmin == c->argmax)
		fprintf(stderr, "bad argument count %d to %s, expected %d arguments\n", n, name,
			c->argmin);
	else
		fprintf(stderr, "bad argument count %d to %s, expected between %d and %d "
			"arguments\n", n, name, c->argmin, c->argmax);
	return -EINVAL;
}

static int run(struct io_state *st, const struct io_cmd *c, int argc, char **argv)
{
	int ret;

	if (!(c->flags & IO_CMD_NOFILE_OK) && !st->img) {
		fprintf(stderr, "no file open, try 'help open'\n");
		return -EINVAL;
	}
	ret = check_argc(c, argv[0], argc - 1);
	if (ret < 0)
		return ret;
	if ((c->flags & IO_CMD_WRITE) && !bc_is_writable(st->img)) {
		fprintf(stderr, "%s: Block node is read-only\n", st->prog);
		return -EPERM;
	}
	/* A synchronous command sees the data of earlier aio requests; as in qemu-io, their
	 * lines wait for aio_flush or the end. */
	if (st->img && strncmp(c->name, "aio_", 4))
		io_aio_complete(st);
	io_reset_getopt();
	return c->fn(st, argc, argv);
}

/* Splits the line on spaces (runs of spaces give no empty words) and runs the command. */
int io_run_command(struct io_state *st, const char *line)
{
	char *copy = strdup(line), *p, *save = NULL;
	char **argv = calloc(strlen(line) / 2 + 2, sizeof(*argv));
	const struct io_cmd *c;
	int argc = 0, ret = 0;

	if (!copy || !argv) {
		free(copy);
		free(argv);
		return -ENOMEM;
	}
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	if (argc) {
		c = find_command(argv[0]);
		if (c) {
			ret = run(st, c, argc, argv);
		} else {
			fprintf(stderr, "command \"%s\" not found\n", argv[0]);
			ret = -EINVAL;
		}
	}
	free(argv);
	free(copy);
	return ret;
}

static int cmd_help(struct io_state *st, int argc, char **argv)
{
	const struct io_cmd *c;
	size_t i;

	(void)st;
	if (argc < 2) {
		for (i = 0; i < NCMDS; i++)
			help_oneline(cmds[i].name, &cmds[i]);
		printf("\nUse 'help commandname' for extended help.\n");
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		printf("command %s not found\n", argv[1]);
		return -EINVAL;
	}
	help_oneline(argv[1], c);
	if (c->help)
		fputs(c->help, stdout);
	return 0;
}

static int cmd_quit(struct io_state *st, int argc, char **argv)
{
	(void)argc, (void)argv;
	st->quit = true;
	return 0;
}

static int cmd_close(struct io_state *st, int argc, char **argv)
{
	(void)argc, (void)argv;
	io_close_image(st);
	return 0;
}

static int cmd_abort(struct io_state *st, int argc, char **argv)
{
	(void)st, (void)argc, (void)argv;
	fflush(stdout);
	abort();
}

static int cmd_sleep(struct io_state *st, int argc, char **argv)
{
	char *end;
	long ms = strtol(argv[1], &end, 0);
	struct timespec ts;

	(void)st, (void)argc;
	if (ms < 0 || *end) {
		printf("%s is not a valid number\n", argv[1]);
		return -EINVAL;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static int cmd_sigraise(struct io_state *st, int argc, char **argv)
{
	int64_t sig = io_cvtnum(argv[1], st->prog);

	(void)argc;
	if (sig < 0) {
		io_print_cvtnum_err(sig, argv[1]);
		return (int)sig;
	}
	if (sig > NSIG) {
		printf("signal argument '%s' is too large to be a valid signal\n", argv[1]);
		return -EINVAL;
	}
	fflush(stdout);
	fflush(stderr);
	raise((int)sig);
	return 0;
}

/* Breakpoints belong to qemu's blkdebug driver, which Strata does not have. */
static int cmd_break(struct io_state *st, int argc, char **argv)
{
	(void)st, (void)argc, (void)argv;
	printf("Could not set breakpoint: %s\n", strerror(ENOTSUP));
	return -ENOTSUP;
}

static int cmd_remove_break(struct io_state *st, int argc, char **argv)
{
	(void)st, (void)argc;
	printf("Could not remove breakpoint %s: %s\n", argv[1], strerror(ENOTSUP));
	return -ENOTSUP;
}

static int cmd_resume(struct io_state *st, int argc, char **argv)
{
	(void)st, (void)argc, (void)argv;
	printf("Could not resume request: %s\n", strerror(ENOTSUP));
	return -ENOTSUP;
}

static int cmd_wait_break(struct io_state *st, int argc, char **argv)
{
	(void)argc, (void)argv;
	fprintf(stderr, "%s: wait_break: %s\n", st->prog, strerror(ENOTSUP));
	return -ENOTSUP;
}

/* reopen -o: of qemu's runtime options only lazy-refcounts may change; *opts becomes the
 * current ones with the new values. */
static int reopen_opts(struct io_state *st, const char *arg, struct bc_opts **opts)
{
	struct bc_opts *o = bc_opts_new();
	const char *k, *v;
	int ret = o ? bc_opts_parse(o, arg, NULL) : -ENOMEM;

	for (int i = 0; ret == 0 && bc_opts_entry(o, i, &k, &v); i++)
		if (strcmp(k, "lazy-refcounts")) {
			fprintf(stderr, "%s: Cannot change the option '%s'\n", st->prog, k);
			ret = -EINVAL;
		}
	if (ret == 0 && !*opts) {
		*opts = bc_opts_new();
		for (int i = 0; *opts && bc_opts_entry(st->driver_opts, i, &k, &v); i++)
			bc_opts_set(*opts, k, v);
	}
	for (int i = 0; ret == 0 && bc_opts_entry(o, i, &k, &v); i++)
		ret = *opts && bc_opts_set(*opts, k, v) == 0 ? 0 : -ENOMEM;
	bc_opts_free(o);
	if (ret < 0) {
		bc_opts_free(*opts);
		*opts = NULL;
	}
	return ret;
}

/* reopen [-r|-w] [-c cache] [-o options]: the image opened again with other flags. */
static int cmd_reopen(struct io_state *st, int argc, char **argv)
{
	struct io_open_args oa = { .flags = st->open_flags };
	struct bc_opts *opts = NULL;
	int c, rw = 0, ret;

	while ((c = getopt(argc, argv, "c:o:rw")) != -1) {
		switch (c) {
		case 'c':
			ret = io_parse_open_option(st, &oa, 't', optarg);
			if (ret < 0)
				return ret;
			break;
		case 'o':
			ret = reopen_opts(st, optarg, &opts);
			if (ret < 0)
				return ret;
			break;
		case 'r':
		case 'w':
			if (rw) {
				fprintf(stderr, "%s: Only one -r/-w option may be given\n", st->prog);
				bc_opts_free(opts);
				return -EINVAL;
			}
			rw = c;
			break;
		default:
			io_usage("reopen");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		bc_opts_free(opts);
		io_usage("reopen");
		return -EINVAL;
	}
	if (rw == 'r')
		oa.flags &= ~BC_OPEN_RDWR;
	else if (rw == 'w')
		oa.flags |= BC_OPEN_RDWR;
	if (!opts)
		return io_reopen_image(st, oa.flags);
	ret = io_reopen_image_opts(st, oa.flags, opts);
	if (ret < 0)
		bc_opts_free(opts);
	return ret;
}

/* open [-rsCnkU] [-t cache] [-d discard] [-i aio] [-o options] path */
static int cmd_open(struct io_state *st, int argc, char **argv)
{
	struct io_open_args oa = { .flags = BC_OPEN_RDWR };
	int c, ret;

	while ((c = getopt(argc, argv, "snCkrUi:t:d:o:")) != -1) {
		ret = io_parse_open_option(st, &oa, c, optarg);
		if (ret > 0) {
			io_usage("open");
			ret = -EINVAL;
		}
		if (ret < 0)
			goto out;
	}
	if (optind != argc - 1 && !(optind == argc && oa.optstr)) {
		io_usage("open");
		ret = -EINVAL;
		goto out;
	}
	ret = io_open_image(st, optind < argc ? argv[optind] : NULL, &oa) ? -EINVAL : 0;
out:
	free(oa.optstr);
	return ret;
}
