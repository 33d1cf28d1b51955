/* The data path: bounds checks, read-modify-write for unaligned requests, zero and discard
 * fallbacks, chain-walking block status, and queued requests. */
#include "bc_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int check_range(const struct bc_image *img, uint64_t off, uint64_t len)
{
	if (off > img->size || len > img->size - off)
		return -EIO;
	return 0;
}

static bool aligned(const struct bc_image *img, uint64_t off, uint64_t len, const void *buf)
{
	uint32_t a = img->align;

	return a <= 1 || ((off | len | (uintptr_t)buf) & (a - 1)) == 0;
}

/* Aligned bounds around [off, off+len), clipped to the image size (which drivers keep aligned
 * or accept as the last, partial block). */
static void align_range(const struct bc_image *img, uint64_t off, uint64_t len, uint64_t *aoff,
			uint64_t *alen)
{
	uint64_t a = img->align, end = off + len;

	*aoff = off - off % a;
	end = end % a ? end + (a - end % a) : end;
	if (end > img->size && img->size >= *aoff)
		end = img->size;
	*alen = end - *aoff;
}

int bc_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	int ret = check_range(img, off, len);

	if (ret < 0 || len == 0)
		return ret;
	if (aligned(img, off, len, buf))
		return img->fmt->read(img, off, buf, len);
	uint64_t aoff, alen;
	align_range(img, off, len, &aoff, &alen);
	uint8_t *bounce = bc_alloc_aligned((size_t)alen);
	if (!bounce)
		return -ENOMEM;
	ret = img->fmt->read(img, aoff, bounce, (size_t)alen);
	if (ret == 0)
		memcpy(buf, bounce + (off - aoff), len);
	free(bounce);
	return ret;
}

/* A probed-raw image must not be turned into something that probes as another format. */
static int check_raw_block0(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	uint8_t sector[512];
	size_t n = img->size < sizeof(sector) ? (size_t)img->size : sizeof(sector);

	if (!img->probed_raw || off >= n)
		return 0;
	int ret = img->fmt->read(img, 0, sector, n);
	if (ret < 0)
		return ret;
	size_t cnt = len < n - off ? len : n - (size_t)off;
	memcpy(sector + off, buf, cnt);
	return bc_raw_probe_would_change(sector, n) ? -EPERM : 0;
}

/* cache=writethrough: a write completes only once it is durable, so a request that succeeded
 * survives a crash of the process or the host right after it (qemu's write-through mode). */
static int writethrough(struct bc_image *img, int ret)
{
	if (ret == 0 && (img->flags & BC_OPEN_WRITETHROUGH))
		ret = bc_flush(img);
	return ret;
}

static int write_layer(struct bc_image *img, uint64_t off, const void *buf, size_t len);

int bc_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	return writethrough(img, write_layer(img, off, buf, len));
}

static int write_layer(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	int ret = check_range(img, off, len);

	if (ret < 0 || len == 0)
		return ret;
	if (!(img->flags & BC_OPEN_RDWR) || !img->fmt->write)
		return -EACCES;
	ret = check_raw_block0(img, off, buf, len);
	if (ret < 0)
		return ret;
	if (aligned(img, off, len, buf))
		return img->fmt->write(img, off, buf, len);
	uint64_t aoff, alen;
	align_range(img, off, len, &aoff, &alen);
	uint8_t *bounce = bc_alloc_aligned((size_t)alen);
	if (!bounce)
		return -ENOMEM;
	/* Only the partial head and tail blocks need their old contents. */
	uint64_t a = img->align;
	ret = 0;
	if (off != aoff || alen <= a)
		ret = img->fmt->read(img, aoff, bounce, (size_t)(alen < a ? alen : a));
	if (ret == 0 && alen > a && (off + len) % a)
		ret = img->fmt->read(img, aoff + alen - a, bounce + alen - a, (size_t)a);
	if (ret == 0) {
		memcpy(bounce + (off - aoff), buf, len);
		ret = img->fmt->write(img, aoff, bounce, (size_t)alen);
	}
	free(bounce);
	return ret;
}

int bc_write_compressed(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	int ret = check_range(img, off, len);

	/* len 0 reaches the driver: the end of a compressed stream (qemu's convention) */
	if (ret < 0)
		return ret;
	if (!(img->flags & BC_OPEN_RDWR))
		return -EACCES;
	if (!img->fmt->write_compressed)
		return -ENOTSUP;
	return writethrough(img, img->fmt->write_compressed(img, off, buf, len));
}

int bc_flush(struct bc_image *img)
{
	if (!(img->flags & BC_OPEN_RDWR))
		return 0;
	if (img->fmt->flush)
		return img->fmt->flush(img);
	return bc_file_flush(img->file);
}

int bc_discard(struct bc_image *img, uint64_t off, uint64_t len)
{
	int ret = check_range(img, off, len);

	if (ret < 0 || len == 0)
		return ret;
	if (!(img->flags & BC_OPEN_RDWR))
		return -EACCES;
	if (!img->fmt->discard)
		return 0;
	/* Discard is advisory: only whole aligned blocks are handed down. */
	uint64_t a = img->align, start = off, end = off + len;
	if (a > 1) {
		start = (off + a - 1) / a * a;
		end = end == img->size ? end : end / a * a;
		if (end <= start)
			return 0;
	}
	img->discard_request = true;
	ret = img->fmt->discard(img, start, end - start);
	img->discard_request = false;
	return writethrough(img, ret);
}

static int write_zero_buffer(struct bc_image *img, uint64_t off, uint64_t len)
{
	int ret = 0;

	for (size_t n; len && ret == 0; off += n, len -= n) {
		n = len < BC_ZERO_CHUNK ? (size_t)len : BC_ZERO_CHUNK;
		ret = write_layer(img, off, bc_zero_chunk(), n);
	}
	return ret;
}

static int write_zeroes_layer(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags);

int bc_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	return writethrough(img, write_zeroes_layer(img, off, len, flags));
}

static int write_zeroes_layer(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	int ret = check_range(img, off, len);

	if (ret < 0 || len == 0)
		return ret;
	if (!(img->flags & BC_OPEN_RDWR))
		return -EACCES;
	uint64_t a = img->align, start = off, end = off + len;
	if (a > 1) {
		start = (off + a - 1) / a * a;
		end = end == img->size ? end : end / a * a;
		if (end <= start)
			return write_zero_buffer(img, off, len);
	}
	ret = img->fmt->write_zeroes ? img->fmt->write_zeroes(img, start, end - start, flags)
				     : -ENOTSUP;
	if (ret == -ENOTSUP && !(flags & BC_ZERO_NO_FALLBACK))
		ret = write_zero_buffer(img, start, end - start);
	if (ret == 0 && start > off)
		ret = write_zero_buffer(img, off, start - off);
	if (ret == 0 && off + len > end)
		ret = write_zero_buffer(img, end, off + len - end);
	return ret;
}

int bc_block_status_layer(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext)
{
	int ret = check_range(img, off, len);

	if (ret < 0)
		return ret;
	memset(ext, 0, sizeof(*ext));
	ext->off = off;
	ext->len = len;
	ext->flags = BC_EXT_ALLOCATED | BC_EXT_DATA;
	if (len == 0 || !img->fmt->block_status)
		return 0;
	ret = img->fmt->block_status(img, off, len, ext);
	if (ret < 0)
		return ret;
	ext->off = off;
	if (ext->len == 0 || ext->len > len)
		return -EIO;    /* a driver bug must not become an endless loop in a caller */
	return 0;
}

int bc_block_status(struct bc_image *img, uint64_t off, uint64_t len, struct bc_extent *ext)
{
	struct bc_image *layer = img;
	int depth = 0;

	for (;;) {
		int ret = bc_block_status_layer(layer, off, len, ext);
		if (ret < 0)
			return ret;
		ext->depth = depth;
		if ((ext->flags & BC_EXT_ALLOCATED) || len == 0)
			return 0;
		len = ext->len;
		struct bc_image *below = layer->backing;
		if (!below)
			break;
		if (off >= below->size) {
			/* past the end of a shorter backing image: reads as zeros */
			ext->flags = BC_EXT_ZERO | (ext->flags & BC_EXT_OFFSET);
			return 0;
		}
		if (len > below->size - off)
			len = below->size - off;
		layer = below;
		depth++;
	}
	/*
	 * Nothing below: zeros. A host offset the last layer reported stays (qemu-img map prints
	 * it for unallocated subclusters of an allocated qcow2 cluster).
	 */
	ext->flags = BC_EXT_ZERO | (ext->flags & BC_EXT_OFFSET);
	return 0;
}

int bc_backing_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	struct bc_image *b = img->backing;
	size_t n = 0;

	if (b && off < b->size) {
		n = b->size - off < len ? (size_t)(b->size - off) : len;
		int ret = bc_read(b, off, buf, n);
		if (ret < 0)
			return ret;
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

/* A grow over a longer backing file: the new area must read as zeros, not as the backing
 * data the old end hid (qemu zeroes it too). Needs the backing chain open. */
static int truncate_hide_backing(struct bc_image *img, uint64_t old, uint64_t size,
				 enum bc_prealloc prealloc, struct bc_err *err)
{
	uint64_t blen = img->backing ? bc_length(img->backing) : 0;
	int ret;

	if (size <= old || blen <= old)
		return 0;
	if (prealloc == BC_PREALLOC_FALLOC || prealloc == BC_PREALLOC_FULL)
		return 0;       /* the preallocated clusters already read as zeros */
	ret = write_zeroes_layer(img, old, (blen < size ? blen : size) - old, 0);
	if (ret == 0)
		ret = bc_flush(img);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to zero the new area: %s", strerror(-ret));
	return 0;
}

int bc_truncate(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc, bool shrink,
		struct bc_err *err)
{
	if (!(img->flags & BC_OPEN_RDWR))
		return bc_err_set(err, -EACCES, "Image '%s' is read-only", img->filename);
	if (!img->fmt->truncate)
		return bc_err_set(err, -ENOTSUP, "Image format driver does not support resize");
	if (size < img->size && !shrink)
		return bc_err_set(err, -EPERM, "Use the --shrink option to perform a shrink operation.");
	uint64_t old = img->size;
	int ret = img->fmt->truncate(img, size, prealloc, shrink, err);
	if (ret == 0)
		ret = truncate_hide_backing(img, old, size, prealloc, err);
	return ret;
}

/* Queued requests: drivers that map straight onto the host file queue there; the rest run now
 * and report their completion from bc_aio_wait, in submission order. */
int bc_aio_submit(struct bc_image *img, struct bc_aio *req)
{
	if (req->op != BC_AIO_FLUSH) {
		int ret = check_range(img, req->off, req->len);
		if (ret == 0 && req->op == BC_AIO_WRITE && !(img->flags & BC_OPEN_RDWR))
			ret = -EACCES;
		if (ret < 0) {
			req->ret = ret;
			goto done_now;
		}
	}
	if (img->fmt->aio_submit && !img->no_file_aio && aligned(img, req->off, req->len, req->buf) &&
	    !(req->op == BC_AIO_WRITE && img->probed_raw && req->off < 512) &&
	    !(req->op == BC_AIO_WRITE && (img->flags & BC_OPEN_WRITETHROUGH))) {
		img->aio_pending_file = true;
		return img->fmt->aio_submit(img, req);
	}
	switch (req->op) {
	case BC_AIO_READ:
		req->ret = bc_read(img, req->off, req->buf, req->len);
		break;
	case BC_AIO_WRITE:
		req->ret = bc_write(img, req->off, req->buf, req->len);
		break;
	case BC_AIO_FLUSH:
		req->ret = bc_flush(img);
		break;
	}
done_now:
	req->next = NULL;
	struct bc_aio **tail = &img->aio_done;
	while (*tail)
		tail = &(*tail)->next;
	*tail = req;
	return 0;
}

int bc_aio_fd(struct bc_image *img)
{
	if (!img->fmt->aio_submit || img->no_file_aio || !img->file || !img->file->ops->event_fd)
		return -1;
	return img->file->ops->event_fd(img->file);
}

int bc_aio_wait(struct bc_image *img, int min)
{
	int n = 0;

	while (img->aio_done) {
		struct bc_aio *req = img->aio_done;
		img->aio_done = req->next;
		n++;
		if (req->cb)
			req->cb(req);
	}
	if (img->aio_pending_file) {
		int ret = bc_file_poll(img->file, min < 0 ? -1 : (min > n ? min - n : 0));
		if (ret < 0)
			return ret;
		n += ret;
	}
	return n;
}
