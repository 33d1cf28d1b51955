/*
 * rbd-lib.c - librbd and librados, loaded when the first rbd: image is opened (dlopen)
 * rather than linked into every program: they pull in Ceph's common library, Boost, RDMA and
 * device-mapper libraries, which made each strata-img start take 3x qemu-img's time and
 * 14 MB more memory for an image that is not on Ceph (qemu-img too loads its rbd driver as a
 * module on demand). Each function file-rbd.c calls is defined here with librbd's own
 * prototype (the headers check them) and calls through the pointer dlsym gave.
 */
#include "rbd-client.h"

#ifdef BC_HAVE_RBD
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <rbd/librbd.h>
#include <string.h>

#define RBD_LIB "librbd.so.1" /* its dependency librados.so.2 comes with it */

static struct {
	__typeof__(rados_create) *rados_create;
	__typeof__(rados_conf_read_file) *rados_conf_read_file;
	__typeof__(rados_conf_set) *rados_conf_set;
	__typeof__(rados_connect) *rados_connect;
	__typeof__(rados_ioctx_create) *rados_ioctx_create;
	__typeof__(rados_ioctx_destroy) *rados_ioctx_destroy;
	__typeof__(rados_ioctx_set_namespace) *rados_ioctx_set_namespace;
	__typeof__(rados_shutdown) *rados_shutdown;
	__typeof__(rbd_create) *rbd_create;
	__typeof__(rbd_open) *rbd_open;
	__typeof__(rbd_open_read_only) *rbd_open_read_only;
	__typeof__(rbd_close) *rbd_close;
	__typeof__(rbd_stat) *rbd_stat;
	__typeof__(rbd_get_size) *rbd_get_size;
	__typeof__(rbd_get_features) *rbd_get_features;
	__typeof__(rbd_get_flags) *rbd_get_flags;
	__typeof__(rbd_resize) *rbd_resize;
	__typeof__(rbd_read) *rbd_read;
	__typeof__(rbd_write) *rbd_write;
	__typeof__(rbd_write_zeroes) *rbd_write_zeroes;
	__typeof__(rbd_discard) *rbd_discard;
	__typeof__(rbd_flush) *rbd_flush;
	__typeof__(rbd_diff_iterate2) *rbd_diff_iterate2;
	__typeof__(rbd_snap_create) *rbd_snap_create;
	__typeof__(rbd_snap_list) *rbd_snap_list;
	__typeof__(rbd_snap_list_end) *rbd_snap_list_end;
	__typeof__(rbd_snap_remove) *rbd_snap_remove;
	__typeof__(rbd_snap_rollback) *rbd_snap_rollback;
	__typeof__(rbd_aio_create_completion) *rbd_aio_create_completion;
	__typeof__(rbd_aio_read) *rbd_aio_read;
	__typeof__(rbd_aio_write) *rbd_aio_write;
	__typeof__(rbd_aio_flush) *rbd_aio_flush;
	__typeof__(rbd_aio_get_return_value) *rbd_aio_get_return_value;
	__typeof__(rbd_aio_get_arg) *rbd_aio_get_arg;
	__typeof__(rbd_aio_release) *rbd_aio_release;
	__typeof__(rbd_set_image_notification) *rbd_set_image_notification;
	__typeof__(rbd_poll_io_events) *rbd_poll_io_events;
} lib;

static const char *const lib_names[] = {
	"rados_create", "rados_conf_read_file", "rados_conf_set", "rados_connect",
	"rados_ioctx_create", "rados_ioctx_destroy", "rados_ioctx_set_namespace", "rados_shutdown",
	"rbd_create", "rbd_open", "rbd_open_read_only", "rbd_close", "rbd_stat", "rbd_get_size",
	"rbd_get_features", "rbd_get_flags", "rbd_resize", "rbd_read", "rbd_write",
	"rbd_write_zeroes", "rbd_discard", "rbd_flush", "rbd_diff_iterate2", "rbd_snap_create",
	"rbd_snap_list", "rbd_snap_list_end", "rbd_snap_remove", "rbd_snap_rollback",
	"rbd_aio_create_completion", "rbd_aio_read", "rbd_aio_write", "rbd_aio_flush",
	"rbd_aio_get_return_value", "rbd_aio_get_arg", "rbd_aio_release",
	"rbd_set_image_notification", "rbd_poll_io_events",
};

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static bool lib_loaded;

int bc_rbd_lib_load(struct bc_err *err)
{
	_Static_assert(sizeof(lib) == sizeof(lib_names) / sizeof(lib_names[0]) * sizeof(void *),
		       "one name per pointer");
	int ret = 0;
	pthread_mutex_lock(&lib_lock);
	if (!lib_loaded) {
		void *h = dlopen(RBD_LIB, RTLD_NOW | RTLD_LOCAL); /* never closed: Ceph does not unload */
		for (size_t i = 0; h && i < sizeof(lib_names) / sizeof(lib_names[0]); i++) {
			void *fn = dlsym(h, lib_names[i]);
			if (!fn)
				h = NULL;
			memcpy((char *)&lib + i * sizeof(fn), &fn, sizeof(fn)); /* POSIX: a function's address */
		}
		if (h)
			lib_loaded = true;
		else
			ret = bc_err_set(err, -ENOTSUP, "Could not load %s: %s", RBD_LIB, dlerror());
	}
	pthread_mutex_unlock(&lib_lock);
	return ret;
}

int rados_create(rados_t *cluster, const char *const id)
{
	return lib.rados_create(cluster, id);
}

int rados_conf_read_file(rados_t cluster, const char *path)
{
	return lib.rados_conf_read_file(cluster, path);
}

int rados_conf_set(rados_t cluster, const char *option, const char *value)
{
	return lib.rados_conf_set(cluster, option, value);
}

int rados_connect(rados_t cluster)
{
	return lib.rados_connect(cluster);
}

int rados_ioctx_create(rados_t cluster, const char *pool_name, rados_ioctx_t *ioctx)
{
	return lib.rados_ioctx_create(cluster, pool_name, ioctx);
}

void rados_ioctx_destroy(rados_ioctx_t io)
{
	lib.rados_ioctx_destroy(io);
}

void rados_ioctx_set_namespace(rados_ioctx_t io, const char *nspace)
{
	lib.rados_ioctx_set_namespace(io, nspace);
}

void rados_shutdown(rados_t cluster)
{
	lib.rados_shutdown(cluster);
}

int rbd_create(rados_ioctx_t io, const char *name, uint64_t size, int *order)
{
	return lib.rbd_create(io, name, size, order);
}

int rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name)
{
	return lib.rbd_open(io, name, image, snap_name);
}

int rbd_open_read_only(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name)
{
	return lib.rbd_open_read_only(io, name, image, snap_name);
}

int rbd_close(rbd_image_t image)
{
	return lib.rbd_close(image);
}

int rbd_stat(rbd_image_t image, rbd_image_info_t *info, size_t infosize)
{
	return lib.rbd_stat(image, info, infosize);
}

int rbd_get_size(rbd_image_t image, uint64_t *size)
{
	return lib.rbd_get_size(image, size);
}

int rbd_get_features(rbd_image_t image, uint64_t *features)
{
	return lib.rbd_get_features(image, features);
}

int rbd_get_flags(rbd_image_t image, uint64_t *flags)
{
	return lib.rbd_get_flags(image, flags);
}

int rbd_resize(rbd_image_t image, uint64_t size)
{
	return lib.rbd_resize(image, size);
}

ssize_t rbd_read(rbd_image_t image, uint64_t ofs, size_t len, char *buf)
{
	return lib.rbd_read(image, ofs, len, buf);
}

ssize_t rbd_write(rbd_image_t image, uint64_t ofs, size_t len, const char *buf)
{
	return lib.rbd_write(image, ofs, len, buf);
}

ssize_t rbd_write_zeroes(rbd_image_t image, uint64_t ofs, size_t len, int zero_flags, int op_flags)
{
	return lib.rbd_write_zeroes(image, ofs, len, zero_flags, op_flags);
}

int rbd_discard(rbd_image_t image, uint64_t ofs, uint64_t len)
{
	return lib.rbd_discard(image, ofs, len);
}

int rbd_flush(rbd_image_t image)
{
	return lib.rbd_flush(image);
}

int rbd_diff_iterate2(rbd_image_t image, const char *fromsnapname, uint64_t ofs, uint64_t len, uint8_t include_parent, uint8_t whole_object, int (*cb)(uint64_t, size_t, int, void *), void *arg)
{
	return lib.rbd_diff_iterate2(image, fromsnapname, ofs, len, include_parent, whole_object, cb, arg);
}

int rbd_snap_create(rbd_image_t image, const char *snapname)
{
	return lib.rbd_snap_create(image, snapname);
}

int rbd_snap_list(rbd_image_t image, rbd_snap_info_t *snaps, int *max_snaps)
{
	return lib.rbd_snap_list(image, snaps, max_snaps);
}

void rbd_snap_list_end(rbd_snap_info_t *snaps)
{
	lib.rbd_snap_list_end(snaps);
}

int rbd_snap_remove(rbd_image_t image, const char *snapname)
{
	return lib.rbd_snap_remove(image, snapname);
}

int rbd_snap_rollback(rbd_image_t image, const char *snapname)
{
	return lib.rbd_snap_rollback(image, snapname);
}

int rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb, rbd_completion_t *c)
{
	return lib.rbd_aio_create_completion(cb_arg, complete_cb, c);
}

int rbd_aio_read(rbd_image_t image, uint64_t off, size_t len, char *buf, rbd_completion_t c)
{
	return lib.rbd_aio_read(image, off, len, buf, c);
}

int rbd_aio_write(rbd_image_t image, uint64_t off, size_t len, const char *buf, rbd_completion_t c)
{
	return lib.rbd_aio_write(image, off, len, buf, c);
}

int rbd_aio_flush(rbd_image_t image, rbd_completion_t c)
{
	return lib.rbd_aio_flush(image, c);
}

ssize_t rbd_aio_get_return_value(rbd_completion_t c)
{
	return lib.rbd_aio_get_return_value(c);
}

void *rbd_aio_get_arg(rbd_completion_t c)
{
	return lib.rbd_aio_get_arg(c);
}

void rbd_aio_release(rbd_completion_t c)
{
	lib.rbd_aio_release(c);
}

int rbd_set_image_notification(rbd_image_t image, int fd, int type)
{
	return lib.rbd_set_image_notification(image, fd, type);
}

int rbd_poll_io_events(rbd_image_t image, rbd_completion_t *comps, int numcomp)
{
	return lib.rbd_poll_io_events(image, comps, numcomp);
}
#endif
