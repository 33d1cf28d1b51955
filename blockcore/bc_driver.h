/*
 * bc_driver.h — what a format driver sees. Each format exports one `const struct bc_format`
 * (registered in blockcore/registry.c) and nothing else; the engine calls it only through it.
 *
 * Contracts:
 *  - open() is called with img->file open (read-only unless BC_OPEN_RDWR) and must validate
 *    every on-disk field before trusting it; it sets img->size, img->align (default 1), and,
 *    when the image has a backing file, img->backing_name (+ img->backing_fmt). The engine opens
 *    the backing chain after open() returns.
 *  - read/write get ranges inside [0, img->size), aligned to img->align (the engine does
 *    read-modify-write around them). A driver reads what its layer does not hold through
 *    bc_backing_read(), which also handles a missing or shorter backing image.
 *  - Optional members may be NULL: no flush -> host file flush; no discard -> success (discard
 *    is advisory); no write_zeroes -> the engine writes zeros; no block_status -> all data.
 *  - Writable drivers start their main file with numbered crash-safety invariants.
 */
#ifndef STRATA_BC_DRIVER_H
#define STRATA_BC_DRIVER_H

#include "bc.h"
#include "bc_file.h"

struct bc_image {
	const struct bc_format *fmt;
	void *priv;                    /* driver state */
	struct bc_file *file;          /* the host file holding the image */
	char *filename;                /* as given by the user (the host file of a json: name) */
	char *display_name;            /* qemu's json: name when strong options were given */
	char *file_display;            /* qemu's name of the protocol node (rbd), or NULL */
	unsigned flags;                /* BC_OPEN_* */
	uint64_t size;                 /* virtual size */
	uint32_t align;                /* request alignment the driver needs */
	char *backing_name;            /* backing file as stored in the image, or NULL */
	char *backing_fmt;             /* its format as stored, or NULL (probe) */
	char *backing_path;            /* backing_name resolved against filename's directory */
	struct bc_image *backing;      /* opened by the engine */
	const struct bc_open_opts *open_opts; /* valid during open only */
	bool probed_raw;
	bool no_file_aio;              /* requests cannot go to the host file as they are (raw
					* offset=): bc_aio_submit runs them through the driver */
	const char *top_driver;        /* a protocol opened as the driver (json:/--image-opts
					* driver=null-co|file|nbd): the format info reports */
	int nworkers;                  /* codec worker threads to start (0: one per core) */
	struct bc_workers *workers;    /* workers.h: started on first use, NULL until then */
	bool workers_failed;
	struct bc_aio *aio_done;       /* engine: synchronously completed requests */
	bool aio_pending_file;         /* engine: requests queued on img->file */
	bool discard_request;          /* engine: set during bc_discard (a guest's discard, which
					* must read back as zeros, unlike a shrink's) */
};

struct bc_format {
	const char *name;
	/* 0..100: how sure the driver is that buf (the first bytes of the file) is its format. */
	int (*probe)(const uint8_t *buf, size_t len, const char *filename);
	const struct bc_opt_desc *create_opts;
	int (*create)(const char *filename, struct bc_opts *opts, struct bc_err *err);
	/* qemu-img measure: opts are validated create options; src may be NULL. */
	int (*measure)(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		       struct bc_measure *out, struct bc_err *err);

	int (*open)(struct bc_image *img, struct bc_err *err);
	void (*close)(struct bc_image *img);

	int (*read)(struct bc_image *img, uint64_t off, void *buf, size_t len);
	int (*write)(struct bc_image *img, uint64_t off, const void *buf, size_t len);
	/* Whole clusters (the image's last one may be partial), stored compressed. */
	int (*write_compressed)(struct bc_image *img, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct bc_image *img);
	int (*discard)(struct bc_image *img, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags);
	/* This layer only: BC_EXT_ALLOCATED set when the layer decides the range. */
	int (*block_status)(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext);
	int (*truncate)(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc, bool shrink,
			struct bc_err *err);
	/* Asynchronous I/O straight to the host file (raw-like formats); NULL: engine runs it. */
	int (*aio_submit)(struct bc_image *img, struct bc_aio *req);

	/* Fills cluster_size/has_cluster_size, dirty, encrypted, specific; the engine fills the rest. */
	int (*get_info)(struct bc_image *img, struct bc_info *info, struct bc_err *err);
	int64_t (*allocated_size)(struct bc_image *img); /* NULL: the host file's allocation */
	int (*check)(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err);

	int (*snapshot_list)(struct bc_image *img, struct bc_snapshot **list, int *n,
			     struct bc_err *err);
	int (*snapshot_create)(struct bc_image *img, const struct bc_snapshot *sn, struct bc_err *err);
	int (*snapshot_apply)(struct bc_image *img, const char *id_or_name, struct bc_err *err);
	int (*snapshot_delete)(struct bc_image *img, const char *id, const char *name,
			       struct bc_err *err);
	int (*vmstate_write)(struct bc_image *img, uint64_t pos, const void *buf, size_t len);
	int (*vmstate_read)(struct bc_image *img, uint64_t pos, void *buf, size_t len);

	const struct bc_opt_desc *amend_opts;
	/* opts are validated against amend_opts; hooks may be NULL. */
	int (*amend)(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
		     struct bc_err *err);
	int (*change_backing)(struct bc_image *img, const char *file, const char *fmt,
			      struct bc_err *err);
	/* Deallocates everything: the image then reads through to its backing file. */
	int (*make_empty)(struct bc_image *img, struct bc_err *err);
	/* Persistent dirty bitmaps (bc_bitmap); NULL: none. */
	int (*bitmap)(struct bc_image *img, struct bc_bitmap_req *req, struct bc_err *err);
};

/* Opens an image on an already open host file, which the image takes over (closed with it, or
 * on failure): fuzzers and unit tests open memory files this way. A backing chain, if any, is
 * opened by file name. */
int bc_open_file(struct bc_image **out, struct bc_file *file, const struct bc_open_opts *opts,
		 struct bc_err *err);

/* Reads [off, off+len) of img's backing chain as seen from img: zeros where there is no
 * backing image or it is shorter. */
int bc_backing_read(struct bc_image *img, uint64_t off, void *buf, size_t len);

/* Engine: would these first bytes make a probed-raw image probe as another format? */
bool bc_raw_probe_would_change(const uint8_t *buf, size_t len);

/* Host-file helpers for create(): make or truncate the file and open it read-write. */
int bc_create_file(struct bc_file **out, const char *filename, struct bc_err *err);

/* Helpers drivers share. */
static inline uint64_t bc_rd_be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | p[7];
}
static inline uint32_t bc_rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t bc_rd_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint64_t bc_rd_le64(const uint8_t *p)
{
	return (uint64_t)p[7] << 56 | (uint64_t)p[6] << 48 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[3] << 24 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[1] << 8 | p[0];
}
static inline uint32_t bc_rd_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline uint16_t bc_rd_le16(const uint8_t *p) { return (uint16_t)(p[1] << 8 | p[0]); }
static inline void bc_wr_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline void bc_wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void bc_wr_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void bc_wr_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline void bc_wr_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void bc_wr_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* Formats, as registered in blockcore/registry.c. */
extern const struct bc_format bc_format_raw;
extern const struct bc_format bc_format_qcow2;
extern const struct bc_format bc_format_vmdk;
extern const struct bc_format bc_format_vdi;
extern const struct bc_format bc_format_luks;

#endif
