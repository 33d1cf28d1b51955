/* Prints one line and asks the board for a reset through the sifive_test device (0x7777):
 * the machine reboots into it again, or exits 0 under -no-reboot. tests/vm/options.sh. */
#include "rvtest.h"

int main(void)
{
	rv_puts("reboot: booted\n");
	*(volatile uint32_t *)0x100000 = 0x7777;
	for (;;)
		__asm__ volatile("wfi");
}
