/* disk: qcow2 32M modern */
/* virtio-blk over virtio-mmio, modern (version 2) transport, qcow2 image (see vblk.c). */
#include "vblk.h"

int main(void)
{
	return vblk_run();
}
