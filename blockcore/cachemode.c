/* The cache modes every tool takes (-t, -T, cache=), with qemu's meanings. */
#include "bc.h"

#include <errno.h>
#include <string.h>

int bc_parse_cache_mode(const char *mode, unsigned *flags)
{
	static const struct {
		const char *name;
		unsigned set;
	} modes[] = {
		{ "writeback", 0 },
		{ "none", BC_OPEN_DIRECT },
		{ "off", BC_OPEN_DIRECT },
		{ "writethrough", BC_OPEN_WRITETHROUGH },
		{ "directsync", BC_OPEN_DIRECT | BC_OPEN_WRITETHROUGH },
		{ "unsafe", BC_OPEN_UNSAFE },
	};

	for (size_t i = 0; mode && i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(mode, modes[i].name)) {
			*flags = (*flags & ~BC_OPEN_CACHE_MASK) | modes[i].set;
			return 0;
		}
	}
	return -EINVAL;
}
