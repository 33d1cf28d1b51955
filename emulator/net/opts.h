/* opts.h - QEMU-style "key=value,key=value" option strings (-netdev, -nic, -net, -device):
 * the first item may be a bare value for an implied key ("user" for type), ",," is a literal
 * comma, and keys may repeat (hostfwd). */
#ifndef STRATA_EMULATOR_NET_OPTS_H
#define STRATA_EMULATOR_NET_OPTS_H

#include <stdbool.h>

#define VM_NET_OPTS_MAX 64

struct vm_net_opt {
	const char *key, *val; /* val NULL: a bare key ("restrict") */
	bool used;
};

struct vm_net_opts {
	char *buf;
	struct vm_net_opt o[VM_NET_OPTS_MAX];
	int n;
};

/* Splits `spec`; a bare first item becomes implied_key=item (when implied_key is not NULL).
 * 0, -ENOMEM, or -E2BIG for more than VM_NET_OPTS_MAX items. */
int vm_net_opts_parse(struct vm_net_opts *o, const char *spec, const char *implied_key);
void vm_net_opts_free(struct vm_net_opts *o);
/* The last value given for key (marks every one used), or NULL. */
const char *vm_net_opts_get(struct vm_net_opts *o, const char *key);
/* The first value given for key (QEMU takes the first id), or NULL. */
const char *vm_net_opts_first(struct vm_net_opts *o, const char *key);
/* The first option no get/first/each looked at, or NULL. */
const struct vm_net_opt *vm_net_opts_unused(const struct vm_net_opts *o);
/* on/off: 0 with *v set, -EINVAL for anything else ("yes" and "true" as QEMU 7.2 takes them). */
int vm_net_opts_bool(const char *val, bool *v);

#endif
