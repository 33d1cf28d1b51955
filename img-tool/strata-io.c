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

enum { OPT_OBJECT = 256, OPT_IMAGE_OPTS };

struct main_args {
	struct io_open_args oa;
	char **cmds;
	int ncmds;
	bool image_opts;
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
	free(ma.oa.optstr);
	bc_secret_clear();
	free(ma.cmds);
	return ret;
}
