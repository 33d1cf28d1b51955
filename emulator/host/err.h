/* err.h - fills a caller's error buffer and returns a code in one step: the emulator's
 * functions return 0 or -errno and leave a message for the front end to print. */
#ifndef STRATA_EMULATOR_HOST_ERR_H
#define STRATA_EMULATOR_HOST_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int vm_errf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int vm_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

#endif
