/* disk: raw 16M readonly */
/* virtio-blk over virtio-mmio, read-only raw drive: writes fail with IOERR (see vblk.c). */
#include "vblk.h"

int main(void)
{
	return vblk_run();
}
