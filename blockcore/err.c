/* User-facing error messages: one line naming the file and the problem. */
#include "bc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bc_err_set(struct bc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void bc_err_prefix(struct bc_err *err, const char *fmt, ...)
{
	char joined[2 * BC_ERR_MAX + 2];
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(joined, BC_ERR_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= BC_ERR_MAX)
		n = BC_ERR_MAX - 1;
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, err->msg, strnlen(err->msg, BC_ERR_MAX - 1) + 1);
	joined[BC_ERR_MAX - 1] = 0;     /* keep what fits */
	memcpy(err->msg, joined, BC_ERR_MAX);
}

static bc_warning_fn warn_fn;
static void *warn_opaque;

static const char *program_name = "strata-img";

void bc_set_program_name(const char *name)
{
	if (name && *name)
		program_name = name;
}

const char *bc_program_name(void)
{
	return program_name;
}

void bc_set_warning_handler(bc_warning_fn fn, void *opaque)
{
	warn_fn = fn;
	warn_opaque = opaque;
}

void bc_warn(const char *fmt, ...)
{
	char line[BC_ERR_MAX];
	va_list ap;

	if (!warn_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	warn_fn(line, warn_opaque);
}
