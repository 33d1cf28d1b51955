/* Image locking: QEMU-compatible OFD byte locks on the image file (see lock.h). */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static const char *const lock_perm_names[] = {
	"consistent read", "write", "write unchanged", "resize",
};
#define LOCK_NBITS 4

int bc_locking_parse(const char *text, enum bc_locking *out, struct bc_err *err)
{
	if (!strcmp(text, "on"))
		*out = BC_LOCKING_ON;
	else if (!strcmp(text, "off"))
		*out = BC_LOCKING_OFF;
	else if (!strcmp(text, "auto"))
		*out = BC_LOCKING_AUTO;
	else
		return bc_err_set(err, -EINVAL, "invalid parameter value: %s", text);
	return 0;
}

static int lock_byte(int fd, int cmd, short type, int byte, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = byte;
	fl->l_len = 1;
	return fcntl(fd, cmd, fl) < 0 ? -errno : 0;
}

/* Whether another open file description holds byte (a write-lock probe finds any reader). */
static int lock_held_elsewhere(int fd, int byte, bool *held)
{
	struct flock fl;
	int ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK, byte, &fl);

	*held = ret == 0 && fl.l_type != F_UNLCK;
	return ret;
}

static int lock_conflict(struct bc_err *err, const char *name, const char *shared, int bit)
{
	return bc_err_set(err, -EAGAIN, "Failed to get %s\"%s\" lock\n"
			  "Is another process using the image [%s]?", shared,
			  lock_perm_names[bit], name);
}

int bc_file_lock(struct bc_file *f, const char *name, unsigned perm, unsigned shared,
		 enum bc_locking mode, struct bc_err *err)
{
	struct flock fl;
	bool held;
	int ret;

	if (f->fd < 0 || mode == BC_LOCKING_OFF)
		return 0;
	for (int i = 0; i < LOCK_NBITS; i++) {
		bool want = perm & (1u << i), deny = !(shared & (1u << i));
		ret = want ? lock_byte(f->fd, F_OFD_SETLK, F_RDLCK, BC_LOCK_PERM_BASE + i, &fl) : 0;
		if (ret == 0 && deny)
			ret = lock_byte(f->fd, F_OFD_SETLK, F_RDLCK, BC_LOCK_SHARED_BASE + i, &fl);
		if (ret == -EINVAL && mode == BC_LOCKING_AUTO)
			return 0;       /* no OFD locks on this host or file system */
		if (ret < 0)
			return bc_err_set(err, ret, "Failed to lock byte %d",
					  (want ? BC_LOCK_PERM_BASE : BC_LOCK_SHARED_BASE) + i);
	}
	for (int i = 0; i < LOCK_NBITS; i++) {
		if ((perm & (1u << i)) &&
		    lock_held_elsewhere(f->fd, BC_LOCK_SHARED_BASE + i, &held) == 0 && held)
			return lock_conflict(err, name, "", i);
	}
	for (int i = 0; i < LOCK_NBITS; i++) {
		if (!(shared & (1u << i)) &&
		    lock_held_elsewhere(f->fd, BC_LOCK_PERM_BASE + i, &held) == 0 && held)
			return lock_conflict(err, name, "shared ", i);
	}
	return 0;
}
