/*
 * qcow2.h — private to formats/qcow2: on-disk layout, driver state and the functions the
 * driver's files share. Nothing here is visible outside the driver except through
 * bc_format_qcow2 (and the unit tests, which include this header).
 *
 * Layers, lowest first: a file calls only files listed above it (tests/cli/qcow2-layering.sh
 * checks the sources). The two calls that must go up use s->up (struct qcow2_upcalls).
 *   header.c     the header and its extensions: parse, serialize (pure, over buffers)
 *   meta.c       header write-back, the dirty bit, the sticky corrupt mark
 *   dataio.c     guest data in the data file, through the cipher when encrypted
 *   inflate.c    compressed clusters: descriptor, igzip/zlib/zstd inflate (the read side)
 *   overlap.c    metadata overlap checks before writes (overlap-check options)
 *   cache.c      write-back cache of L2 tables and refcount blocks
 *   cacheopts.c  the cache options checked as qemu checks them
 *   refcount.c   refcounts, cluster and byte allocation, refcount table growth
 *   cow.c        L1 write/grow, qcow2_flush_metadata, copy-on-write of shared clusters
 *   cluster.c    guest-to-host mapping: read, write, zero/discard, status, preallocation
 *   snapshot.c   the snapshot table; snapshot create/apply/delete, vmstate, convert -l
 *   bitmap.c     persistent dirty bitmaps
 *   compress.c   compressed writes (the write side)
 *   crypt.c      encryption set-up: open, create, amend, info
 *   check.c      check and repair
 *   empty.c      make_empty (commit)
 *   amend.c      amend
 *   create.c     create (opens the new image through the engine's registry)
 *   measure.c    measure
 *   driver.c     open/close, the data path entry points, info, the format table
 */
#ifndef STRATA_QCOW2_H
#define STRATA_QCOW2_H

#include "bc_driver.h"
#include "crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_HEADER_LEN_CT 112 /* v3 header with compression_type, padded */

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21

/* Sane limits (as qemu): tables are held in memory. */
#define QCOW2_MAX_L1_BYTES (32u * 1024 * 1024)
#define QCOW2_MAX_REFTABLE_BYTES (8u * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_VIRTUAL_SIZE (1ull << 62)

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW (1ull << 1)
#define QCOW2_AUTOCLEAR_KNOWN 0x3ull

/* L1 / L2 entries. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull
#define QCOW2_BITMAP_ALL_ZEROES 0xffffffff00000000ull /* extended L2: every subcluster zero */
#define QCOW2_L1_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2_RESERVED 0x3f000000000001feull
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ull

#define QCOW2_SUBCLUSTERS 32

/* One header extension kept as read (unknown ones are written back unchanged). */
struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
	struct qcow2_ext *next;
};

struct qcow2_feature_name {
	uint8_t type; /* 0 incompatible, 1 compatible, 2 autoclear */
	uint8_t bit;
	char name[47];
};

struct qcow2_header {
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;

	/* From the extensions and the area after them. */
	char *backing_file;  /* NULL when none */
	char *backing_fmt;   /* NULL when none */
	char *data_file;     /* NULL when none */
	struct qcow2_feature_name *features;
	int nfeatures;
	bool has_bitmaps_ext;
	bool has_crypto_ext;
	struct qcow2_ext *unknown; /* unknown extensions in file order */
};

/* ---- header.c: pure functions over buffers ---- */
/* Parses and validates the header in buf (the first cluster, or as much as the file holds).
 * file_size bounds every offset. Fills h (free with qcow2_header_free). Returns 0 or -errno
 * with err set (message without the file name prefix; the caller prefixes it). */
/* QCOW2_PARSE_PAST_EOF: the L1 and refcount tables may lie (partly) past the end of a
 * truncated file, whose missing part reads as zeros (read-only opens, as qemu, so it can be
 * salvaged). QCOW2_PARSE_CHECK: more snapshots than QCOW2_MAX_SNAPSHOTS are left for check
 * to report and repair. */
#define QCOW2_PARSE_PAST_EOF 1u
#define QCOW2_PARSE_CHECK    2u
int qcow2_header_parse(struct qcow2_header *h, const uint8_t *buf, size_t len, uint64_t file_size,
		       unsigned flags, struct bc_err *err);
void qcow2_header_free(struct qcow2_header *h);
/* Serializes h (header, extensions, backing file name) into buf of cap bytes (zeroed first).
 * Returns the number of bytes used or -ENOSPC. */
int qcow2_header_serialize(const struct qcow2_header *h, uint8_t *buf, size_t cap);
/* Names the features set in mask of the given type ("dirty bit, Unknown ... feature: 20"). */
void qcow2_feature_names(const struct qcow2_header *h, int type, uint64_t mask, char *out,
			 size_t outlen);
/* The feature-name table qemu writes into every v3 image. */
void qcow2_default_features(struct qcow2_header *h);
int qcow2_set_str(char **dst, const char *src);

/* ---- cache.c: write-back cache of cluster-sized tables ---- */
struct qcow2_cache_entry {
	uint64_t offset; /* 0: empty */
	uint8_t *data;
	uint64_t lru;
	int next;        /* hash chain */
	bool dirty;
};

struct qcow2_cache {
	struct qcow2_cache_entry *e;
	int n;
	int *buckets;
	int nbuckets;
	uint64_t tick;
	uint32_t size; /* bytes per table */
	int last;      /* last hit */
};

struct qcow2;
int qcow2_cache_init(struct qcow2_cache *c, int n, uint32_t size);
void qcow2_cache_destroy(struct qcow2_cache *c);

/* The two calls that go up the layers, through pointers the top (driver.c) sets at open:
 * the L2 cache's write-back flushes the refcounts first (invariant 1) while refcount.c uses
 * the cache; the overlap checks read the snapshot table (snapshot.c) for the inactive L1s. */
struct qcow2_snap;
struct qcow2_upcalls {
	int (*flush_refcounts)(struct qcow2 *s);
	int (*read_snapshots)(struct qcow2 *s, struct qcow2_snap **out, int *n, struct bc_err *err);
};

/* ---- driver state ---- */
struct qcow2 {
	const struct qcow2_upcalls *up;
	struct bc_image *img;
	struct bc_file *file;      /* the qcow2 file */
	struct bc_file *data_file; /* == file unless an external data file is used */
	struct qcow2_header h;
	char *data_file_path;

	uint32_t cluster_bits, cluster_size;
	uint32_t l2_bits;          /* log2 entries per L2 table */
	uint32_t l2_entry_size;    /* 8, or 16 with extended L2 */
	uint32_t sc_bits;          /* log2 subcluster size */
	bool ext_l2;
	bool data_raw;

	uint64_t *l1;              /* host order */
	uint32_t l1_size;          /* entries in use */
	uint32_t l1_alloc;         /* entries allocated in memory */
	bool l1_dirty;

	uint64_t *reftable;        /* host order */
	uint64_t reftable_size;    /* entries */
	bool reftable_growing;

	uint32_t refcount_order;
	uint32_t rb_bits;          /* log2 refcounts per refblock */
	uint64_t refcount_max;

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;

	uint64_t free_hint;        /* cluster index where free-cluster search starts */
	uint8_t *repair_inuse;     /* during repair: bitmap of clusters in use */
	uint64_t repair_nclusters;

	bool writable;
	bool lazy;                 /* lazy refcounts */
	bool dirty_set;            /* header dirty bit written */
	bool corrupt;
	uint8_t *buf;              /* one cluster of scratch space */
	uint8_t *cbuf;             /* last decompressed cluster */
	uint64_t cbuf_entry;       /* its L2 entry, 0: none */
	struct inflate_state *istate; /* ISA-L's inflate state (87 KiB), made on first use */
	uint64_t snapshots_end;
	bool meta_prealloc_checked; /* block status: does the image look metadata-preallocated */
	bool meta_prealloc;
	struct qcow2_cow_pending *cow; /* cow.c: references dropped after the next flush */
	uint64_t free_byte_offset; /* where the next compressed cluster's bytes go; 0: none */
	struct qcow2_compressor *comp; /* compress.c: compression contexts, made on first use */
	/* crypt.c: encryption (h.crypt_method 1 aes, 2 luks); none unlocked when opened for
	 * info only */
	struct bc_luks *luks;
	struct bc_sector_cipher *aes;
	uint8_t *cbounce;          /* one cluster: data encrypted before it is written */
	struct bc_crypt_pool *cpool; /* crypt.c: cipher copies for the codec workers */
	uint64_t crypto_off, crypto_len; /* the LUKS header's clusters */
	unsigned ol_mask;          /* overlap.c: QCOW2_OL_* structures checked before writes */
	struct { uint64_t off, len; } *ol_snaps; /* overlap.c: the snapshots' L1 tables */
	int ol_nsnaps;
	uint64_t ol_snaps_key;     /* snapshots_offset they were read from */
	uint32_t ol_snaps_nb;          /* nb_snapshots when ol_snaps was read */
	bool ol_snaps_valid;
	struct bc_check *checking; /* during check: corrupt marks go to its messages */
	struct bc_check *checking_repair; /* check -r: the report repairs are recorded in */
	struct qcow2_bms *bms;     /* bitmap.c: bitmaps loaded (rw: kept up to date) */
};

/* Cache lookup: returns the table at offset, reading it when read is set (else zero-filled). */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool read,
		    uint8_t **data);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data);
int qcow2_cache_flush(struct qcow2 *s, struct qcow2_cache *c);
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
bool qcow2_cache_has_dirty(const struct qcow2_cache *c);

/* cacheopts.c: qemu's checks of the cache runtime options (sizes, combinations). */
int qcow2_cache_opts_check(const struct qcow2 *s, const struct bc_opts *o, struct bc_err *err);

/* ---- meta.c: header write-back, dirty bit, corrupt mark ---- */
int qcow2_write_header(struct qcow2 *s);
/* Writes just the incompatible-features word (v3). */
int qcow2_write_incompat(struct qcow2 *s);
/* Lazy refcounts: sets the dirty bit on disk (flushed) before the session's first allocation. */
int qcow2_set_dirty(struct qcow2 *s);
/* Sets the sticky corrupt bit (writable images) and reports it through bc_warn, or the
 * running check's messages; returns -EIO. */
int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- refcount.c ---- */
uint64_t qcow2_rc_get_entry(const uint8_t *rb, uint32_t order, uint64_t idx);
void qcow2_rc_set_entry(uint8_t *rb, uint32_t order, uint64_t idx, uint64_t v);
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int64_t delta);
int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t value);
/* Allocates n contiguous clusters with refcount 1; returns the host offset in *off. */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off);
int qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t n);
/* Allocates size bytes (< one cluster) for compressed data, packed after the previous
 * allocation as qemu packs them; every host cluster the bytes touch gets one reference. */
int qcow2_alloc_bytes(struct qcow2 *s, uint64_t size, uint64_t *off);
int qcow2_flush_refcounts(struct qcow2 *s);

/* ---- cow.c: the active L1, the metadata flush, copy-on-write for snapshots ---- */
int qcow2_flush_metadata(struct qcow2 *s);
int qcow2_write_l1(struct qcow2 *s);
int qcow2_grow_l1(struct qcow2 *s, uint64_t min_entries);
/* Write path, for a table or cluster shared with a snapshot (refcount > 1, COPIED clear):
 * cow_l2 copies the L2 table of L1 entry l1i and returns the copy (cached) in *l2;
 * cow_data copies the data cluster of guest offset off whose L2 entry is *entry, points the
 * entry at the copy and updates *entry. Both queue the shared cluster in s->cow: its
 * reference is dropped once the active tables are on disk (qcow2_cow_release). */
int qcow2_cow_l2(struct qcow2 *s, uint64_t l1i, uint8_t **l2);
int qcow2_cow_data(struct qcow2 *s, uint64_t off, uint64_t *entry);
/* End of qcow2_flush_metadata (active tables on disk): drops the references cow_l2 and
 * cow_data queued in s->cow, then writes the refcounts. s->cow is one malloc'd block. */
struct qcow2_cow_pending {
	size_t n, cap;
	uint64_t off[];
};
int qcow2_cow_release(struct qcow2 *s);
/* True when the cluster at host offset off has refcount 0 (safe to punch). */
bool qcow2_cluster_unused(struct qcow2 *s, uint64_t off);

/* ---- cluster.c ---- */
enum qcow2_ctype { QCOW2_UNALLOC, QCOW2_ZERO, QCOW2_NORMAL, QCOW2_COMPRESSED };
int qcow2_read_data(struct qcow2 *s, uint64_t off, uint8_t *buf, size_t len);
int qcow2_write_data(struct qcow2 *s, uint64_t off, const uint8_t *buf, size_t len);
int qcow2_zero_range(struct qcow2 *s, uint64_t off, uint64_t len, bool discard, bool unmap);
int qcow2_status(struct qcow2 *s, uint64_t off, uint64_t len, struct bc_extent *ext);
int qcow2_preallocate(struct qcow2 *s, uint64_t from, uint64_t to, enum bc_prealloc mode);
/* Compressed writes: qcow2_prepare_l2 makes the (unshared) L2 table for guest offset off
 * exist, so that it is allocated before the compressed bytes (qemu's layout);
 * qcow2_set_compressed points off's entry at the compressed descriptor e and then drops
 * the references of what the entry pointed to before (after the new entry is on disk). */
int qcow2_prepare_l2(struct qcow2 *s, uint64_t off);
int qcow2_set_compressed(struct qcow2 *s, uint64_t off, uint64_t e);

/* ---- dataio.c: guest data in the data file (through the cipher when encrypted) ---- */
/* Guest data at host offset host (guest offset guest), decrypted / encrypted when the image
 * is encrypted; plain data-file I/O otherwise. */
int qcow2_data_pread(struct qcow2 *s, void *buf, size_t len, uint64_t host, uint64_t guest);
int qcow2_data_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t host,
		      uint64_t guest);

/* ---- inflate.c: reading compressed clusters ---- */
/* After each ISA-L call: clears the vector state its AVX-512 code leaves dirty. */
void qcow2_isal_done(void);
int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint64_t in_cluster, uint8_t *buf,
			  size_t len);
void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *host, uint64_t *len);

/* ---- overlap.c: metadata overlap checks (qemu's overlap-check) ---- */
#define QCOW2_OL_MAIN_HEADER (1u << 0)
#define QCOW2_OL_ACTIVE_L1 (1u << 1)
#define QCOW2_OL_ACTIVE_L2 (1u << 2)
#define QCOW2_OL_REFCOUNT_TABLE (1u << 3)
#define QCOW2_OL_REFCOUNT_BLOCK (1u << 4)
#define QCOW2_OL_SNAPSHOT_TABLE (1u << 5)
#define QCOW2_OL_INACTIVE_L1 (1u << 6)
#define QCOW2_OL_INACTIVE_L2 (1u << 7)
#define QCOW2_OL_BITMAP_DIR (1u << 8)
#define QCOW2_OL_CONSTANT (QCOW2_OL_MAIN_HEADER | QCOW2_OL_ACTIVE_L1 | QCOW2_OL_REFCOUNT_TABLE | \
			   QCOW2_OL_SNAPSHOT_TABLE | QCOW2_OL_BITMAP_DIR)
#define QCOW2_OL_CACHED (QCOW2_OL_CONSTANT | QCOW2_OL_ACTIVE_L2 | QCOW2_OL_REFCOUNT_BLOCK | \
			 QCOW2_OL_INACTIVE_L1)
#define QCOW2_OL_ALL (QCOW2_OL_CACHED | QCOW2_OL_INACTIVE_L2)
/* Open options overlap-check=none|constant|cached|all and overlap-check.<kind>=on|off. */
int qcow2_overlap_opts(struct qcow2 *s, const struct bc_opts *o, struct bc_err *err);
/* Which structure (one QCOW2_OL_* bit, 0: none) [off, off+len) overlaps, ign left out. */
unsigned qcow2_overlap(struct qcow2 *s, unsigned ign, uint64_t off, uint64_t len);
const char *qcow2_overlap_name(unsigned bit);
/* 0, or -EIO after marking the image corrupt when the write would overlap metadata. */
int qcow2_overlap_refuse(struct qcow2 *s, unsigned ign, uint64_t off, uint64_t len);
void qcow2_overlap_free(struct qcow2 *s);
/* Names the metadata structure [off, off+len) overlaps (qemu's words), NULL when none. */
const char *qcow2_overlaps_metadata(struct qcow2 *s, uint64_t off, uint64_t len);

/* ---- snapshot.c ---- */
struct qcow2_snap {
	uint64_t l1_offset;
	uint32_t l1_size;
	uint32_t extra_size;    /* a version 3 entry needs at least 16 bytes (check) */
	struct bc_snapshot info;
};
/* check -r: rewrites the table with every entry's extra data complete (as qemu-img). */
int qcow2_snapshot_rewrite_table(struct qcow2 *s);
/* The table as check and the overlap checks need it: entries' L1 offsets and sizes are not
 * validated (check reports them; an operation checks the entry it uses). */
int qcow2_read_snapshots(struct qcow2 *s, struct qcow2_snap **out, int *n, struct bc_err *err);
int qcow2_snapshot_list(struct bc_image *img, struct bc_snapshot **list, int *n,
			struct bc_err *err);

/* At open (not for check): the table reads as qemu reads it, else qemu's error (with its
 * hint to repair the table with check -r all). */
int qcow2_snapshot_table_valid(struct qcow2 *s, struct bc_err *err);
/* check's first look at the table, as qemu-img's: without repair, a table check cannot read
 * (too many entries, too much extra data, too big) is reported in res and fails the check;
 * with repair, overhanging entries are dropped (header count) and extra data cut to 1024
 * bytes (a new table), each a fixed corruption. */
int qcow2_snapshot_check_table(struct qcow2 *s, struct bc_check *res, bool repair,
			       struct bc_err *err);

/* amend (compat=1.1): rewrites the snapshot table when an entry lacks the 16 bytes of extra
 * data v3 requires (the new table is switched to as snapshot changes are). */
int qcow2_snapshot_upgrade_table(struct qcow2 *s);

/* ---- amend.c ---- */
extern const struct bc_opt_desc qcow2_amend_opts[];
int qcow2_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
		struct bc_err *err);

/* ---- bitmap.c: persistent dirty bitmaps ---- */
struct qcow2_bitmap {
	uint64_t table_offset;
	uint32_t table_size;
	uint32_t flags;
	uint8_t type;
	uint8_t granularity_bits;
	uint32_t extra_size;
	uint64_t dir_pos; /* the entry's offset in the directory */
	char *name;
};
/* Parses nb directory entries from dir (size bytes): pure, fuzzed (fuzz/qcow2_bitmap_dir.c). */
int qcow2_bitmap_dir_parse(const uint8_t *dir, uint64_t size, uint32_t nb,
			   struct qcow2_bitmap **out, struct bc_err *err);
int qcow2_read_bitmaps(struct qcow2 *s, struct qcow2_bitmap **out, int *n,
		       uint64_t *dir_off, uint64_t *dir_size);
void qcow2_bitmaps_free(struct qcow2_bitmap *b, int n);
void qcow2_bitmaps_info(struct qcow2 *s, struct bc_node *parent);
/* Read-write open: loads the bitmaps and marks them in use on disk; close stores them. */
int qcow2_bitmaps_open(struct qcow2 *s, struct bc_err *err);
int qcow2_bitmaps_store(struct qcow2 *s);
void qcow2_bitmaps_close(struct qcow2 *s);
/* A guest write (or zeroing, discard) of [off, off+len): sets the enabled bitmaps' bits. */
void qcow2_bitmaps_mark(struct qcow2 *s, uint64_t off, uint64_t len);
int qcow2_bitmaps_resize(struct qcow2 *s, uint64_t size, struct bc_err *err);
int qcow2_bitmap(struct bc_image *img, struct bc_bitmap_req *req, struct bc_err *err);
/* measure: the bytes src's bitmaps take in a qcow2 image of cluster size cs. */
int qcow2_measure_bitmaps(struct bc_image *src, uint64_t cs, struct bc_measure *out);

/* ---- compress.c ---- */
/* bc_format.write_compressed: whole clusters at cluster-aligned off (the image's last
 * cluster may be partial: padded with zeros). */
int qcow2_write_compressed(struct bc_image *img, uint64_t off, const void *buf, size_t len);
void qcow2_compress_free(struct qcow2 *s);

/* ---- crypt.c ---- */
int qcow2_crypt_open(struct qcow2 *s, struct bc_err *err);
void qcow2_crypt_close(struct qcow2 *s);
int qcow2_crypt_create(struct qcow2 *s, struct bc_opts *opts, bool luks, struct bc_err *err);
/* create: encrypt.key-secret is given and names a secret that exists. */
int qcow2_crypt_check_secret(struct bc_opts *opts, struct bc_err *err);
void qcow2_crypt_info(struct qcow2 *s, struct bc_node *parent);
/* amend: encrypt.state, encrypt.new-secret, encrypt.old-secret, encrypt.keyslot,
 * encrypt.iter-time on a LUKS image opened with its secret. */
int qcow2_crypt_amend(struct qcow2 *s, struct bc_opts *opts, struct bc_err *err);
void qcow2_crypt_range(const struct qcow2 *s, uint64_t *off, uint64_t *len);

/* ---- check.c ---- */
int qcow2_check(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err);
int qcow2_check_state(struct qcow2 *s, struct bc_check *res, unsigned fix, struct bc_err *err);

/* ---- create.c ---- */
extern const struct bc_opt_desc qcow2_create_opts[];
struct qcow2_create_params {
	uint64_t size, cluster_size, refcount_bits;
	uint32_t version;
	bool lazy, ext_l2, data_raw, luks, aes;
	uint8_t compression_type;
	enum bc_prealloc prealloc;
	const char *backing_file, *backing_fmt, *data_file;
};
/* The one parser of the creation options, for create and (measure set) for measure, which
 * takes the size given (not opts' size) and checks only what qemu's measure checks, in its
 * words. */
int qcow2_create_params(struct bc_opts *opts, bool measure, uint64_t size,
			struct qcow2_create_params *p, struct bc_err *err);
int qcow2_create(const char *filename, struct bc_opts *opts, struct bc_err *err);
int qcow2_make_empty(struct bc_image *img, struct bc_err *err);   /* empty.c */
int qcow2_measure(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		  struct bc_measure *out, struct bc_err *err);           /* measure.c */

static inline uint64_t qcow2_align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* --- snapshots (snapshot.c) --- */
int qcow2_snapshot_create(struct bc_image *img, const struct bc_snapshot *sn,
			  struct bc_err *err);
int qcow2_snapshot_apply(struct bc_image *img, const char *id_or_name, struct bc_err *err);
int qcow2_snapshot_delete(struct bc_image *img, const char *id, const char *name,
			  struct bc_err *err);
int qcow2_vmstate_write(struct bc_image *img, uint64_t pos, const void *buf, size_t len);
int qcow2_vmstate_read(struct bc_image *img, uint64_t pos, void *buf, size_t len);
/* Open: makes snapshot spec ("ID or name", "snapshot.id=..,snapshot.name=..") the active
 * state of a read-only image (convert -l). */
int qcow2_snapshot_open_ro(struct qcow2 *s, const char *spec, struct bc_err *err);

#endif
