/* POSIX host backend: pread/pwrite, fdatasync, fallocate, SEEK_DATA/SEEK_HOLE. */
#include "file-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool posix_misaligned(const struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	return f->direct && ((off | len | (uintptr_t)buf) & (f->align - 1));
}

/* O_DIRECT needs aligned buffers, offsets and lengths; drivers' small metadata I/O goes
 * through an aligned bounce buffer here, so no driver has to care. */
static int posix_direct_bounce(struct bc_file *f, void *rbuf, const void *wbuf, size_t len,
			       uint64_t off)
{
	uint64_t a = f->align, start = off - off % a, end = off + len;
	end = (end + a - 1) / a * a;
	uint8_t *bounce = bc_alloc_aligned((size_t)(end - start));
	int ret;

	if (!bounce)
		return -ENOMEM;
	ret = bc_posix_pread(f, bounce, (size_t)(end - start), start);
	if (ret == 0 && rbuf)
		memcpy(rbuf, bounce + (off - start), len);
	if (ret == 0 && wbuf) {
		memcpy(bounce + (off - start), wbuf, len);
		int64_t flen = bc_posix_length(f);
		ret = bc_posix_pwrite(f, bounce, (size_t)(end - start), start);
		/* the aligned write must not grow the file past what the caller wrote */
		if (ret == 0 && flen >= 0 && end > (uint64_t)flen && off + len < end)
			ret = bc_posix_truncate(f, off + len > (uint64_t)flen ? off + len : (uint64_t)flen);
	}
	free(bounce);
	return ret;
}

int bc_posix_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	if (posix_misaligned(f, buf, len, off))
		return posix_direct_bounce(f, buf, NULL, len, off);

	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* past EOF: the file is sparse there */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int bc_posix_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (posix_misaligned(f, buf, len, off))
		return posix_direct_bounce(f, NULL, buf, len, off);

	while (len) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int bc_posix_flush(struct bc_file *f)
{
	return fdatasync(f->fd) < 0 ? -errno : 0;
}

static int posix_fallocate_mode(struct bc_file *f, int mode, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (fallocate(f->fd, mode, (off_t)off, (off_t)len) < 0)
		return errno == EOPNOTSUPP || errno == ENOSYS ? -ENOTSUP : -errno;
	return 0;
}

int bc_posix_punch(struct bc_file *f, uint64_t off, uint64_t len)
{
	return posix_fallocate_mode(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

int bc_posix_zero(struct bc_file *f, uint64_t off, uint64_t len)
{
	return posix_fallocate_mode(f, FALLOC_FL_ZERO_RANGE, off, len);
}

int bc_posix_allocate(struct bc_file *f, uint64_t off, uint64_t len)
{
	return posix_fallocate_mode(f, 0, off, len);
}

int bc_posix_truncate(struct bc_file *f, uint64_t size)
{
	return ftruncate(f->fd, (off_t)size) < 0 ? -errno : 0;
}

int64_t bc_posix_length(struct bc_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(f->fd, 0, SEEK_END);
		return end < 0 ? -errno : end;
	}
	return st.st_size;
}

int64_t bc_posix_allocated(struct bc_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	return (int64_t)st.st_blocks * 512;
}

int bc_posix_status(struct bc_file *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
	off_t d = lseek(f->fd, (off_t)off, SEEK_DATA);

	if (d < 0) {
		if (errno == ENXIO) {        /* no data at or after off: hole up to EOF and beyond */
			*data = false;
			*pnum = len;
			return 0;
		}
		*data = true;                /* no SEEK_DATA support: everything is data */
		*pnum = len;
		return 0;
	}
	if ((uint64_t)d > off) {
		*data = false;
		*pnum = (uint64_t)d - off < len ? (uint64_t)d - off : len;
		return 0;
	}
	off_t h = lseek(f->fd, (off_t)off, SEEK_HOLE);
	*data = true;
	if (h < 0 || (uint64_t)h <= off)
		*pnum = len;
	else
		*pnum = (uint64_t)h - off < len ? (uint64_t)h - off : len;
	return 0;
}

void bc_posix_close(struct bc_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
}

const struct bc_file_ops bc_file_posix_ops = {
	.name = "posix",
	.pread = bc_posix_pread,
	.pwrite = bc_posix_pwrite,
	.flush = bc_posix_flush,
	.punch = bc_posix_punch,
	.zero = bc_posix_zero,
	.allocate = bc_posix_allocate,
	.truncate = bc_posix_truncate,
	.length = bc_posix_length,
	.allocated = bc_posix_allocated,
	.status = bc_posix_status,
	.submit = bc_file_aio_submit_sync,   /* I/O done synchronously */
	.poll = bc_file_aio_poll_done,
	.close = bc_posix_close,
};
