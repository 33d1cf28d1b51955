#include "tool.h"
#include "secret.h"

#include <stdarg.h>
#include <string.h>

const char *tool_name = "strata-img";

/* The engine's warnings (qcow2's corrupt mark) go to stderr as qemu's tools print them:
 * the line as is, flushed before stdout's next line; a "warning: " line (qemu's warn_report)
 * carries the program name first, an "error: " line (error_report) the name instead. */
static void print_warning(const char *line, void *opaque)
{
	(void)opaque;
	fflush(stdout);
	if (!strncmp(line, "warning: ", 9))
		fprintf(stderr, "%s: ", tool_name);
	else if (!strncmp(line, "error: ", 7))
		fprintf(stderr, "%s: ", tool_name), line += 7;
	fprintf(stderr, "%s\n", line);
}

void tool_set_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		tool_name = slash ? slash + 1 : argv0;
	bc_set_warning_handler(print_warning, NULL);
}

void tool_verror(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tool_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verror(fmt, ap);
	va_end(ap);
}

int tool_cache_flags(const char *mode, unsigned *flags)
{
	if (!mode || bc_parse_cache_mode(mode, flags) == 0)
		return 0;
	tool_error("Invalid cache option: %s", mode);
	return -1;
}

int tool_src_cache_flags(const char *mode, unsigned *flags)
{
	if (!mode || bc_parse_cache_mode(mode, flags) == 0)
		return 0;
	tool_error("Invalid source cache option: %s", mode);
	return -1;
}

void tool_warn_probed_raw(const char *filename)
{
	fprintf(stderr,
		"WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
		"         Automatically detecting the format is dangerous for raw images, "
		"write operations on block 0 will be restricted.\n"
		"         Specify the 'raw' format explicitly to remove the restrictions.\n",
		filename);
}

int tool_object_add(const char *def)
{
	struct bc_err err = { 0 };

	if (bc_secret_object_add(def, &err) < 0) {
		tool_error("%s", err.msg);
		return -1;
	}
	return 0;
}
