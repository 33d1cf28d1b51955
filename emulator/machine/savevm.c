/* savevm.c - savevm/loadvm/delvm/info snapshots over the drives' qcow2 internal snapshots.
 *
 * Crash safety (a kill -9 at any point leaves every snapshot that existed intact, except the
 * one savevm replaces, and the disks as the guest wrote them):
 *  1. the VM state is written into the VM-state area of the active image (past the disk's
 *     end, never shared with a snapshot) and flushed before any snapshot table changes;
 *  2. only then is an old snapshot of the same name deleted and the new one created, each a
 *     crash-safe table switch of the qcow2 driver; a crash between the two loses only the
 *     snapshot being replaced (QEMU deletes it before writing the state, we after).
 * loadvm reads and checks the whole stream (through a read-only view of the snapshot) before
 * the disks are reverted and the machine is loaded. */
#include "emulator/host/err.h"
#include "emulator/machine/savevm.h"
#include "emulator/machine/virt.h"
#include "emulator/machine/vmstate.h"
#include "bc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DRIVES 32

struct drives {
	struct vm_virt_drive d[MAX_DRIVES];
	char names[VM_VIRT_VIRTIO_SLOTS][24];
	int n;
};


/* The drives snapshots are about: writable ones (QEMU skips read-only drives). */
static void writable_drives(const struct vm_virt *vm, struct drives *dr)
{
	dr->n = 0;
	if (vm->cfg.ndrives) {
		for (int i = 0; i < vm->cfg.ndrives && dr->n < MAX_DRIVES; i++) {
			const struct vm_virt_drive *d = &vm->cfg.drives[i];
			if (d->img && !d->readonly && bc_is_writable(d->img))
				dr->d[dr->n++] = *d;
		}
		return;
	}
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		const struct vm_virt_disk *k = &vm->cfg.disks[i];
		snprintf(dr->names[i], sizeof(dr->names[i]), "virtio%d", i);
		if (k->img && !k->readonly && bc_is_writable(k->img))
			dr->d[dr->n++] = (struct vm_virt_drive){ dr->names[i], k->img, false };
	}
}

/* Whether the image's format takes internal snapshots with VM state (qcow2). Probed with an
 * empty VM-state read: it changes nothing, and formats without snapshots answer -ENOTSUP
 * (listing snapshots succeeds, empty, for every format). */
static bool can_snapshot(struct bc_image *img)
{
	uint8_t none;
	return bc_vmstate_read(img, 0, &none, 0) != -ENOTSUP;
}

/* QEMU's bdrv_all_can_snapshot + bdrv_all_find_vmstate_bs: every writable drive must take
 * snapshots; the first one holds the VM state. */
static int check_drives(const struct vm_virt *vm, struct drives *dr, char *err, size_t errlen)
{
	writable_drives(vm, dr);
	for (int i = 0; i < dr->n; i++)
		if (!can_snapshot(dr->d[i].img))
			return vm_errf(err, errlen, -ENOTSUP, "Device '%s' is writable but does not support snapshots",
				    dr->d[i].name);
	if (dr->n == 0)
		return vm_errf(err, errlen, -ENOENT, "no block device can store vmstate for snapshot");
	return 0;
}

/* The first snapshot named `name` on img (*found gets it); 1 found, 0 not, -errno. */
static int find_by_name(struct bc_image *img, const char *name, struct bc_snapshot *found)
{
	struct bc_snapshot *list = NULL;
	int n = 0, rc = bc_snapshot_list(img, &list, &n, NULL);
	if (rc < 0)
		return rc;
	rc = 0;
	for (int i = 0; i < n && !rc; i++)
		if (!strcmp(list[i].name, name)) {
			if (found)
				*found = list[i];
			rc = 1;
		}
	free(list);
	return rc;
}

/* Stops the VM for a save or load (QEMU's vm_stop(RUN_STATE_SAVE_VM/RESTORE_VM)). */
static enum vm_runstate stop_for(struct vm_virt *vm, enum vm_runstate s)
{
	enum vm_runstate was = vm->state;
	vm_virt_set_state(vm, s);
	if (was == VM_RUN_RUNNING)
		vm_virt_emit(vm, "STOP", NULL);
	return was;
}

static void resume(struct vm_virt *vm, enum vm_runstate was)
{
	vm_virt_set_state(vm, was);
	if (was == VM_RUN_RUNNING)
		vm_virt_emit(vm, "RESUME", NULL);
}

static int flush_all(const struct drives *dr, char *err, size_t errlen)
{
	for (int i = 0; i < dr->n; i++) {
		int rc = bc_flush(dr->d[i].img);
		if (rc)
			return vm_errf(err, errlen, rc, "Failed to flush '%s': %s", dr->d[i].name, strerror(-rc));
	}
	return 0;
}

/* bdrv_all_delete_snapshot: the first snapshot of that name on each drive. */
static int delete_all(const struct drives *dr, const char *name, char *err, size_t errlen)
{
	for (int i = 0; i < dr->n; i++) {
		struct bc_snapshot sn;
		struct bc_err e = { 0 };
		int rc = find_by_name(dr->d[i].img, name, &sn);
		if (rc == 1)
			rc = bc_snapshot_delete(dr->d[i].img, sn.id, sn.name, &e);
		if (rc < 0)
			return vm_errf(err, errlen, rc, "Could not delete snapshot '%s' on '%s': %s", name, dr->d[i].name,
				    e.msg[0] ? e.msg : strerror(-rc));
	}
	return 0;
}

static int save_locked(struct vm_virt *vm, struct drives *dr, struct bc_snapshot *sn, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = flush_all(dr, err, errlen);
	if (rc || (rc = vm_state_save(vm, &buf, &len, err, errlen)))
		return rc;
	struct bc_image *vmimg = dr->d[0].img;
	rc = bc_vmstate_write(vmimg, 0, buf, len);
	free(buf);
	if (!rc)
		rc = bc_flush(vmimg); /* the state is on disk before any snapshot table changes */
	if (rc)
		return vm_errf(err, errlen, rc, "Error while writing VM state: %s", strerror(-rc));
	if ((rc = delete_all(dr, sn->name, err, errlen)))
		return rc;
	for (int i = 0; i < dr->n; i++) {
		struct bc_err e = { 0 };
		sn->vm_state_size = i == 0 ? len : 0;
		sn->disk_size = bc_length(dr->d[i].img);
		rc = bc_snapshot_create(dr->d[i].img, sn, &e);
		if (rc)
			return vm_errf(err, errlen, rc, "Error while creating snapshot on '%s'", dr->d[i].name);
	}
	return 0;
}

int vm_savevm_opts(struct vm_virt *vm, const char *name, bool overwrite, char *err, size_t errlen)
{
	struct drives dr;
	struct bc_snapshot sn = { .icount = UINT64_MAX };
	struct timespec now;
	int rc = check_drives(vm, &dr, err, errlen);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	if (name && *name) {
		if (!overwrite)
			for (int i = 0; i < dr.n; i++)
				if (find_by_name(dr.d[i].img, name, NULL) == 1)
					return vm_errf(err, errlen, -EEXIST,
						    "Snapshot '%s' already exists in one or more devices", name);
		snprintf(sn.name, sizeof(sn.name), "%s", name);
	} else {
		struct tm tm;
		localtime_r(&now.tv_sec, &tm);
		strftime(sn.name, sizeof(sn.name), "vm-%Y%m%d%H%M%S", &tm);
	}
	enum vm_runstate was = stop_for(vm, VM_RUN_SAVE_VM);
	sn.date_sec = (uint32_t)now.tv_sec;
	sn.date_nsec = (uint32_t)(now.tv_nsec / 1000 * 1000); /* qemu keeps microseconds */
	sn.vm_clock_nsec = vm_clock_mtime(&vm->clock) * 100;  /* mtime ticks at 10 MHz */
	rc = save_locked(vm, &dr, &sn, err, errlen);
	resume(vm, was);
	return rc;
}

int vm_savevm(struct vm_virt *vm, const char *name, char *err, size_t errlen)
{
	return vm_savevm_opts(vm, name, true, err, errlen);
}

static int image_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	return bc_vmstate_read(opaque, off, buf, len);
}

/* A read-only view of snapshot `sn` on img (a second open of the image at that snapshot), so
 * its stream can be checked before the disk is touched. NULL when none can be opened (a
 * -snapshot overlay has no name): the caller reads the stream after the revert instead. */
static struct bc_image *open_view(struct bc_image *img, const struct bc_snapshot *sn)
{
	char spec[160];
	struct bc_err e = { 0 };
	struct bc_image *ro = NULL;
	snprintf(spec, sizeof(spec), "snapshot.id=%s", sn->id);
	struct bc_open_opts o = { .format = bc_format_name(img), .flags = BC_OPEN_SHARE, .snapshot = spec };
	if (!bc_filename(img) || bc_open(&ro, bc_filename(img), &o, &e))
		return NULL;
	return ro;
}

static int revert_disks(const struct drives *dr, const char *name, char *err, size_t errlen)
{
	for (int i = 0; i < dr->n; i++) {
		struct bc_snapshot sn;
		struct bc_err e = { 0 };
		int rc = find_by_name(dr->d[i].img, name, &sn);
		rc = rc == 1 ? bc_snapshot_apply(dr->d[i].img, sn.id, &e) : rc < 0 ? rc : -ENOENT;
		if (rc < 0)
			return vm_errf(err, errlen, rc, "Could not load snapshot '%s' on '%s': %s", name, dr->d[i].name,
				    e.msg[0] ? e.msg : strerror(-rc));
	}
	return 0;
}

/* Checked through the view, disks reverted, loaded (the view's stream again: the CRC pass is
 * not repeated). Without a view the stream is read from the reverted image and checked then. */
static int load_locked(struct vm_virt *vm, const struct drives *dr, const struct bc_snapshot *sn, char *err,
		       size_t errlen)
{
	struct bc_image *vmimg = dr->d[0].img, *view = open_view(vmimg, sn);
	struct vm_state_src src = { image_read, view, sn->vm_state_size };
	int rc = view ? vm_state_check_src(vm, &src, err, errlen) : 0;
	if (!rc && !(rc = flush_all(dr, err, errlen)) && !(rc = revert_disks(dr, sn->name, err, errlen))) {
		if (!view)
			src.opaque = vmimg;
		rc = vm_state_load_src(vm, &src, view != NULL, err, errlen);
	}
	if (view)
		bc_close(view);
	return rc;
}

int vm_loadvm(struct vm_virt *vm, const char *name, char *err, size_t errlen)
{
	struct drives dr;
	struct bc_snapshot sn;
	int rc = check_drives(vm, &dr, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < dr.n; i++)
		if (find_by_name(dr.d[i].img, name, i ? NULL : &sn) != 1)
			return vm_errf(err, errlen, -ENOENT, "Snapshot '%s' does not exist in one or more devices", name);
	if (sn.vm_state_size == 0)
		return vm_errf(err, errlen, -EINVAL, "This is a disk-only snapshot. Revert to it  offline using qemu-img");
	enum vm_runstate was = stop_for(vm, VM_RUN_RESTORE_VM);
	rc = load_locked(vm, &dr, &sn, err, errlen);
	resume(vm, was);
	return rc;
}

int vm_delvm(struct vm_virt *vm, const char *name, char *err, size_t errlen)
{
	struct drives dr;
	int k = 0;
	writable_drives(vm, &dr);
	for (int i = 0; i < dr.n; i++) /* only drives that take snapshots */
		if (can_snapshot(dr.d[i].img))
			dr.d[k++] = dr.d[i];
	dr.n = k;
	return delete_all(&dr, name, err, errlen);
}

/* ---- info snapshots ---- */

/* One row of QEMU's snapshot table (bdrv_snapshot_dump); sn NULL: the heading. */
static void dump_row(FILE *f, const struct bc_snapshot *sn, const char *id)
{
	char size[32], date[32] = "", clock[64];
	if (!sn) {
		fprintf(f, "%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
		return;
	}
	time_t t = (time_t)sn->date_sec;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	uint64_t secs = sn->vm_clock_nsec / 1000000000u;
	snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600), (int)((secs / 60) % 60),
		 (int)(secs % 60), (int)((sn->vm_clock_nsec / 1000000) % 1000));
	char icount[32] = "";
	if (sn->icount != UINT64_MAX)
		snprintf(icount, sizeof(icount), "%lld", (long long)sn->icount);
	fprintf(f, "%-9s %-16s %8s%20s%13s%11s\n", id, sn->name, bc_size_to_str(sn->vm_state_size, size, sizeof(size)),
		date, clock, icount);
}

struct image_list {
	struct bc_snapshot *sn;
	int n;
	bool *global; /* listed with the snapshots present on all disks */
};

/* QEMU's hmp_info_snapshots: the VM-state drive's snapshots present on every drive (by
 * name), then per drive the snapshots that are not. */
static void info_text(FILE *f, const struct drives *dr, struct image_list *im)
{
	int total = 0;
	bool any = false;
	for (int i = 0; i < dr->n; i++)
		any |= im[i].n > 0;
	if (!any) {
		fprintf(f, "There is no snapshot available.\n");
		return;
	}
	bool *global = calloc((size_t)im[0].n + 1, 1);
	for (int s = 0; s < im[0].n && global; s++) {
		bool all = true;
		for (int i = 0; i < dr->n && all; i++) {
			bool has = false;
			for (int k = 0; k < im[i].n; k++)
				has |= !strcmp(im[i].sn[k].name, im[0].sn[s].name);
			all = has;
		}
		if (!all)
			continue;
		global[s] = true;
		total++;
		for (int i = 0; i < dr->n; i++)
			for (int k = 0; k < im[i].n; k++)
				if (!strcmp(im[i].sn[k].name, im[0].sn[s].name))
					im[i].global[k] = true;
	}
	fprintf(f, "List of snapshots present on all disks:\n");
	if (total) {
		dump_row(f, NULL, NULL);
		for (int s = 0; s < im[0].n; s++)
			if (global[s])
				dump_row(f, &im[0].sn[s], "--");
	} else {
		fprintf(f, "None\n");
	}
	free(global);
	for (int i = 0; i < dr->n; i++) {
		bool partial = false;
		for (int k = 0; k < im[i].n; k++)
			partial |= !im[i].global[k];
		if (!partial)
			continue;
		fprintf(f, "\nList of partial (non-loadable) snapshots on '%s':\n", dr->d[i].name);
		dump_row(f, NULL, NULL);
		for (int k = 0; k < im[i].n; k++)
			if (!im[i].global[k])
				dump_row(f, &im[i].sn[k], im[i].sn[k].id);
	}
}

int vm_snapshots_info(struct vm_virt *vm, char **text, char *err, size_t errlen)
{
	struct drives all, dr;
	struct image_list im[MAX_DRIVES] = { 0 };
	char *out = NULL;
	size_t outlen = 0;
	int rc = 0;
	*text = NULL;
	writable_drives(vm, &all);
	dr.n = 0;
	for (int i = 0; i < all.n; i++)
		if (can_snapshot(all.d[i].img))
			dr.d[dr.n++] = all.d[i];
	if (dr.n == 0)
		return vm_errf(err, errlen, -ENOENT, "no block device can store vmstate for snapshot");
	for (int i = 0; i < dr.n && !rc; i++) {
		rc = bc_snapshot_list(dr.d[i].img, &im[i].sn, &im[i].n, NULL);
		im[i].global = calloc((size_t)im[i].n + 1, 1);
		if (!rc && !im[i].global)
			rc = -ENOMEM;
	}
	FILE *f = rc ? NULL : open_memstream(&out, &outlen);
	if (f) {
		info_text(f, &dr, im);
		fclose(f);
	} else if (!rc) {
		rc = -ENOMEM;
	}
	for (int i = 0; i < dr.n; i++) {
		free(im[i].sn);
		free(im[i].global);
	}
	if (rc) {
		free(out);
		return vm_errf(err, errlen, rc, "bdrv_snapshot_list: error %d", rc);
	}
	*text = out;
	return 0;
}
