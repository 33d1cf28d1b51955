/* vblk.h - the shared virtio-blk test driver (vblk.c). */
#ifndef VBLK_H
#define VBLK_H
/* Probes the virtio-mmio slots, drives the first virtio-blk found through a fixed list of
 * requests printing every result, and returns the number of failed checks. */
int vblk_run(void);
/* Throws `rounds` batches of random descriptor chains at the device, then checks that it
 * still serves a read after a reset. Only the survivors are printed. */
int vblk_fuzz(unsigned rounds);
/* Reads the whole disk in 64 KiB requests and prints a fold of one word per sector. */
int vblk_seqread(void);
#endif
