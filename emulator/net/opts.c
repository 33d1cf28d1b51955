/* opts.c - see opts.h. */
#include "emulator/net/opts.h"
#include "emulator/host/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vm_net_opts_parse(struct vm_net_opts *o, const char *spec, const char *implied_key)
{
	memset(o, 0, sizeof(*o));
	o->buf = malloc(strlen(spec) + 1);
	if (!o->buf)
		return -ENOMEM;
	/* unescape into buf, items separated by NUL; `starts` records each item */
	char *w = o->buf;
	char *item = w;
	for (const char *p = spec;; p++) {
		if (*p == ',' && p[1] == ',') {
			*w++ = ',';
			p++;
			continue;
		}
		if (*p && *p != ',') {
			*w++ = *p;
			continue;
		}
		*w++ = 0;
		if (o->n == VM_NET_OPTS_MAX)
			return -E2BIG;
		char *eq = strchr(item, '=');
		if (eq) {
			*eq = 0;
			o->o[o->n++] = (struct vm_net_opt){ item, eq + 1, false };
		} else if (o->n == 0 && implied_key) {
			o->o[o->n++] = (struct vm_net_opt){ implied_key, item, false };
		} else if (*item) {
			o->o[o->n++] = (struct vm_net_opt){ item, NULL, false };
		}
		if (!*p)
			break;
		item = w;
	}
	return 0;
}

void vm_net_opts_free(struct vm_net_opts *o)
{
	free(o->buf);
	o->buf = NULL;
	o->n = 0;
}

const char *vm_net_opts_get(struct vm_net_opts *o, const char *key)
{
	const char *v = NULL;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->o[i].key, key)) {
			o->o[i].used = true;
			v = o->o[i].val ? o->o[i].val : "on";
		}
	return v;
}

const char *vm_net_opts_first(struct vm_net_opts *o, const char *key)
{
	const char *v = NULL;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->o[i].key, key)) {
			o->o[i].used = true;
			if (!v)
				v = o->o[i].val ? o->o[i].val : "on";
		}
	return v;
}

const struct vm_net_opt *vm_net_opts_unused(const struct vm_net_opts *o)
{
	for (int i = 0; i < o->n; i++)
		if (!o->o[i].used)
			return &o->o[i];
	return NULL;
}

int vm_net_opts_bool(const char *val, bool *v)
{
	int b = vm_parse_bool(val);
	if (b < 0)
		return -EINVAL;
	*v = b;
	return 0;
}
