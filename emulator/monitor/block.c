/* block.c - the monitor's view of the -drive list: names, query-block and commit. */
#include "bc.h"
#include "emulator/chardev/chardev.h"
#include "emulator/machine/drive.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/qmp_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A drive's id, or QEMU's default name for an unnamed if=virtio drive ("virtio0", ...). */
const char *vm_mon_drive_name(int index, char *buf, size_t len)
{
	const struct vm_drive *d = &vm_mon_ctx.drives[index];
	if (d->id)
		return d->id;
	int n = 0;
	for (int i = 0; i < index; i++)
		n += !vm_mon_ctx.drives[i].id && !vm_mon_ctx.drives[i].if_none;
	snprintf(buf, len, "virtio%d", n);
	return buf;
}

/* By drive name or by the node name info block shows ("#block100"). */
struct vm_drive *vm_mon_drive(const char *id, int *index)
{
	for (int i = 0; i < vm_mon_ctx.ndrives; i++) {
		char name[64], node[32];
		snprintf(node, sizeof(node), "#block%d", 100 + i);
		if (!vm_mon_ctx.drives[i].img)
			continue;
		if (!strcmp(vm_mon_drive_name(i, name, sizeof(name)), id) || !strcmp(node, id)) {
			if (index)
				*index = i;
			return &vm_mon_ctx.drives[i];
		}
	}
	return NULL;
}

static void put_image(struct vm_jw *w, struct bc_image *img)
{
	struct bc_info info;
	struct bc_err err;
	memset(&info, 0, sizeof(info));
	bool have = bc_get_info(img, &info, &err) == 0;
	vm_jw_obj(w, "image");
	vm_jw_uint(w, "virtual-size", bc_length(img));
	vm_jw_str(w, "filename", bc_filename(img));
	if (have && info.has_cluster_size)
		vm_jw_uint(w, "cluster-size", info.cluster_size);
	vm_jw_str(w, "format", bc_format_name(img));
	if (have && info.actual_size >= 0)
		vm_jw_int(w, "actual-size", info.actual_size);
	vm_jw_bool(w, "dirty-flag", have && info.dirty);
	if (bc_backing(img)) {
		vm_jw_str(w, "backing-filename", bc_filename(bc_backing(img)));
		put_image(w, bc_backing(img)); /* QEMU nests it as "backing-image" */
	}
	vm_jw_obj_end(w);
	if (have)
		bc_info_free(&info);
}

int vm_qmp_query_block(struct qmp_call *c)
{
	struct vm_jw *w = c->w;
	vm_jw_arr(w, "return");
	for (int i = 0; i < vm_mon_ctx.ndrives; i++) {
		struct vm_drive *d = &vm_mon_ctx.drives[i];
		char name[64], node[32];
		if (!d->img)
			continue;
		snprintf(node, sizeof(node), "#block%d", 100 + i);
		vm_jw_obj(w, NULL);
		vm_jw_str(w, "io-status", "ok");
		vm_jw_str(w, "device", vm_mon_drive_name(i, name, sizeof(name)));
		vm_jw_bool(w, "locked", false);
		vm_jw_bool(w, "removable", false);
		vm_jw_obj(w, "inserted");
		vm_jw_int(w, "iops_rd", 0);
		vm_jw_str(w, "detect_zeroes", "off");
		put_image(w, d->img);
		vm_jw_int(w, "iops_wr", 0);
		vm_jw_bool(w, "ro", d->readonly);
		vm_jw_str(w, "node-name", node);
		vm_jw_int(w, "backing_file_depth", bc_backing(d->img) ? 1 : 0);
		vm_jw_str(w, "drv", bc_format_name(d->img));
		vm_jw_int(w, "iops", 0);
		vm_jw_int(w, "bps_wr", 0);
		vm_jw_int(w, "write_threshold", 0);
		vm_jw_bool(w, "encrypted", false);
		vm_jw_int(w, "bps", 0);
		vm_jw_int(w, "bps_rd", 0);
		vm_jw_obj(w, "cache");
		vm_jw_bool(w, "no-flush", d->unsafe);
		vm_jw_bool(w, "direct", d->direct);
		vm_jw_bool(w, "writeback", !d->writethrough);
		vm_jw_obj_end(w);
		vm_jw_str(w, "file", bc_filename(d->img));
		vm_jw_obj_end(w);
		if (d->used)
			vm_jw_str(w, "qdev", "/machine/peripheral-anon/device[0]");
		vm_jw_str(w, "type", "unknown");
		vm_jw_obj_end(w);
	}
	vm_jw_arr_end(w);
	return 0;
}

/* A -snapshot drive's overlay goes into its image, an overlay drive's data into its backing
 * file (drive.c); other drives report ENOTSUP, as QEMU does for a drive without a backing file. */
static int commit_drive(struct vm_drive *d)
{
	char err[512];
	return vm_drive_commit(d, err, sizeof(err));
}

void vm_monitor_commit_all(void)
{
	for (int i = 0; i < vm_mon_ctx.ndrives; i++)
		if (vm_mon_ctx.drives[i].img && !vm_mon_ctx.drives[i].readonly &&
		    bc_backing(vm_mon_ctx.drives[i].img))
			commit_drive(&vm_mon_ctx.drives[i]);
}

void vm_hmp_commit(const char *dev, struct vm_mon_text *out)
{
	if (!strcmp(dev, "all")) {
		for (int i = 0; i < vm_mon_ctx.ndrives; i++) {
			struct vm_drive *d = &vm_mon_ctx.drives[i];
			char name[64];
			int rc;
			if (d->img && !d->readonly && bc_backing(d->img) && (rc = commit_drive(d)))
				vm_mon_printf(out, "'commit' error for '%s': %s\n", vm_mon_drive_name(i, name, sizeof(name)),
					      strerror(-rc));
		}
		return;
	}
	struct vm_drive *d = vm_mon_drive(dev, NULL);
	if (!d) {
		vm_mon_printf(out, "Device '%s' not found\n", dev);
		return;
	}
	int rc = commit_drive(d);
	if (rc)
		vm_mon_printf(out, "'commit' error for '%s': %s\n", dev, strerror(-rc));
}
