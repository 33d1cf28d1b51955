/* Engine-internal: turning qemu's block options (json: names, --image-opts) into an open request. */
#ifndef STRATA_OPEN_DICT_H
#define STRATA_OPEN_DICT_H

#include "bc.h"

/* What one layer's options ask for. Everything is owned by the request. */
struct bc_layer_req {
	char *path;                  /* the host file (file.filename) */
	char *display;               /* qemu's json: name when strong options are set, else NULL */
	struct bc_open_opts o;       /* format, flags, io; o.driver_opts = driver_opts */
	struct bc_opts *driver_opts; /* base driver_opts plus the format's own keys (encrypt.*) */
	struct bc_opts *fmt_keys;    /* the keys meant for the format, checked once it is known */
	struct bc_opts *backing;     /* backing.* with the prefix taken off, or NULL */
	bool no_backing;             /* "backing": null */
	const char *top_driver;      /* a protocol given as the driver (qemu names the node's
				      * format after it), else NULL; a static string */
};

/* Parses a "json:" name or an --image-opts string into dotted keys. */
int bc_dict_parse(const char *name, bool image_opts, struct bc_opts *dict, struct bc_err *err);
/* dict -> req. base gives the defaults (flags, io, secrets, driver_opts); dflt_path and
 * dflt_fmt are used when the dict has no file.filename / driver (a backing dict). */
int bc_dict_to_request(const struct bc_opts *dict, const struct bc_open_opts *base,
		       const char *dflt_path, const char *dflt_fmt, struct bc_layer_req *req,
		       struct bc_err *err);
/* Once the format is known (given or probed) and opened: refuses the keys it does not take
 * (qemu's "Block format 'F' does not support the option 'K'") and sets req->display. */
int bc_dict_check_format(struct bc_layer_req *req, const char *fmt, struct bc_err *err);
void bc_layer_req_free(struct bc_layer_req *req);

/* A network protocol's keys made into one filename (nbd's URI, rbd's name), as the rest of the
 * engine opens a protocol by name: when driver= or file.driver= is proto, the keys own() claims
 * are replaced by filename (file.filename) = what build() makes of them; the protocol named as
 * the top driver stays the driver. Nothing changes for other drivers. */
typedef int (*bc_dict_name_fn)(const struct bc_opts *d, const char *pfx, char *name, size_t cap,
			       struct bc_err *err);
typedef bool (*bc_dict_key_fn)(const char *key, const char *pfx);
int bc_dict_protocol_to_name(struct bc_opts **dictp, const char *proto, bc_dict_name_fn build,
			     bc_dict_key_fn own, struct bc_err *err);

#endif
