/*
 * The cache runtime options validated as qemu validates them before a qcow2 image opens:
 * cache-size, l2-cache-size, refcount-cache-size, l2-cache-entry-size, cache-clean-interval.
 * (The sizes themselves are applied by the open code.)
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>

static const char *const size_keys[] = { "cache-size", "l2-cache-size", "refcount-cache-size",
					  "l2-cache-entry-size" };

int qcow2_cache_opts_check(const struct qcow2 *s, const struct bc_opts *o, struct bc_err *err)
{
	uint64_t v[4];
	bool set[4];
	const char *t;

	for (int i = 0; i < 4; i++) {
		t = bc_opts_get(o, size_keys[i]);
		set[i] = t != NULL;
		v[i] = 0;
		if (t && bc_parse_size(t, &v[i]) < 0)
			return bc_err_set(err, -EINVAL, "Parameter '%s' expects a non-negative number "
					  "below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, "
					  "mega-, giga-, tera-, peta-\nand exabytes, respectively.",
					  size_keys[i]);
	}
	t = bc_opts_get(o, "cache-clean-interval");
	unsigned long long ci = 0;
	if (t) {
		char *end;
		ci = strtoull(t, &end, 0);
		if (!*t || *end)
			return bc_err_set(err, -EINVAL, "Parameter 'cache-clean-interval' expects a "
					  "number");
	}
	if (set[0] && set[1] && set[2])
		return bc_err_set(err, -EINVAL, "cache-size, l2-cache-size and refcount-cache-size "
				  "may not be set at the same time");
	if (set[0] && set[1] && v[1] > v[0])
		return bc_err_set(err, -EINVAL, "l2-cache-size may not exceed cache-size");
	if (set[0] && set[2] && v[2] > v[0])
		return bc_err_set(err, -EINVAL, "refcount-cache-size may not exceed cache-size");
	if (set[3] && (v[3] < 512 || v[3] > s->cluster_size || (v[3] & (v[3] - 1))))
		return bc_err_set(err, -EINVAL, "L2 cache entry size must be a power of two between "
				  "512 and the cluster size (%u)", s->cluster_size);
	if (ci > 0xffffffffull)
		return bc_err_set(err, -EINVAL, "Cache clean interval too big");
	return 0;
}
