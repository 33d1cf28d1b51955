/*
 * The lowest layer of the qcow2 driver's writing side: the header written back (whole, or the
 * incompatible-features word), the dirty bit of lazy refcounts and the sticky corrupt mark.
 * Everything above may call these; they call nothing of the driver but header.c.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int qcow2_write_header(struct qcow2 *s)
{
	uint8_t *buf = calloc(1, s->cluster_size);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = qcow2_header_serialize(&s->h, buf, s->cluster_size);
	if (ret >= 0) {
		if (s->h.backing_file)
			s->h.backing_file_offset = bc_rd_be64(buf + 8);
		ret = bc_file_pwrite(s->file, buf, (size_t)ret < s->cluster_size ? s->cluster_size
									      : (size_t)ret, 0);
	} else {
		ret = -EINVAL;
	}
	free(buf);
	return ret;
}

/* Writes just the incompatible-features word (v3). */
int qcow2_write_incompat(struct qcow2 *s)
{
	uint8_t be[8];

	bc_wr_be64(be, s->h.incompatible_features);
	return bc_file_pwrite(s->file, be, 8, 72);
}

int qcow2_set_dirty(struct qcow2 *s)
{
	int ret;

	if (s->dirty_set || s->h.version < 3)
		return 0;
	s->h.incompatible_features |= QCOW2_INCOMPAT_DIRTY;
	ret = qcow2_write_incompat(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0)
		s->dirty_set = true;
	return ret;
}

int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->corrupt)
		return -EIO;
	s->corrupt = true;
	/* the library never prints: the front end's warning handler does, or, during a check,
	 * the check's messages carry it in order with the rest */
	if (s->writable) {
		if (s->checking)
			bc_check_msg(s->checking, "qcow2: Marking image as corrupt: %s; further "
				     "corruption events will be suppressed", msg);
		else
			bc_warn("qcow2: Marking image as corrupt: %s; further corruption events "
				"will be suppressed", msg);
		s->h.incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
		qcow2_write_header(s);
		bc_file_flush(s->file);
	} else if (s->checking) {
		bc_check_msg(s->checking, "qcow2: Image is corrupt: %s; further non-fatal corruption "
			     "events will be suppressed", msg);
	} else {
		bc_warn("qcow2: Image is corrupt: %s; further non-fatal corruption events will be "
			"suppressed", msg);
	}
	return -EIO;
}
