/*
 * lock.h — image locking compatible with QEMU's file-posix "locking" option, so Strata and
 * QEMU processes see each other's locks.
 *
 * Each open image file holds shared (F_RDLCK) open-file-description locks of one byte:
 *  - at BC_LOCK_PERM_BASE + i for each permission bit i it uses, and
 *  - at BC_LOCK_SHARED_BASE + i for each permission bit i it does not let others use.
 * Taking a permission fails when someone else holds its "not shared" byte ("Failed to get
 * "write" lock"); refusing to share one fails when someone else holds its permission byte
 * ("Failed to get shared "write" lock"). OFD locks belong to the open file description: they
 * go away when the file is closed (or the process dies), never by a stale lock file.
 */
#ifndef STRATA_LOCK_H
#define STRATA_LOCK_H

#include "bc_file.h"

/* QEMU's permission bits (BLK_PERM_*), in their byte order. */
enum {
	BC_PERM_CONSISTENT_READ = 1u << 0,
	BC_PERM_WRITE           = 1u << 1,
	BC_PERM_WRITE_UNCHANGED = 1u << 2,
	BC_PERM_RESIZE          = 1u << 3,
	BC_PERM_ALL             = 0xfu,
};
#define BC_LOCK_PERM_BASE   100
#define BC_LOCK_SHARED_BASE 200

enum bc_locking { BC_LOCKING_AUTO = 0, BC_LOCKING_ON, BC_LOCKING_OFF };

/* "on", "off" or "auto" (file.locking=); -EINVAL with qemu's message otherwise. */
int bc_locking_parse(const char *text, enum bc_locking *out, struct bc_err *err);

/* Takes perm and refuses others what shared lacks, on f's descriptor. On conflict returns
 * -EAGAIN with qemu's two lines ("Failed to get ... lock\nIs another process using the image
 * [name]?"); the locks already taken stay until f is closed. Files without a descriptor and
 * mode OFF take nothing; AUTO also gives up silently when the host has no OFD locks. */
int bc_file_lock(struct bc_file *f, const char *name, unsigned perm, unsigned shared,
		 enum bc_locking mode, struct bc_err *err);

#endif
