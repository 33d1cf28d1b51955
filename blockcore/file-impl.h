/* Private to the host layer: the backends' shared pieces. */
#ifndef STRATA_FILE_IMPL_H
#define STRATA_FILE_IMPL_H

#include "bc_file.h"

extern const struct bc_file_ops bc_file_posix_ops;
extern const struct bc_file_ops bc_file_mem_ops;

/* The POSIX operations, reused by the io_uring backend for its synchronous paths. */
int bc_posix_pread(struct bc_file *f, void *buf, size_t len, uint64_t off);
int bc_posix_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off);
int bc_posix_flush(struct bc_file *f);
int bc_posix_punch(struct bc_file *f, uint64_t off, uint64_t len);
int bc_posix_zero(struct bc_file *f, uint64_t off, uint64_t len);
int bc_posix_allocate(struct bc_file *f, uint64_t off, uint64_t len);
int bc_posix_truncate(struct bc_file *f, uint64_t size);
int64_t bc_posix_length(struct bc_file *f);
int64_t bc_posix_allocated(struct bc_file *f);
int bc_posix_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data);
void bc_posix_close(struct bc_file *f);

/* Sets up an io_uring for f (an open fd); -errno when the kernel refuses. */
int bc_uring_attach(struct bc_file *f);

/* Synchronously completed requests wait on a per-file list until poll reports them. */
void bc_file_aio_complete(struct bc_file *f, struct bc_aio *req);
/* A submit for back ends without queued I/O: runs req through the file's pread/pwrite or
 * bc_file_flush at once and queues its completion. */
int bc_file_aio_submit_sync(struct bc_file *f, struct bc_aio *req);
int bc_file_aio_poll_done(struct bc_file *f, int min);

/* Every backend's private state starts with this. */
struct bc_file_common {
	struct bc_aio *done_head, *done_tail;
};

#endif
