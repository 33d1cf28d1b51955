/*
 * bc_file.h — the host layer under the engine (SQLite's VFS in spirit): every byte a driver
 * stores goes through a struct bc_file, whose backend is POSIX, io_uring or memory.
 *
 * Contracts of every backend:
 *  - pread/pwrite transfer the whole buffer or fail with -errno; a short read past the end of
 *    the file zero-fills the rest of the buffer and succeeds (the file is sparse beyond EOF).
 *  - flush makes every completed write durable (fdatasync); ordering between metadata updates
 *    is the caller's job and is expressed by calling flush between them.
 *  - punch deallocates and the range then reads as zeros; zero makes the range read as zeros
 *    and may allocate. Both may return -ENOTSUP; callers fall back to writing zeros.
 *  - status reports whether [off, off+*pnum) holds data or is a hole (SEEK_DATA/SEEK_HOLE).
 */
#ifndef STRATA_BC_FILE_H
#define STRATA_BC_FILE_H

#include "bc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bc_file;

/* Points in a format's write paths where a filter (blockcore/blkdebug.c) may inject a fault:
 * QEMU's blkdebug event names, raised just before the matching metadata or data write. */
enum bc_event {
	BC_EV_L1_UPDATE, BC_EV_L1_GROW_ALLOC_TABLE, BC_EV_L1_GROW_WRITE_TABLE,
	BC_EV_L1_GROW_ACTIVATE_TABLE, BC_EV_L2_LOAD, BC_EV_L2_UPDATE, BC_EV_L2_UPDATE_COMPRESSED,
	BC_EV_L2_ALLOC_COW_READ, BC_EV_L2_ALLOC_WRITE, BC_EV_READ_AIO, BC_EV_READ_BACKING_AIO,
	BC_EV_READ_COMPRESSED, BC_EV_WRITE_AIO, BC_EV_WRITE_COMPRESSED, BC_EV_VMSTATE_LOAD,
	BC_EV_VMSTATE_SAVE, BC_EV_COW_READ, BC_EV_COW_WRITE, BC_EV_REFTABLE_LOAD,
	BC_EV_REFTABLE_GROW, BC_EV_REFTABLE_UPDATE, BC_EV_REFBLOCK_LOAD, BC_EV_REFBLOCK_UPDATE,
	BC_EV_REFBLOCK_UPDATE_PART, BC_EV_REFBLOCK_ALLOC, BC_EV_REFBLOCK_ALLOC_HOOKUP,
	BC_EV_REFBLOCK_ALLOC_WRITE, BC_EV_REFBLOCK_ALLOC_WRITE_BLOCKS,
	BC_EV_REFBLOCK_ALLOC_WRITE_TABLE, BC_EV_REFBLOCK_ALLOC_SWITCH_TABLE, BC_EV_CLUSTER_ALLOC,
	BC_EV_CLUSTER_ALLOC_BYTES, BC_EV_CLUSTER_FREE, BC_EV_FLUSH_TO_OS, BC_EV_FLUSH_TO_DISK,
	BC_EV_PWRITEV_RMW_HEAD, BC_EV_PWRITEV_RMW_AFTER_HEAD, BC_EV_PWRITEV_RMW_TAIL,
	BC_EV_PWRITEV_RMW_AFTER_TAIL, BC_EV_PWRITEV, BC_EV_PWRITEV_ZERO, BC_EV_PWRITEV_DONE,
	BC_EV_EMPTY_IMAGE_PREPARE, BC_EV_L1_SHRINK_WRITE_TABLE, BC_EV_L1_SHRINK_FREE_L2_CLUSTERS,
	BC_EV_COR_WRITE, BC_EV_CLUSTER_ALLOC_SPACE, BC_EV_NONE, BC_EV_COUNT
};

struct bc_file_ops {
	const char *name;
	int (*pread)(struct bc_file *f, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct bc_file *f, const void *buf, size_t len, uint64_t off);
	int (*flush)(struct bc_file *f);
	int (*punch)(struct bc_file *f, uint64_t off, uint64_t len);
	int (*zero)(struct bc_file *f, uint64_t off, uint64_t len);
	int (*allocate)(struct bc_file *f, uint64_t off, uint64_t len);   /* fallocate mode 0 */
	int (*truncate)(struct bc_file *f, uint64_t size);
	int64_t (*length)(struct bc_file *f);
	int64_t (*allocated)(struct bc_file *f);                          /* bytes on disk */
	/* *pnum <- bytes from off (<= len) that are all data (*data=true) or all hole. */
	int (*status)(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data);
	/* Queued I/O: submit may complete at once; poll completes >= min (all when min < 0). */
	int (*submit)(struct bc_file *f, struct bc_aio *req);
	int (*poll)(struct bc_file *f, int min);
	void (*close)(struct bc_file *f);
	void (*event)(struct bc_file *f, enum bc_event ev);   /* NULL: events are ignored */
	/* Snapshots the storage keeps itself (RBD): the engine's fallback for a format without
	 * its own, as qemu's raw hands them to its protocol. NULL: the storage has none. */
	int (*snap_list)(struct bc_file *f, struct bc_snapshot **list, int *n, struct bc_err *err);
	int (*snap_create)(struct bc_file *f, const char *name, struct bc_err *err);
	int (*snap_apply)(struct bc_file *f, const char *name, struct bc_err *err);
	int (*snap_delete)(struct bc_file *f, const char *id, const char *name, struct bc_err *err);
	/* The storage's allocation unit (RBD's object size), which qemu's raw reports as its
	 * cluster_size; NULL: none. */
	uint32_t (*cluster_size)(struct bc_file *f);
	/* A descriptor that polls readable once queued requests have completed (an event loop
	 * then calls poll with min 0); NULL or -1: none, queued requests complete in poll. */
	int (*event_fd)(struct bc_file *f);
};

struct bc_file {
	const struct bc_file_ops *ops;
	char *path;
	int fd;                 /* -1 for non-fd backends */
	bool writable;
	bool direct;            /* O_DIRECT: buffers and offsets must be aligned to `align` */
	bool unsafe;            /* flush is a no-op */
	uint32_t align;         /* required I/O alignment, 1 when none */
	void *priv;             /* backend state */
};

enum { BC_FILE_RDWR = 1u << 0, BC_FILE_CREATE = 1u << 1, BC_FILE_DIRECT = 1u << 2,
       BC_FILE_EXCL = 1u << 3, BC_FILE_UNSAFE = 1u << 4 };

/* Opens a host file with the chosen backend (AUTO: io_uring when the kernel allows it). */
int bc_file_open(struct bc_file **out, const char *path, unsigned flags, enum bc_io_backend io,
		 struct bc_err *err);
/* An in-memory file (fuzzers, unit tests). data is copied; max_size bounds growth. */
int bc_file_open_mem(struct bc_file **out, const char *name, const void *data, size_t len,
		     size_t max_size);
/* QEMU's null-co: size bytes, writes dropped, reads leave buf alone (read_zeroes: zeros). */
int bc_file_open_null(struct bc_file **out, const char *name, uint64_t size, bool read_zeroes);
/* A crash-simulating memory file: after `budget` more writes (truncates count too; < 0 never)
 * the power goes and every call fails with -EIO. bc_crashsim_image then builds the disk as it
 * could be found after the power loss: the bytes of the last flush plus the first `keep` writes
 * issued since, the last of them torn after `tear` bytes (0: whole). *data is malloc'd. */
struct bc_crashsim;
int bc_file_open_crashsim(struct bc_file **out, const char *name, const void *data, size_t len,
			  size_t max_size, int budget, struct bc_crashsim **sim);
bool bc_crashsim_dead(const struct bc_crashsim *sim);
int bc_crashsim_pending(const struct bc_crashsim *sim);
int bc_crashsim_writes(const struct bc_crashsim *sim);     /* writes done so far */
int bc_crashsim_image(const struct bc_crashsim *sim, int keep, size_t tear, uint8_t **data,
		      size_t *len);
/* Journal mode: flushes no longer retire pending writes, so the log holds every write since
 * open and, the model being ordered, the disks a power loss can leave at any moment are
 * exactly the initial bytes plus a prefix of it (the last write possibly torn). write_at
 * returns log entry i (data NULL and len 0 for a truncate to new_len). */
void bc_crashsim_journal(struct bc_crashsim *sim);
int bc_crashsim_write_at(const struct bc_crashsim *sim, int i, uint64_t *off, size_t *len,
			 const uint8_t **data, size_t *new_len);

/* BC_ZERO_CHUNK bytes of zeros, 4096-aligned, read-only: for zero-filling writes. */
#define BC_ZERO_CHUNK (1u << 20)
const void *bc_zero_chunk(void);

/* The current contents of a memory file (for tests). */
const uint8_t *bc_file_mem_data(struct bc_file *f, size_t *len);
void bc_file_close(struct bc_file *f);

/* Thin wrappers: drivers call these, never the ops directly. */
static inline int bc_file_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{ return f->ops->pread(f, buf, len, off); }
static inline int bc_file_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{ return f->ops->pwrite(f, buf, len, off); }
static inline int64_t bc_file_length(struct bc_file *f) { return f->ops->length(f); }
/* A format announces the write it is about to do (one test when no filter is present). */
static inline void bc_file_event(struct bc_file *f, enum bc_event ev)
{
	if (f->ops->event)
		f->ops->event(f, ev);
}
int bc_file_flush(struct bc_file *f);
int bc_file_truncate(struct bc_file *f, uint64_t size);
int bc_file_punch(struct bc_file *f, uint64_t off, uint64_t len);
/* Zeroes a range: zero-range, else punch (when may_unmap), else writes zeros. */
int bc_file_zero(struct bc_file *f, uint64_t off, uint64_t len, bool may_unmap);
int bc_file_allocate(struct bc_file *f, uint64_t off, uint64_t len);
int64_t bc_file_allocated(struct bc_file *f);
int bc_file_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data);
int bc_file_submit(struct bc_file *f, struct bc_aio *req);
int bc_file_poll(struct bc_file *f, int min);

#endif
