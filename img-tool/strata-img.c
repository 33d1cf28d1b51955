/* strata-img: a drop-in for qemu-img. main() dispatches to one function per sub-command. */
#include "img.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct img_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *syntax;
};

static const struct img_command img_commands[] = {
	{ "amend", img_amend,
	  "amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt] [-t cache] [--force] -o options filename" },
	{ "bench", img_bench,
	  "bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename" },
	{ "bitmap", img_bitmap,
	  "bitmap (--merge SOURCE | --add | --remove | --clear | --enable | --disable)... [-b source_file [-F source_fmt]] [-g granularity] [--object objectdef] [--image-opts | -f fmt] filename bitmap" },
	{ "check", img_check,
	  "check [--object objectdef] [--image-opts] [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename" },
	{ "commit", img_commit,
	  "commit [--object objectdef] [--image-opts] [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename" },
	{ "compare", img_compare,
	  "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2" },
	{ "convert", img_convert,
	  "convert [--object objectdef] [--image-opts] [--target-image-opts] [--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-r rate_limit] [-m num_coroutines] [-W] [--salvage] filename [filename2 [...]] output_filename" },
	{ "create", img_create,
	  "create [--object objectdef] [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]" },
	{ "dd", img_dd,
	  "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output" },
	{ "info", img_info,
	  "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename" },
	{ "map", img_map,
	  "map [--object objectdef] [--image-opts] [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename" },
	{ "measure", img_measure,
	  "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] filename]" },
	{ "rebase", img_rebase,
	  "rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename" },
	{ "resize", img_resize,
	  "resize [--object objectdef] [--image-opts] [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size" },
	{ "snapshot", img_snapshot,
	  "snapshot [--object objectdef] [--image-opts] [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename" },
	{ NULL, NULL, NULL },
};

static void print_version(void)
{
	printf("%s version " STRATA_VERSION " (Strata, qemu-img 7.2 compatible)\n"
	       "Copyright (c) 2026 the Strata developers\n", tool_name);
}

static void print_help(void)
{
	const struct bc_format *f;

	print_version();
	printf("usage: %s [standard options] command [command options]\n"
	       "Disk image utility\n\n"
	       "    '-h', '--help'       display this help and exit\n"
	       "    '-V', '--version'    output version information and exit\n\n"
	       "Command syntax:\n", tool_name);
	for (const struct img_command *c = img_commands; c->name; c++)
		printf("  %s\n", c->syntax);
	printf("\nCommand parameters:\n"
	       "  'filename' is a disk image filename\n"
	       "  'fmt' is the disk image format. It is guessed automatically in most cases\n"
	       "  'size' is the disk image size in bytes. Optional suffixes 'k' or 'K' (kilobyte, 1024),\n"
	       "    'M' (megabyte, 1024k), 'G' (gigabyte, 1024M), 'T' (terabyte, 1024G),\n"
	       "    'P' (petabyte, 1024T) and 'E' (exabyte, 1024P) are supported.\n"
	       "    'b' is ignored.\n"
	       "  'output_filename' is the destination disk image filename\n"
	       "  'ofmt' is 'human' or 'json'\n"
	       "  '-q' use Quiet mode - do not print any output (except errors)\n\n"
	       "Supported formats:");
	for (int i = 0; (f = bc_format_at(i)); i++)
		printf(" %s", bc_format_get_name(f));
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	tool_set_name(argv[0]);
	bc_set_program_name(tool_name); /* the engine's hints name the image tool */
	if (argc < 2)
		return img_usage_error("Not enough arguments");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			return img_bad_option(argv, optind, c);
		}
	}
	if (optind >= argc)
		return img_usage_error("Not enough arguments");
	const char *cmd = argv[optind];
	for (const struct img_command *p = img_commands; p->name; p++) {
		if (!strcmp(p->name, cmd)) {
			argc -= optind;
			argv += optind;
			optind = 0;   /* a full getopt reset for the sub-command */
			return p->run(argc, argv);
		}
	}
	return img_usage_error("Command not found: %s", cmd);
}
