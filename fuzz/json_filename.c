/*
 * Fuzzes the json: file name reader and the block-option mapping behind json: names and
 * --image-opts: arbitrary bytes as the text after "json:" (and as an --image-opts string),
 * flattened into dotted keys, turned into an open request and checked against a format.
 * No file is opened. Every failure must be a clean negative errno; ASan/UBSan catch the rest.
 */
#include "open-dict.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void map_dict(const struct bc_opts *dict)
{
	static const struct bc_open_opts base = { .flags = BC_OPEN_RDWR };
	struct bc_layer_req req;
	struct bc_err err = { 0 };

	if (bc_dict_to_request(dict, &base, NULL, NULL, &req, &err) < 0)
		return;
	(void)bc_dict_check_format(&req, req.o.format ? req.o.format : "qcow2", &err);
	if (req.backing) {
		struct bc_layer_req b;
		if (bc_dict_to_request(req.backing, &req.o, "base.img", "qcow2", &b, &err) == 0)
			bc_layer_req_free(&b);
	}
	bc_layer_req_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 6);
	struct bc_err err = { 0 };

	if (!text)
		return 0;
	memcpy(text, "json:", 5);
	memcpy(text + 5, data, size);
	text[size + 5] = '\0';
	for (int image_opts = 0; image_opts < 2; image_opts++) {
		struct bc_opts *dict = bc_opts_new();
		if (dict && bc_dict_parse(image_opts ? text + 5 : text, image_opts, dict, &err) == 0)
			map_dict(dict);
		bc_opts_free(dict);
	}
	free(text);
	return 0;
}
