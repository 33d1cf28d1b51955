/* disk: qcow2 64M */
/* virtio-blk over virtio-mmio: the whole disk read in 64 KiB requests (bench/virtio.sh
 * times the same program on a larger disk). */
#include "vblk.h"

int main(void)
{
	return vblk_seqread();
}
