/* disk: raw 1M readonly */
/* virtio-blk over virtio-mmio: random descriptor chains (loops, bad flags, buffers outside
 * RAM, indirect tables, runaway available indexes) must neither crash nor wedge the device
 * (see vblk_fuzz in vblk.c). The drive is read-only so both disks stay equal. */
#include "vblk.h"

int main(void)
{
	return vblk_fuzz(300);
}
