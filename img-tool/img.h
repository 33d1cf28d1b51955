/* strata-img: the sub-commands and the helpers they share. */
#ifndef STRATA_IMG_H
#define STRATA_IMG_H

#include "tool.h"

#include <getopt.h>
#include <stdbool.h>

/* Every sub-command: argc/argv start at the sub-command's name; returns the exit code. */
int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_map(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_dd(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_amend(int argc, char **argv);
int img_bitmap(int argc, char **argv);

/* convert --bitmaps (img-convert-bitmaps.c): the checks on the sources (before the target
 * is made) and on the target, then the copy; each prints qemu-img's error, returns -1. */
int img_conv_check_bitmaps(struct bc_image **src, int nsrc, bool skip_broken);
int img_conv_dst_bitmaps_ok(struct bc_image *dst);
int img_conv_copy_bitmaps(struct bc_image *src, struct bc_image *dst, bool skip_broken);

/* img-opts.c: the options sub-commands share. Long options without a letter get these codes;
 * each sub-command lists in its table (and getopt string) just the ones qemu-img takes there. */
enum {
	IMG_OPT_OBJECT = 0x100, IMG_OPT_IMAGE_OPTS, IMG_OPT_OUTPUT,
	IMG_OPT_OWN,   /* a sub-command's own long-option codes start here */
};
#define IMG_LONGOPT_HELP        { "help", no_argument, NULL, 'h' }
#define IMG_LONGOPT_OBJECT      { "object", required_argument, NULL, IMG_OPT_OBJECT }
#define IMG_LONGOPT_IMAGE_OPTS  { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS }
#define IMG_LONGOPT_FORCE_SHARE { "force-share", no_argument, NULL, 'U' }
#define IMG_LONGOPT_OUTPUT      { "output", required_argument, NULL, IMG_OPT_OUTPUT }

enum img_output { IMG_OUTPUT_HUMAN, IMG_OUTPUT_JSON };

struct img_common {
	const char *fmt;          /* -f */
	const char *cache;        /* -t: the image's cache mode */
	const char *src_cache;    /* -T: the source (backing) images' */
	enum img_output output;   /* --output */
	bool quiet, share, image_opts;  /* -q, -U/--force-share, --image-opts */
};

/* One getopt result: takes -f -t -T -q -U --object --image-opts --output (0), or prints
 * qemu-img's error for a bad value or an unknown option and returns the exit status 1. */
int img_common_opt(struct img_common *c, int opt, char **argv);
/* The open flags those options ask for: -t (checked: "Invalid cache option"), -U, and
 * --image-opts (refused with -f). 0, or 1 after printing the error. */
int img_common_flags(const struct img_common *c, unsigned *flags);

/* "Try '<tool> --help' for more information" after a usage error; returns 1. */
int img_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* getopt's '?' and ':' cases, worded as qemu-img words them; returns 1. */
int img_bad_option(char **argv, int optind_now, int opt);

/* --image-opts: adds BC_OPEN_IMAGE_OPTS to *flags (the file name is then an option string
 * such as "driver=qcow2,file.filename=x"); with -f prints qemu's refusal and returns 1. */
int img_image_opts_flags(bool image_opts, const char *fmt, unsigned *flags);

/* Appends one -o argument to *acc: qemu-img joins repeated -o options with commas. Prints
 * "Invalid option list" and returns -1 for a list qemu refuses (empty, ",", "x,"). */
int img_append_opts(char **acc, const char *more);

/* -p (img-progress.c): qemu-img's progress line on stdout. */
struct img_progress {
	bool on, started;
	float last;
};
void img_progress_print(struct img_progress *p, float value);
void img_progress_end(struct img_progress *p);

/* Parses --output's argument; prints the error and returns -1 on a bad one. */
int img_parse_output(const char *arg, enum img_output *out);

/* "-o help": the options a format takes, in qemu-img's layout. */
void img_print_opts_help(const char *fmt_name, const struct bc_opt_desc *d);
/* The same with a target file name: the host file's options merged in ("Supported options:"). */
void img_print_opts_help_file(const struct bc_opt_desc *d);
/* Just the option lines of that list (amend prints its own heading). */
void img_print_opts_list(const struct bc_opt_desc *d);

/* The snapshot table of info and snapshot -l. */
void img_print_snapshot_header(FILE *out);
void img_print_snapshot_row(FILE *out, const struct bc_snapshot *sn);

/* Rendering of info trees: qemu's indented text and its pretty JSON. */
void img_print_node_human(FILE *out, const struct bc_node *obj, int indent);
void img_print_json_string(FILE *out, const char *s);
void img_print_node_json(FILE *out, const struct bc_node *n, int indent);

#endif
