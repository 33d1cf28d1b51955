/* disk: raw 64M */
/* virtio-blk over virtio-mmio, legacy transport, raw image (see vblk.c). */
#include "vblk.h"

int main(void)
{
	return vblk_run();
}
