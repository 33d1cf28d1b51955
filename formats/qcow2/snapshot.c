/*
 * Internal snapshots: for now the table is only read (info lists snapshots, check counts
 * their clusters). Creating, applying and deleting snapshots lands with the snapshot issue.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_read_snapshots(struct qcow2 *s, struct qcow2_snap **out, int *n, struct bc_err *err)
{
	uint64_t off = s->h.snapshots_offset, cs = s->cluster_size;
	int64_t flen = bc_file_length(s->file);
	struct qcow2_snap *sn;
	uint8_t hdr[40], *var = NULL;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!s->h.nb_snapshots)
		return 0;
	sn = calloc(s->h.nb_snapshots, sizeof(*sn));
	if (!sn)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	var = malloc(65536 + 2 * 65536);
	if (!var) {
		free(sn);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	for (uint32_t i = 0; i < s->h.nb_snapshots; i++) {
		struct qcow2_snap *p = &sn[i];
		uint32_t extra, idl, nl;

		if (flen < 0 || off + 40 > (uint64_t)flen || off - s->h.snapshots_offset > (64u << 20)) {
			ret = bc_err_set(err, -EINVAL, "Snapshot table offset invalid");
			goto fail;
		}
		ret = bc_file_pread(s->file, hdr, 40, off);
		if (ret < 0) {
			bc_err_set(err, ret, "Failed to read snapshot table");
			goto fail;
		}
		p->l1_offset = bc_rd_be64(hdr);
		p->l1_size = bc_rd_be32(hdr + 8);
		idl = bc_rd_be16(hdr + 12);
		nl = bc_rd_be16(hdr + 14);
		p->info.date_sec = bc_rd_be32(hdr + 16);
		p->info.date_nsec = bc_rd_be32(hdr + 20);
		p->info.vm_clock_nsec = bc_rd_be64(hdr + 24);
		p->info.vm_state_size = bc_rd_be32(hdr + 32);
		extra = bc_rd_be32(hdr + 36);
		if (extra > 1024) {
			ret = bc_err_set(err, -EFBIG, "Too much extra metadata in snapshot table "
						      "entry %u", i);
			goto fail;
		}
		ret = bc_file_pread(s->file, var, extra + idl + nl, off + 40);
		if (ret < 0) {
			bc_err_set(err, ret, "Failed to read snapshot table");
			goto fail;
		}
		p->info.icount = UINT64_MAX;
		p->info.disk_size = s->h.size;
		if (extra >= 8)
			p->info.vm_state_size = bc_rd_be64(var);
		if (extra >= 16)
			p->info.disk_size = bc_rd_be64(var + 8);
		if (extra >= 24)
			p->info.icount = bc_rd_be64(var + 16);
		memcpy(p->info.id, var + extra, idl < sizeof(p->info.id) - 1 ? idl
								     : sizeof(p->info.id) - 1);
		memcpy(p->info.name, var + extra + idl,
		       nl < sizeof(p->info.name) - 1 ? nl : sizeof(p->info.name) - 1);
		if (p->l1_size > QCOW2_MAX_L1_BYTES / 8 || p->l1_offset % cs ||
		    p->l1_offset + (uint64_t)p->l1_size * 8 > (uint64_t)flen) {
			ret = bc_err_set(err, -EINVAL, "Snapshot L1 table offset invalid");
			goto fail;
		}
		off += qcow2_align_up(40 + (uint64_t)extra + idl + nl, 8);
	}
	s->snapshots_end = off;
	free(var);
	*out = sn;
	*n = (int)s->h.nb_snapshots;
	return 0;
fail:
	free(var);
	free(sn);
	return ret;
}

int qcow2_snapshot_list(struct bc_image *img, struct bc_snapshot **list, int *n,
			struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct qcow2_snap *sn;
	int ret = qcow2_read_snapshots(s, &sn, n, err);

	*list = NULL;
	if (ret < 0 || !*n)
		return ret;
	*list = calloc((size_t)*n, sizeof(**list));
	if (!*list) {
		free(sn);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	for (int i = 0; i < *n; i++)
		(*list)[i] = sn[i].info;
	free(sn);
	return 0;
}
