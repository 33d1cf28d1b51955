/* disk: qcow2 64M */
/* virtio-blk over virtio-mmio, legacy transport, qcow2 image (see vblk.c). */
#include "vblk.h"

int main(void)
{
	return vblk_run();
}
