/*
 * rbd-client.h — Ceph RBD as a host-layer back end: "rbd:POOL/IMAGE[@SNAP][:KEY=VALUE...]"
 * names open as a struct bc_file whose bytes live in an RBD image (through librbd), so raw,
 * qcow2 and every other format run on top of it. Snapshots are RBD's own (bc_file_ops.snap_*).
 * The name parser has no librbd dependency (fuzz/fuzz_rbd_name.c feeds it).
 */
#ifndef STRATA_RBD_CLIENT_H
#define STRATA_RBD_CLIENT_H

#include "bc_file.h"

#define RBD_MAX_OPTS 16

/* Where an rbd: name points, unescaped. */
struct rbd_target {
	char pool[256], nspace[256], image[256], snap[256];
	char conf[1024], user[256];
	bool from_opts;                    /* made from json:/--image-opts keys (":=opts=1") */
	int nopts;                         /* further KEY=VALUE pairs: rados_conf_set */
	char key[RBD_MAX_OPTS][64], val[RBD_MAX_OPTS][512];
};

/* Whether name is an rbd: name. */
bool bc_rbd_is_name(const char *name);
/* Parses qemu's rbd: syntax (backslash escapes ':', '/', '@'). -EINVAL with qemu's words. */
int rbd_parse_name(const char *name, struct rbd_target *t, struct bc_err *err);
/* The canonical rbd: name of a target (what json:/--image-opts keys turn into). */
int rbd_target_name(const struct rbd_target *t, char *buf, size_t len);

/* The name qemu shows for an rbd: name (info's "image:"): json:{"driver": FMT, "file": {...}}
 * or, for the rbd node itself (top), json:{...}. *out is malloc'd. */
int rbd_display_name(const char *name, const char *fmt, bool top, char **out);

struct bc_opts;
/* json:/--image-opts: driver=rbd (or file.driver=rbd) with pool, namespace, image, snapshot,
 * conf, user, server.N.host/port become an rbd: filename; *dict may be replaced. */
int bc_rbd_dict_rewrite(struct bc_opts **dict, struct bc_err *err);

/* Loads librbd (rbd-lib.c) once; -ENOTSUP with the loader's message where it cannot. */
int bc_rbd_lib_load(struct bc_err *err);

/* Opens (BC_FILE_CREATE: creates, size 0, then opens) an RBD image. */
int bc_rbd_file_open(struct bc_file **out, const char *name, unsigned flags, struct bc_err *err);

#endif
