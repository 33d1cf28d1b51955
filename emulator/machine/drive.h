/* drive.h - `-drive` options and opening their images through libblockcore. */
#ifndef STRATA_EMULATOR_MACHINE_DRIVE_H
#define STRATA_EMULATOR_MACHINE_DRIVE_H

#include <stdbool.h>
#include <stddef.h>

struct bc_image;

struct vm_drive {
	const char *spec;  /* the -drive argument, for messages */
	char *file, *format, *id;
	char *blockopts;   /* nested block options (file.*, encrypt.*, ...), ",,"-escaped */
	bool if_none;      /* if=none: waits for -device virtio-blk-device,drive=ID */
	bool readonly, snapshot, discard;
	bool direct, unsafe, writethrough; /* from cache= */
	bool used;         /* claimed by a -device */
	struct bc_image *img;
};

/* Parses "file=F,format=...,if=virtio|none,id=...,readonly=on|off,cache=...,snapshot=on|off,
 * discard=ignore|unmap" and QEMU's nested block options (driver=, file.filename=,
 * encrypt.key-secret=, ...; also json: file names). 0, or -EINVAL with a message in err. */
int vm_drive_parse(struct vm_drive *d, const char *spec, char *err, size_t errlen);
/* Opens the image (writes going to a temporary qcow2 overlay with snapshot). */
int vm_drive_open(struct vm_drive *d, char *err, size_t errlen);
/* QEMU's commit of a drive whose image has a backing file (a -snapshot drive's temporary
 * overlay, or an overlay given as the drive): the top's data is written into the backing file
 * and the top emptied, its internal snapshots kept; d->img stays the same handle. -ENOTSUP for
 * a drive without a backing file; other -errno (message in err) when an image cannot be
 * written or its backing file not reopened (the drive keeps reading the old chain then). */
int vm_drive_commit(struct vm_drive *d, char *err, size_t errlen);
/* Flushes and closes the image; returns the flush result. */
int vm_drive_close(struct vm_drive *d);
void vm_drive_free(struct vm_drive *d);

#endif
