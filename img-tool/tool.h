/* Pieces the front ends share: the invoked program name and error printing. */
#ifndef STRATA_TOOL_H
#define STRATA_TOOL_H

#include "bc.h"

#include <stdarg.h>
#include <stdio.h>


/* basename of argv[0]: messages carry the name the program was invoked by. */
extern const char *tool_name;
void tool_set_name(const char *argv0);
/* "<tool_name>: <message>\n" on stderr. */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* -t/-T MODE (qemu's cache modes, bc_parse_cache_mode): sets the cache bits of *flags, or
 * prints "Invalid cache option: MODE" and returns -1. NULL leaves *flags as they are. */
int tool_cache_flags(const char *mode, unsigned *flags);
/* The same for -T (the source images): "Invalid source cache option: MODE". */
int tool_src_cache_flags(const char *mode, unsigned *flags);
/* --object OBJECTDEF: adds a secret to the engine's store; prints qemu's error and returns
 * -1 when the definition is refused. */
int tool_object_add(const char *def);

/* qemu's warning for a writable image whose format was probed as raw (stderr). */
void tool_warn_probed_raw(const char *filename);

#endif
