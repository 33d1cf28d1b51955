/* Plain loads and stores of a few globals: the GDB stub's watchpoints (tools.sh) watch them
 * being written, read and accessed; on its own it just prints what it computed. */
#include "rvtest.h"

volatile uint64_t watched[4];

int main(void)
{
	for (int i = 0; i < 3; i++)
		watched[1] += (uint64_t)i + 1;
	uint64_t r = watched[2];
	watched[3] = r + 5;
	rv_puts("watched[1]=");
	rv_putdec((int64_t)watched[1]);
	rv_puts(" watched[3]=");
	rv_putdec((int64_t)watched[3]);
	rv_putc('\n');
	return 0;
}
