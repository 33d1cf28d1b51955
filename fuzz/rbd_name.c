/*
 * Fuzzes the rbd: name parser (blockcore/rbd-name.c) and the driver=rbd option mapping
 * (rbd-dict.c): arbitrary bytes after "rbd:" are parsed; a parsed target is spelled back
 * canonically, which must parse to the same target, and shown as qemu's json: name. The
 * bytes also go through --image-opts as driver=rbd keys. No cluster is contacted.
 */
#include "open-dict.h"
#include "rbd-client.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_target(const struct rbd_target *a, const struct rbd_target *b)
{
	bool same = !strcmp(a->pool, b->pool) && !strcmp(a->nspace, b->nspace) &&
		    !strcmp(a->image, b->image) && !strcmp(a->snap, b->snap) &&
		    !strcmp(a->conf, b->conf) && !strcmp(a->user, b->user) &&
		    a->from_opts == b->from_opts && a->nopts == b->nopts;

	for (int i = 0; same && i < a->nopts; i++)
		same = !strcmp(a->key[i], b->key[i]) && !strcmp(a->val[i], b->val[i]);
	return same;
}

static void round_trip(const char *name)
{
	struct rbd_target *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *canon = malloc(16384), *shown = NULL;
	struct bc_err err = { 0 };

	if (a && b && canon && rbd_parse_name(name, a, &err) == 0 &&
	    rbd_target_name(a, canon, 16384) == 0) {
		if (rbd_parse_name(canon, b, &err) != 0 || !same_target(a, b))
			abort();     /* the canonical spelling must mean the same target */
		if (rbd_display_name(canon, "raw", false, &shown) == 0)
			free(shown);
	}
	free(a);
	free(b);
	free(canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 5);
	struct bc_err err = { 0 };

	if (!text)
		return 0;
	memcpy(text, "rbd:", 4);
	memcpy(text + 4, data, size);
	text[size + 4] = '\0';
	if (strlen(text) == size + 4)
		round_trip(text);
	struct bc_opts *dict = bc_opts_new();
	if (dict && bc_opts_set(dict, "driver", "rbd") == 0 &&
	    bc_dict_parse(text + 4, true, dict, &err) == 0 &&
	    bc_rbd_dict_rewrite(&dict, &err) == 0) {
		const char *fname = bc_opts_get(dict, "filename");
		if (fname && bc_rbd_is_name(fname))
			round_trip(fname);
	}
	bc_opts_free(dict);
	free(text);
	return 0;
}
