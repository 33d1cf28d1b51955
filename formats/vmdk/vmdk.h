/*
 * vmdk.h — private header shared by the files of the VMDK driver (formats/vmdk/).
 *
 * The driver exports only `bc_format_vmdk` (driver.c). Everything here is prefixed vmdk_ and
 * is visible to the unit tests, which include this header to test the parsers on buffers.
 *
 * Layout of the code:
 *   descriptor.c  text descriptor: tolerant parser (comments, quoting, unknown keys kept) and
 *                 the writer that produces qemu-img's exact text
 *   sparse.c      hosted sparse extents: header, grain directories, grain tables, allocation
 *   stream.c      compressed grains (streamOptimized): markers, inflate, append-only writes
 *   create.c      create() for the five createTypes
 *   driver.c      open/close/read/write/info/check: the bc_format table
 */
#ifndef STRATA_VMDK_H
#define STRATA_VMDK_H

#include "bc_driver.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMDK_SECTOR 512u
#define VMDK4_MAGIC 0x564d444bu          /* "KDMV" read little-endian */
#define VMDK_GD_AT_END UINT64_C(0xffffffffffffffff)

/* Header flags. */
#define VMDK_FLAG_NL_DETECT   (1u << 0)
#define VMDK_FLAG_RGD         (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN  (1u << 2)
#define VMDK_FLAG_COMPRESSED  (1u << 16)
#define VMDK_FLAG_MARKERS     (1u << 17)

/* Stream markers (the "size" field is 0 for metadata markers). */
enum { VMDK_MARKER_EOS = 0, VMDK_MARKER_GT = 1, VMDK_MARKER_GD = 2, VMDK_MARKER_FOOTER = 3 };

/* Grain-table entry values with a meaning of their own. */
#define VMDK_GTE_UNALLOC 0u
#define VMDK_GTE_ZERO    1u

/* Bounds that keep hostile headers from asking for absurd work or memory. */
#define VMDK_MAX_DESC_BYTES   (1u << 20)      /* text descriptor */
#define VMDK_MAX_GRAIN_SECT   (1u << 14)      /* 8 MiB grains (VMware writes 64 KiB) */
#define VMDK_GT_CACHE_MAX     (32u << 20)     /* bytes of grain tables kept in memory */
#define VMDK_MAX_GTES         (1u << 16)
#define VMDK_MAX_EXTENTS      1024
#define VMDK_MAX_SECTORS      (UINT64_C(1) << 40)   /* 512 TiB per image */

/* ---- the sparse extent header (512 bytes on disk, little-endian) ---------------------- */

struct vmdk_header {
	uint32_t version, flags;
	uint64_t capacity, grain_sectors, desc_offset, desc_size;
	uint32_t gtes_per_gt;
	uint64_t rgd_offset, gd_offset, overhead;
	uint8_t unclean;
	uint16_t compress_algorithm;
};

void vmdk_header_encode(const struct vmdk_header *h, uint8_t buf[VMDK_SECTOR]);
/* Decodes and validates (magic, version, grain size, table size); err names `name`. */
int vmdk_header_decode(const uint8_t *buf, size_t len, struct vmdk_header *h, const char *name,
		       struct bc_err *err);

/* ---- the text descriptor ------------------------------------------------------------ */

enum vmdk_ext_type { VMDK_EXT_FLAT, VMDK_EXT_SPARSE, VMDK_EXT_ZERO };

struct vmdk_desc_extent {
	char access[16];             /* RW, RDONLY, NOACCESS */
	uint64_t sectors;
	char type[16];               /* as written: FLAT, VMFS, SPARSE, VMFSSPARSE, ZERO */
	char *filename;              /* NULL for ZERO */
	uint64_t offset;             /* FLAT: start sector inside the file */
};

struct vmdk_desc {
	uint32_t version;
	uint32_t cid, parent_cid;
	bool has_cid, has_parent_cid;
	char *create_type;
	char *parent_hint;           /* parentFileNameHint, NULL when none */
	char *adapter_type;          /* ddb.adapterType */
	struct vmdk_desc_extent *extents;
	int nextents;
};

/* Parses descriptor text of len bytes (stops at the first NUL). */
int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d, const char *name,
		    struct bc_err *err);
void vmdk_desc_free(struct vmdk_desc *d);
/* Rewrites the CID (and parentCID when set) lines of text in place when the width allows,
 * else into a new allocation. Returns the new text (caller frees) or NULL. */
char *vmdk_desc_set_cid(const char *text, size_t len, uint32_t cid, size_t *out_len);

struct vmdk_desc_params {
	uint32_t cid, parent_cid;
	const char *create_type;
	const char *parent_hint;     /* NULL: none */
	const char *extent_lines;    /* "RW n TYPE \"file\"...\n" lines */
	const char *hwversion, *adapter_type, *toolsversion;
	uint64_t total_sectors;
};
/* qemu-img's descriptor text for these parameters; caller frees. */
char *vmdk_desc_format(const struct vmdk_desc_params *p);

/* ---- extents ---------------------------------------------------------------------------- */

struct vmdk_extent {
	enum vmdk_ext_type type;
	char *name;                  /* as in the descriptor (or the image's own name) */
	char *path;                  /* resolved path, for messages and map */
	struct bc_file *file;        /* NULL for ZERO */
	bool own_file;               /* opened by us, closed by us */
	bool read_only;
	uint64_t start;              /* first virtual byte */
	uint64_t length;             /* virtual bytes */
	uint64_t flat_offset;        /* FLAT: byte offset of the data inside file */
	const char *format_str;      /* qemu's "format" in info: "", "FLAT", "SPARSE", ... */

	/* sparse */
	struct vmdk_header hdr;
	uint64_t grain_bytes;
	uint32_t gd_entries;
	uint32_t gt_bytes;           /* gtes_per_gt * 4 rounded to a sector */
	uint32_t *gd, *rgd;          /* sector numbers of the grain tables */
	uint32_t **gt;               /* cached grain tables, indexed like gd (NULL: not loaded) */
	uint64_t gt_cached;          /* bytes held in gt[] */
	bool has_rgd, zero_grain, compressed, markers;
	uint64_t next_alloc;         /* byte offset where the next grain or table goes */
	bool eos_pending;            /* stream: grains appended since the last EOS marker */
	uint8_t *cbuf;               /* stream: reused buffer for one compressed grain */
	uint8_t *wbuf;               /* sparse: reused buffer for merging a partial grain */
	size_t cbuf_len;
	/* last inflated grain (compressed extents) */
	uint8_t *zbuf;
	uint64_t zbuf_grain;         /* grain index + 1 held in zbuf, 0 for none */
};

struct vmdk_state {
	struct vmdk_extent *ext;
	int next;
	struct vmdk_desc desc;
	char *desc_text;             /* raw text as read */
	size_t desc_len;
	bool desc_embedded;          /* descriptor inside the sparse file (monolithic) */
	uint64_t desc_off;           /* byte offset of the embedded descriptor */
	uint64_t desc_cap;           /* room for it */
	bool cid_updated;
	bool stream;                 /* streamOptimized: append-only writes */
};

/* sparse.c */
int vmdk_sparse_open(struct vmdk_extent *e, const char *name, struct bc_err *err);
void vmdk_sparse_close(struct vmdk_extent *e);
/* Looks up the grain holding extent byte off: *sector <- GTE value (0 unalloc, 1 zero). */
int vmdk_sparse_lookup(struct vmdk_extent *e, uint64_t off, uint32_t *gte);
/* True when the grain table covering extent byte off does not exist (a whole unallocated
 * table's worth of grains); *end <- the extent byte offset where that table's range ends. */
bool vmdk_sparse_no_gt(struct vmdk_extent *e, uint64_t off, uint64_t *end);
/* Sets a grain's GTE in both tables (allocating tables when missing), durably ordered. */
int vmdk_sparse_set_gte(struct vmdk_extent *e, uint64_t grain, uint32_t val);
int vmdk_sparse_read(struct bc_image *img, struct vmdk_extent *e, uint64_t off, void *buf,
		     size_t len);
int vmdk_sparse_write(struct bc_image *img, struct vmdk_extent *e, uint64_t off,
		      const void *buf, size_t len);
int vmdk_sparse_check(struct vmdk_extent *e, struct bc_check *res, uint64_t *bad);
/* Layout qemu-img gives a new sparse extent of `sectors` sectors. */
void vmdk_sparse_layout(struct vmdk_header *h, uint64_t sectors, bool zeroed_grain,
			bool compressed);
/* Writes header, descriptor (may be NULL), directories and empty tables of a new extent. */
int vmdk_sparse_init_file(struct bc_file *f, const struct vmdk_header *h, const char *desc,
			  struct bc_err *err, const char *name);

/* I/O helpers that respect O_DIRECT alignment. */
int vmdk_pread(struct bc_file *f, void *buf, size_t len, uint64_t off);
int vmdk_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off);

/* stream.c */
int vmdk_stream_read_grain(struct vmdk_extent *e, uint64_t grain, uint32_t gte, void *grainbuf);
int vmdk_stream_write(struct bc_image *img, struct vmdk_extent *e, uint64_t off,
		      const void *buf, size_t len);
int vmdk_stream_write_eos(struct vmdk_extent *e);
/* Decompresses a marker-less or marked grain payload held in buf (for tests and fuzzing). */
int vmdk_inflate(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen);

/* create.c */
extern const struct bc_opt_desc vmdk_create_opts[];
int vmdk_create(const char *filename, struct bc_opts *opts, struct bc_err *err);

/* driver.c helpers shared with create.c */
char *vmdk_path_join(const char *base_file, const char *name);
uint32_t vmdk_random_cid(void);

#endif
