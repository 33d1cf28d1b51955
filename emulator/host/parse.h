/* parse.h - option-value parsing shared by every part of the command line (one parser per
 * concept): QEMU's booleans. */
#ifndef STRATA_EMULATOR_HOST_PARSE_H
#define STRATA_EMULATOR_HOST_PARSE_H

#include <string.h>

/* A boolean as QEMU's option parser takes it: 1 for on/yes/true/y, 0 for off/no/false/n, -1 for
 * anything else (the caller words the error: "Parameter 'X' expects 'on' or 'off'"). */
static inline int vm_parse_bool(const char *v)
{
	static const char *const yes[] = { "on", "yes", "true", "y" }, *const no[] = { "off", "no", "false", "n" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(v, yes[i]) || !strcmp(v, no[i]))
			return !strcmp(v, yes[i]);
	return -1;
}

#endif
