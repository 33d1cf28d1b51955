/* drive.c - see drive.h. Messages follow qemu-system's for the same mistakes (the caller
 * prefixes "strata-vm: -drive SPEC: "). snapshot=on puts a fresh qcow2 overlay, backed by
 * the image, in $TMPDIR (default /var/tmp, as QEMU); it is unlinked as soon as it is open,
 * so the guest's writes vanish at exit however the process ends. */
#include "emulator/machine/drive.h"
#include "emulator/host/parse.h"
#include "bc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	int b = vm_parse_bool(v); /* QEMU's spellings: on/yes/true/y, off/no/false/n */
	if (b >= 0) {
		*out = b;
	} else {
		/* qemu names the option by its QAPI spelling */
		snprintf(err, errlen, "Parameter '%s' expects 'on' or 'off'", !strcmp(key, "readonly") ? "read-only" : key);
		return -EINVAL;
	}
	return 0;
}

static int set_cache(struct vm_drive *d, const char *v, char *err, size_t errlen)
{
	unsigned flags = 0;

	if (bc_parse_cache_mode(v, &flags) < 0) {
		snprintf(err, errlen, "invalid cache option");
		return -EINVAL;
	}
	/* the device flushes after each write in write-through mode (the guest sees no cache) */
	d->direct = flags & BC_OPEN_DIRECT;
	d->unsafe = flags & BC_OPEN_UNSAFE;
	d->writethrough = flags & BC_OPEN_WRITETHROUGH;
	return 0;
}

/* A nested key for the engine, appended as "key=value" with commas doubled. */
static int add_blockopt(struct vm_drive *d, const char *key, const char *v)
{
	size_t old = d->blockopts ? strlen(d->blockopts) : 0;
	char *n = realloc(d->blockopts, old + strlen(key) + 2 * strlen(v) + 3), *w;
	if (!n)
		return -ENOMEM;
	w = n + old;
	w += sprintf(w, "%s%s=", old ? "," : "", key);
	for (; *v; v++) {
		if (*v == ',')
			*w++ = ',';
		*w++ = *v;
	}
	*w = 0;
	d->blockopts = n;
	return 0;
}

/* -drive with nested options: one option string for bc_open's BC_OPEN_IMAGE_OPTS. */
static char *drive_image_opts(const struct vm_drive *d)
{
	size_t n = strlen(d->blockopts) + (d->format ? strlen(d->format) : 0) +
		   (d->file ? 2 * strlen(d->file) : 0) + 32;
	char *s = malloc(n), *w = s;
	if (!s)
		return NULL;
	if (d->format)
		w += sprintf(w, "driver=%s,", d->format);
	if (d->file && *d->file) {
		w += sprintf(w, "file.filename=");
		for (const char *f = d->file; *f; f++) {
			if (*f == ',')
				*w++ = ',';
			*w++ = *f;
		}
		*w++ = ',';
	}
	strcpy(w, d->blockopts);
	return s;
}

int vm_drive_parse(struct vm_drive *d, const char *spec, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->spec = spec;
	char *copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	int rc = 0;
	/* key=value pairs split at commas; ",," is a literal comma as in QEMU */
	char *p = copy;
	while (*p && !rc) {
		char *item = p, *w = p;
		for (; *p; p++) {
			if (*p == ',' && p[1] == ',')
				*w++ = ',', p++;
			else if (*p == ',')
				break;
			else
				*w++ = *p;
		}
		if (*p)
			p++;
		*w = 0;
		char *eq = strchr(item, '=');
		const char *key = item, *v = eq ? eq + 1 : "";
		if (eq)
			*eq = 0;
		if (!eq && item == copy) {
			key = "file", v = item; /* -drive F alone is file=F */
		}
		if (!strcmp(key, "driver"))
			key = "format";
		char **str = !strcmp(key, "file") ? &d->file : !strcmp(key, "format") ? &d->format : !strcmp(key, "id") ? &d->id : NULL;
		if (strchr(key, '.')) {
			rc = add_blockopt(d, key, v);
		} else if (str) {
			free(*str);
			if (!(*str = strdup(v)))
				rc = -ENOMEM;
		} else if (!strcmp(key, "if")) {
			if (!strcmp(v, "none"))
				d->if_none = true;
			else if (!strcmp(v, "virtio"))
				d->if_none = false;
			else {
				snprintf(err, errlen, "unsupported bus type '%s'", v);
				rc = -EINVAL;
			}
		} else if (!strcmp(key, "readonly") || !strcmp(key, "read-only")) {
			rc = parse_bool("readonly", v, &d->readonly, err, errlen);
		} else if (!strcmp(key, "snapshot")) {
			rc = parse_bool(key, v, &d->snapshot, err, errlen);
		} else if (!strcmp(key, "cache")) {
			rc = set_cache(d, v, err, errlen);
		} else if (!strcmp(key, "discard")) {
			if (!strcmp(v, "unmap") || !strcmp(v, "on"))
				d->discard = true;
			else if (!strcmp(v, "ignore") || !strcmp(v, "off"))
				d->discard = false;
			else {
				snprintf(err, errlen, "Invalid discard option");
				rc = -EINVAL;
			}
		} else if (!strcmp(key, "media") && !strcmp(v, "disk")) {
			/* the only medium */
		} else {
			/* qemu names the format; without format= (or before it) it probes, we do not */
			if (d->format)
				snprintf(err, errlen, "Block format '%s' does not support the option '%s'", d->format, key);
			else
				snprintf(err, errlen, "Invalid parameter '%s'", key);
			rc = -EINVAL;
		}
	}
	free(copy);
	if (!rc && (!d->file || !*d->file) && !(d->blockopts && strstr(d->blockopts, "file.filename="))) {
		snprintf(err, errlen, "A block device must be specified for \"file\"");
		rc = -EINVAL;
	}
	if (!rc && d->format && !bc_format_find(d->format)) {
		snprintf(err, errlen, "Unknown driver '%s'", d->format);
		rc = -EINVAL;
	}
	if (rc)
		vm_drive_free(d);
	return rc;
}

/* A temporary qcow2 file over the opened image `base`, opened read-write into d->img. */
static int open_overlay(struct vm_drive *d, struct bc_image *base, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX], abs[PATH_MAX], size[32];
	struct bc_err e = { 0 };
	snprintf(path, sizeof(path), "%s/strata-vm.XXXXXX", dir && *dir ? dir : "/var/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(err, errlen, "Could not get temporary filename: %s", strerror(errno));
		return -errno;
	}
	close(fd);
	if (!realpath(bc_filename(base), abs)) {
		unlink(path);
		snprintf(err, errlen, "Could not open '%s': %s", bc_filename(base), strerror(errno));
		return -errno;
	}
	snprintf(size, sizeof(size), "%llu", (unsigned long long)bc_length(base));
	struct bc_opts *o = bc_opts_new();
	int rc = o ? 0 : -ENOMEM;
	if (!rc && ((rc = bc_opts_set(o, "size", size)) || (rc = bc_opts_set(o, "backing_file", abs)) ||
		    (rc = bc_opts_set(o, "backing_fmt", bc_format_name(base)))))
		snprintf(e.msg, sizeof(e.msg), "%s", strerror(-rc));
	if (!rc)
		rc = bc_create("qcow2", path, o, &e);
	bc_opts_free(o);
	if (!rc) {
		struct bc_open_opts oo = { .format = "qcow2", .flags = BC_OPEN_RDWR | BC_OPEN_UNSAFE };
		rc = bc_open(&d->img, path, &oo, &e);
	}
	unlink(path);
	if (rc)
		snprintf(err, errlen, "Could not create temporary overlay '%s': %s", path, e.msg);
	return rc;
}

int vm_drive_open(struct vm_drive *d, char *err, size_t errlen)
{
	struct bc_err e = { 0 };
	/* a guest's disk is its own: others may not write it, even raw (QEMU's share-rw=off) */
	unsigned flags = (d->readonly || d->snapshot ? 0 : BC_OPEN_RDWR) | (d->direct ? BC_OPEN_DIRECT : 0) |
			 (d->unsafe ? BC_OPEN_UNSAFE : 0) | BC_OPEN_NO_SHARE_WRITE;
	struct bc_open_opts oo = { .format = d->format, .flags = flags };
	struct bc_image *img;
	char *name = d->blockopts ? drive_image_opts(d) : NULL;
	if (d->blockopts && !name)
		return -ENOMEM;
	if (name) {
		oo.format = NULL;
		oo.flags |= BC_OPEN_IMAGE_OPTS;
	}
	int rc = bc_open(&img, name ? name : d->file, &oo, &e);
	free(name);
	if (rc) {
		snprintf(err, errlen, "%s", e.msg);
		return rc;
	}
	if (!d->snapshot || d->readonly) {
		d->img = img;
		return 0;
	}
	/* the overlay opens its own copy of the image as backing; this one only gave the size
	 * and the format */
	rc = open_overlay(d, img, err, errlen);
	bc_close(img);
	return rc;
}

#define COMMIT_CHUNK (1u << 20)

/* Copies the ranges the overlay itself decides (data or zeroes) into `base`. */
static int copy_overlay(struct bc_image *top, struct bc_image *base)
{
	uint8_t *buf = bc_alloc_aligned(COMMIT_CHUNK);
	uint64_t size = bc_length(top);
	int rc = buf ? 0 : -ENOMEM;
	for (uint64_t off = 0; rc == 0 && off < size;) {
		struct bc_extent e;
		uint64_t want = size - off < COMMIT_CHUNK ? size - off : COMMIT_CHUNK;
		if ((rc = bc_block_status_layer(top, off, want, &e)) < 0)
			break;
		rc = 0;
		if (e.flags & BC_EXT_ALLOCATED) {
			if ((e.flags & BC_EXT_ZERO) && !(e.flags & BC_EXT_DATA))
				rc = bc_write_zeroes(base, off, e.len, 0);
			else if ((rc = bc_read(top, off, buf, (size_t)e.len)) == 0)
				rc = bc_write(base, off, buf, (size_t)e.len);
		}
		off += e.len;
	}
	free(buf);
	return rc ? rc : bc_flush(base);
}

/* Options that open a second handle on an image this process already holds locked (OFD
 * locks would conflict with our own): file.locking=off. */
/* A second, writable handle on the drive's backing image for commit. The chain's own backing
 * handle is read-only and holds the image's lock (keeping other writers out); a second OFD lock
 * from this process would conflict with it, so this handle takes none (file.locking=off). */
static int open_backing_writable(struct vm_drive *d, struct bc_image **base, char *err,
				 size_t errlen)
{
	struct bc_image *b = bc_backing(d->img);
	struct bc_err e = { 0 };
	struct bc_open_opts oo = { .format = bc_format_name(b),
				   .flags = BC_OPEN_RDWR | (d->direct ? BC_OPEN_DIRECT : 0) |
					    (d->unsafe ? BC_OPEN_UNSAFE : 0),
				   .driver_opts = bc_opts_new() };
	int rc = oo.driver_opts ? bc_opts_set(oo.driver_opts, "file.locking", "off") : -ENOMEM;
	if (!rc)
		rc = bc_open(base, bc_filename(b), &oo, &e);
	bc_opts_free(oo.driver_opts);
	if (rc)
		snprintf(err, errlen, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

/* QEMU's commit: the top layer's data goes into its backing file and the top is emptied, its
 * internal snapshots kept (QEMU 7.2 keeps them too, also in a -snapshot overlay); then the top's
 * backing chain, whose caches missed the writes of the second handle, is opened afresh. The
 * drive keeps its image handle throughout, so no failure leaves it without one. */
int vm_drive_commit(struct vm_drive *d, char *err, size_t errlen)
{
	struct bc_image *top = d->img, *base = NULL;
	struct bc_err e = { 0 };
	err[0] = 0;
	if (!top || d->readonly || !bc_backing(top))
		return -ENOTSUP;
	int rc = bc_flush(top);
	if (!rc && (rc = open_backing_writable(d, &base, err, errlen)) < 0)
		return rc;
	if (!rc)
		rc = copy_overlay(top, base);
	if (base) {
		int rc2 = bc_close(base);
		rc = rc ? rc : rc2;
	}
	if (!rc)
		rc = bc_make_empty(top, &e);
	if (!rc)
		rc = bc_reopen_backing(top, &e);
	if (rc)
		snprintf(err, errlen, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

int vm_drive_close(struct vm_drive *d)
{
	int rc = d->img ? bc_close(d->img) : 0;
	d->img = NULL;
	return rc;
}

void vm_drive_free(struct vm_drive *d)
{
	vm_drive_close(d);
	free(d->file);
	free(d->format);
	free(d->id);
	free(d->blockopts);
	d->file = d->format = d->id = d->blockopts = NULL;
}
