/*
 * bc.h — the Strata block engine, the one header its consumers include.
 *
 * An image is opened by file name (format given or probed) together with its backing chain.
 * Data-path calls take byte offsets and lengths of any alignment, return 0 or a negative errno
 * and never complete short. Control-path calls (open, create, info, check, snapshots, resize,
 * amend) also fill a struct bc_err with one line for the user that names the file and the
 * problem, in qemu-img's wording where qemu-img has one.
 */
#ifndef STRATA_BC_H
#define STRATA_BC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------------------- */

/* the Strata release every tool reports (-V, --version) */
#define STRATA_VERSION "0.1.0"

#define BC_ERR_MAX 1024

struct bc_err {
	int code;               /* negative errno, 0 when nothing went wrong */
	char msg[BC_ERR_MAX];   /* one line, no trailing newline, no program name */
};

/* Sets err (if not NULL) and returns code, so callers can write `return bc_err_set(...)`. */
int bc_err_set(struct bc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message: "prefix: old message". */
void bc_err_prefix(struct bc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Warnings the library has for the user while it works (qcow2's "Marking image as corrupt"):
 * the library never prints; it hands each line (no newline) to the front end's handler, which
 * prints it as qemu does (a line starting "warning: " is qemu's warn_report: the front end
 * puts its program name first; one starting "error: " is an error_report qemu prints before
 * failing: the front end prints its program name in place of "error"). Without a handler
 * warnings are dropped. Process-wide. */
typedef void (*bc_warning_fn)(const char *line, void *opaque);
void bc_set_warning_handler(bc_warning_fn fn, void *opaque);
void bc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The image tool's name where a message names it, as qemu's name qemu-img: the hints "You can
 * force-remove ... with strata-img check -r all" and check's "strata-img: ERROR ..." lines.
 * strata-img sets its argv[0] name (a qemu-img symlink then reads as qemu-img); other
 * programs keep the default "strata-img". Process-wide. */
void bc_set_program_name(const char *name);
const char *bc_program_name(void);

/* ---- options (create -o, amend -o, open options) ----------------------------------------- */

enum bc_opt_type { BC_OPT_STRING, BC_OPT_BOOL, BC_OPT_NUMBER, BC_OPT_SIZE };

/* One option a driver accepts; a driver's table ends with an entry whose name is NULL.
 * The table order is the order qemu-img prints them in its "Formatting ..." line. */
struct bc_opt_desc {
	const char *name;
	enum bc_opt_type type;
	const char *help;       /* NULL: a host-file option, accepted but not listed by "-o help" */
	const char *def;        /* default shown in the "Formatting" line, NULL for none */
};

struct bc_opts;             /* an ordered list of key=value pairs */

struct bc_opts *bc_opts_new(void);
void bc_opts_free(struct bc_opts *o);
/* Parses qemu's "-o a=b,c=d" syntax (",," escapes a comma; "help" or "?" set the help flag).
 * Later values replace earlier ones. */
int bc_opts_parse(struct bc_opts *o, const char *text, struct bc_err *err);
int bc_opts_set(struct bc_opts *o, const char *key, const char *value);
const char *bc_opts_get(const struct bc_opts *o, const char *key);
/* The idx-th pair in insertion order (idx from 0); false past the end. */
bool bc_opts_entry(const struct bc_opts *o, int idx, const char **key, const char **value);
bool bc_opts_help_requested(const struct bc_opts *o);
/* Typed getters; each returns 0, -ENOENT when unset (dflt stored), or -EINVAL with err set. */
int bc_opts_get_bool(const struct bc_opts *o, const char *key, bool dflt, bool *out, struct bc_err *err);
int bc_opts_get_u64(const struct bc_opts *o, const char *key, uint64_t dflt, uint64_t *out,
		    struct bc_err *err);
int bc_opts_get_size(const struct bc_opts *o, const char *key, uint64_t dflt, uint64_t *out,
		     struct bc_err *err);
/* Checks every key against the table ("Invalid parameter 'k'") and every value's type. */
int bc_opts_validate(const struct bc_opts *o, const struct bc_opt_desc *desc, struct bc_err *err);
/* Renders "k=v k2=v2" in table order: set values, else defaults (qemu-img create's line). */
char *bc_opts_render(const struct bc_opts *o, const struct bc_opt_desc *desc);

/* Parses a size with qemu-img's suffixes (b, k/K, M, G, T, P, E; binary). Rejects negatives,
 * trailing junk and values over INT64_MAX. Returns 0 or -EINVAL / -ERANGE. */
int bc_parse_size(const char *text, uint64_t *out);
/* qemu's human size: "1 GiB", "196 KiB", "512 B", "1.5 MiB" (%0.3g). Writes into buf. */
const char *bc_size_to_str(uint64_t bytes, char *buf, size_t buflen);

/* ---- formats ----------------------------------------------------------------------------- */

struct bc_format;

const struct bc_format *bc_format_find(const char *name);
/* Iterates the registered formats: idx from 0 until NULL. */
const struct bc_format *bc_format_at(int idx);
const char *bc_format_get_name(const struct bc_format *fmt);
const struct bc_opt_desc *bc_format_create_opts(const struct bc_format *fmt);
/* Whether the format stores compressed clusters (bc_write_compressed; convert -c). */
bool bc_format_can_compress(const struct bc_format *fmt);

/* ---- images ------------------------------------------------------------------------------ */

struct bc_image;

enum bc_io_backend { BC_IO_AUTO = 0, BC_IO_POSIX, BC_IO_URING };

enum {
	BC_OPEN_RDWR       = 1u << 0,
	BC_OPEN_NO_BACKING = 1u << 1,  /* do not open the backing chain */
	BC_OPEN_DIRECT     = 1u << 2,  /* O_DIRECT on the host files (cache=none) */
	BC_OPEN_UNSAFE     = 1u << 3,  /* flush is a no-op (cache=unsafe) */
	BC_OPEN_SHARE      = 1u << 4,  /* -U: share every permission (QEMU's force-share) */
	BC_OPEN_NO_REPAIR  = 1u << 5,  /* do not replay a dirty image's refcounts on open (check) */
	BC_OPEN_BACKING_RDWR = 1u << 6, /* open the backing chain writable too (commit) */
	BC_OPEN_NO_SHARE_WRITE = 1u << 7, /* lock others out of writing even a raw image */
	BC_OPEN_WRITETHROUGH = 1u << 8, /* every completed write is flushed (cache=writethrough) */
	BC_OPEN_IMAGE_OPTS = 1u << 9,  /* the filename is qemu's --image-opts option string */
	BC_OPEN_NO_IO      = 1u << 10, /* metadata only (info): encrypted images open without
					  * their secret; data access fails */
	BC_OPEN_NO_SHARE_RESIZE = 1u << 11, /* lock others out of resizing even a raw image
					  * (qemu-nbd's export) */
	BC_OPEN_CHECK      = 1u << 12, /* for check: a damaged table check reports and repairs
					  * (qcow2's snapshot table) does not refuse the open */
};

#define BC_OPEN_CACHE_MASK (BC_OPEN_DIRECT | BC_OPEN_UNSAFE | BC_OPEN_WRITETHROUGH)
/* qemu's cache modes: writeback (the default), none (or off: O_DIRECT), writethrough (every
 * write flushed before it completes), directsync (both), unsafe (flushes ignored). Replaces
 * the BC_OPEN_CACHE_MASK bits of *flags; -EINVAL for any other name (the front end prints
 * "Invalid cache option: MODE"). */
int bc_parse_cache_mode(const char *mode, unsigned *flags);

/* A secret (encryption passphrase) handed to the engine by the front end. */
struct bc_secret {
	const char *id;
	const uint8_t *data;
	size_t len;
};

struct bc_open_opts {
	const char *format;          /* NULL: probe */
	unsigned flags;              /* BC_OPEN_* */
	enum bc_io_backend io;
	const char *snapshot;        /* open read-only as of this internal snapshot (id or name) */
	const struct bc_secret *secrets;
	int nsecrets;
	struct bc_opts *driver_opts; /* runtime options for the top layer's driver, may be NULL;
				      * "file.locking" (on, off, auto) is the engine's own;
				      * json:/--image-opts add theirs (encrypt.*, key-secret,
				      * file.locking, ...) to a copy of it */
	const struct bc_format *driver; /* this driver for the top layer, not found by name (tests) */
	int workers;                 /* codec worker threads (compression, encryption) for the top
				      * layer; 0: one per online core (convert -m) */
};

/* filename is a host file name, a "json:{...}" pseudo-name (also as a stored backing name), or
 * with BC_OPEN_IMAGE_OPTS qemu's "driver=qcow2,file.filename=x,encrypt.key-secret=s" (nested
 * keys as in qemu: file.*, backing.*, cache.*, data-file.*, encrypt.*). Errors use qemu's
 * words; the front end prefixes "Could not open '<filename>': ". */
int bc_open(struct bc_image **out, const char *filename, const struct bc_open_opts *opts,
	    struct bc_err *err);
/* Flattens the JSON object text (after "json:") into dotted keys, as qemu flattens options:
 * {"file": {"filename": "x"}} -> file.filename=x; true/false -> on/off; null -> "". */
int bc_json_flatten(const char *text, struct bc_opts *out, struct bc_err *err);
/* Flushes (when writable) and frees the image and its backing chain. Returns the flush result. */
int bc_close(struct bc_image *img);

uint64_t bc_length(const struct bc_image *img);           /* virtual size in bytes */
const char *bc_filename(const struct bc_image *img);
const char *bc_format_name(const struct bc_image *img);
struct bc_image *bc_backing(const struct bc_image *img);  /* next layer down, or NULL */
/* Replaces the image's backing chain by a fresh open of the same file (by its stored name and
 * the old handle's flags): after the backing file was written through another handle (commit),
 * whose changes the old handle's caches would not see. On an error the old chain stays. */
int bc_reopen_backing(struct bc_image *img, struct bc_err *err);
bool bc_is_writable(const struct bc_image *img);
/* True when the format was probed and guessed raw: the front end prints qemu's warning and the
 * engine refuses writes to the first 512 bytes that would make the image probe as another format. */
bool bc_probed_raw(const struct bc_image *img);
/* The name qemu gives the node holding the bytes (its probe warning names it): an rbd image's
 * json: options, else `given` (the name the user gave). */
const char *bc_protocol_name(const struct bc_image *img, const char *given);
/* True when snapshots go to the storage (raw over RBD): qemu reopens the format around an
 * apply, which repeats its probe warning. */
bool bc_snapshots_by_protocol(const struct bc_image *img);

/* Data path. */
int bc_read(struct bc_image *img, uint64_t off, void *buf, size_t len);
int bc_write(struct bc_image *img, uint64_t off, const void *buf, size_t len);
int bc_flush(struct bc_image *img);
/* Writes whole clusters compressed (qemu-img convert -c, qemu-io write -c): off and len must
 * cover whole clusters, except that the last cluster of the image may be partial.
 * -ENOTSUP when the format cannot store compressed data. len 0 tells the driver that a
 * sequence of compressed writes ended (qemu-img convert -c does so; qcow2 then rounds the
 * file up to a whole sector). */
int bc_write_compressed(struct bc_image *img, uint64_t off, const void *buf, size_t len);
int bc_discard(struct bc_image *img, uint64_t off, uint64_t len);

enum {
	BC_ZERO_MAY_UNMAP   = 1u << 0,  /* the range may be deallocated if it then reads as zeros */
	BC_ZERO_NO_FALLBACK = 1u << 1,  /* fail with -ENOTSUP rather than writing a buffer of zeros */
};
int bc_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags);

/* Block status of the range starting at off, walking the backing chain. */
enum {
	BC_EXT_DATA        = 1u << 0,  /* reads come from stored data */
	BC_EXT_ZERO        = 1u << 1,  /* reads return zeros */
	BC_EXT_ALLOCATED   = 1u << 2,  /* some layer of the chain decides this range */
	BC_EXT_OFFSET      = 1u << 3,  /* host_off is valid (raw data at host_off in host_file) */
	BC_EXT_COMPRESSED  = 1u << 4,
};
struct bc_extent {
	uint64_t off, len;             /* the range described; len <= what was asked */
	unsigned flags;                /* BC_EXT_* */
	int depth;                     /* layer that decided it: 0 top; chain length when none */
	uint64_t host_off;
	const char *host_file;         /* file holding the data (for map's "filename") */
};
/* Fills ext for the longest run at off (up to len) with one status. */
int bc_block_status(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext);
/* Same, for this layer alone: flags without BC_EXT_ALLOCATED mean "not decided here". */
int bc_block_status_layer(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext);

enum bc_prealloc { BC_PREALLOC_OFF = 0, BC_PREALLOC_METADATA, BC_PREALLOC_FALLOC, BC_PREALLOC_FULL };
int bc_parse_prealloc(const char *s, enum bc_prealloc *out);
int bc_truncate(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc, bool shrink,
		struct bc_err *err);

/* Asynchronous requests: completion order is free; cb runs inside bc_aio_wait. */
enum bc_aio_op { BC_AIO_READ, BC_AIO_WRITE, BC_AIO_FLUSH };
struct bc_aio {
	enum bc_aio_op op;
	uint64_t off;
	void *buf;
	size_t len;
	int ret;                       /* 0 or -errno, set before cb runs */
	void (*cb)(struct bc_aio *req);
	void *opaque;
	struct bc_aio *next;           /* engine-private */
};
int bc_aio_submit(struct bc_image *img, struct bc_aio *req);
/* Completes at least min outstanding requests (all when min < 0); returns how many completed. */
int bc_aio_wait(struct bc_image *img, int min);
/* For event loops: a descriptor that polls readable when queued requests of img have
 * completed in the background (then bc_aio_wait(img, 0) delivers them), or -1 when the image
 * has none (every request then completes in bc_aio_wait(img, 0), called after submitting). */
int bc_aio_fd(struct bc_image *img);

/* Memory aligned for O_DIRECT (4096 bytes); free with free(). NULL on failure. */
void *bc_alloc_aligned(size_t len);

/* name resolved against the directory of overlay, as qemu resolves backing files (malloc'd;
 * absolute names and "json:" pseudo-names are returned as they are). */
char *bc_resolve_relative(const char *overlay, const char *name);

/* ---- creating ---------------------------------------------------------------------------- */

/* Creates filename in format fmt. opts holds "size" (may be absent when "backing_file" is set:
 * the backing image's size is used), "backing_file", "backing_fmt" and driver options. */
int bc_create(const char *fmt, const char *filename, struct bc_opts *opts, struct bc_err *err);
/* Sets "size" in opts from the image named by "backing_file" (resolved against filename's
 * directory, format "backing_fmt" or probed), as bc_create does when no size is given. */
int bc_create_size_from_backing(const char *filename, struct bc_opts *opts, struct bc_err *err);

/* Host bytes an image of format fmt with options opts would take: `required` for the data of
 * src (or none when src is NULL) and `fully_allocated` for a fully allocated image of `size`
 * bytes. has_bitmaps/bitmaps as qemu-img measure reports them. -ENOTSUP with err set when the
 * format cannot tell. */
struct bc_measure {
	uint64_t required, fully_allocated, bitmaps;
	bool has_bitmaps;
};
int bc_measure(const char *fmt, struct bc_opts *opts, uint64_t size, struct bc_image *src,
	       struct bc_measure *out, struct bc_err *err);

/* ---- info -------------------------------------------------------------------------------- */

/* A small tree of typed values: the "Format specific information" of info, rendered by the
 * front end both as qemu-img's indented text and as JSON. */
enum bc_node_type { BC_NODE_OBJECT, BC_NODE_LIST, BC_NODE_STRING, BC_NODE_INT, BC_NODE_UINT,
		    BC_NODE_BOOL };
struct bc_node {
	enum bc_node_type type;
	char *key;                     /* NULL inside lists */
	char *str;
	int64_t i;
	uint64_t u;
	bool b;
	struct bc_node *child, *last, *next;
};
struct bc_node *bc_node_new(enum bc_node_type type, const char *key);
struct bc_node *bc_node_add(struct bc_node *parent, enum bc_node_type type, const char *key);
void bc_node_add_str(struct bc_node *parent, const char *key, const char *value);
void bc_node_add_int(struct bc_node *parent, const char *key, int64_t value);
void bc_node_add_uint(struct bc_node *parent, const char *key, uint64_t value);
void bc_node_add_bool(struct bc_node *parent, const char *key, bool value);
void bc_node_free(struct bc_node *n);

struct bc_snapshot {
	char id[128];
	char name[256];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t icount;               /* UINT64_MAX: none recorded */
	uint64_t disk_size;            /* virtual size when taken */
};

struct bc_info {
	const char *filename, *format;
	uint64_t virtual_size;
	int64_t actual_size;           /* bytes allocated on the host, -1 if unknown */
	uint32_t cluster_size;         /* 0: the format has none */
	bool has_cluster_size;
	bool encrypted;
	bool dirty;
	bool no_driver_info;           /* qemu has no driver info for it (raw over nbd, null-co):
					* no dirty flag to show */
	bool no_zero_init;             /* a new image does not read as zeros (luks: unwritten
					* sectors decrypt to noise), so convert writes zeros */
	bool whole_clusters;           /* writes must cover whole clusters, in order (compressed
					* stream targets such as vmdk streamOptimized) */
	char *backing_file;            /* as stored in the image */
	char *full_backing_file;       /* as resolved */
	char *backing_format;
	struct bc_node *specific;      /* format specific information: object whose key is the type */
	struct bc_snapshot *snapshots;
	int nsnapshots;
};
int bc_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err);
void bc_info_free(struct bc_info *info);

/* ---- check ------------------------------------------------------------------------------- */

enum { BC_FIX_LEAKS = 1u << 0, BC_FIX_ERRORS = 1u << 1 };
struct bc_check {
	int corruptions, leaks, check_errors;
	int corruptions_fixed, leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
	bool has_stats;                /* the format filled the cluster statistics */
	char **messages;               /* per-problem lines, printed by the front end */
	int nmessages;
};
/* -ENOTSUP with err set when the format cannot be checked. */
int bc_check(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err);
void bc_check_free(struct bc_check *res);
/* Appends one line to res->messages (for drivers; at most 10000 lines are kept). */
void bc_check_msg(struct bc_check *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- snapshots and VM state -------------------------------------------------------------- */

int bc_snapshot_list(struct bc_image *img, struct bc_snapshot **list, int *n, struct bc_err *err);
int bc_snapshot_create(struct bc_image *img, const struct bc_snapshot *sn, struct bc_err *err);
int bc_snapshot_apply(struct bc_image *img, const char *id_or_name, struct bc_err *err);
int bc_snapshot_delete(struct bc_image *img, const char *id, const char *name, struct bc_err *err);
/* The VM-state area: a byte stream saved with the next snapshot_create (vm_state_size). */
int bc_vmstate_write(struct bc_image *img, uint64_t pos, const void *buf, size_t len);
int bc_vmstate_read(struct bc_image *img, uint64_t pos, void *buf, size_t len);

/* ---- persistent dirty bitmaps (qcow2) ----------------------------------------------------- */

/* One bitmap as listed: enabled bitmaps ("auto") record every write; an in_use bitmap was
 * found marked in use at open (left by a crash: inconsistent, it can only be removed). */
struct bc_bitmap {
	char *name;
	uint64_t granularity;
	bool enabled, in_use;
};
enum bc_bitmap_op { BC_BITMAP_LIST, BC_BITMAP_READ, BC_BITMAP_ADD, BC_BITMAP_REMOVE,
		    BC_BITMAP_CLEAR, BC_BITMAP_ENABLE, BC_BITMAP_DISABLE, BC_BITMAP_MERGE };
/* LIST fills list/n; READ fills bits (malloc'd, LSB first), nbits and granularity of name;
 * ADD takes granularity (0: the default) and disabled; MERGE ORs bits/nbits/granularity (a
 * READ's result) into name. Texts as qemu's QMP errors ("Dirty bitmap 'x' not found"). */
struct bc_bitmap_req {
	enum bc_bitmap_op op;
	const char *name;
	uint64_t granularity;
	bool disabled;
	uint8_t *bits;
	uint64_t nbits;
	struct bc_bitmap *list;
	int n;
	bool can_store; /* LIST: the image can hold persistent bitmaps (qcow2 v3) */
};
/* -ENOTSUP ("Can't store persistent bitmaps to ...") when the format has none (LIST too). */
int bc_bitmap(struct bc_image *img, struct bc_bitmap_req *req, struct bc_err *err);
void bc_bitmap_list_free(struct bc_bitmap *list, int n);

/* ---- changing metadata ------------------------------------------------------------------- */

/* What a driver reports while it amends (all members optional): the start, once the options
 * are accepted and before anything changes, and progress in the terms of qemu's amend status
 * callback (done of total work units; total may change between calls). */
struct bc_amend_hooks {
	void (*start)(void *opaque);
	void (*progress)(void *opaque, int64_t done, int64_t total);
	void *opaque;
};

/* qemu-img amend: changes the options in opts (validated against the format's amend options;
 * an option only create knows gets qemu's "only supported for image creation" hint). The
 * image must be open read-write. hooks may be NULL. */
int bc_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
	     struct bc_err *err);
/* The options fmt can amend (for "-o help"), NULL when the format cannot amend. */
const struct bc_opt_desc *bc_format_amend_opts(const struct bc_format *fmt);
/* Drops everything the image holds, so it reads through to its backing file (commit). */
int bc_make_empty(struct bc_image *img, struct bc_err *err);
/* Points the image at a new backing file (NULL: none) without touching data (rebase -u). */
int bc_change_backing(struct bc_image *img, const char *file, const char *fmt, struct bc_err *err);

#ifdef __cplusplus
}
#endif
#endif
