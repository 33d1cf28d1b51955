/* Minimal TAP producer for unit tests: one "ok N - name" / "not ok N - name" line per check. */
#ifndef STRATA_TAP_H
#define STRATA_TAP_H

#include <stdbool.h>

/* Records one result; returns cond so callers can stop a dependent sequence. */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a diagnostic line ("# ..."). */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit status for main: 0 when every check passed, 1 otherwise. */
int tap_done(void);

#endif
