/* echo.c - a console guest for tests/vm/console.sh (not a run-guests.sh program: it waits
 * for input). Reads the UART by polling LSR.DR and echoes every byte (control bytes as ^X);
 * counts and checksums what it gets. Commands: ^D prints "[count=N sum=H]" and starts over,
 * ^E toggles the echo, ^F switches the 16550 FIFO on (trigger level 14) and prints IIR,
 * ^] powers off with exit code 7. A break (NUL with LSR.BI) prints "[break]". */
#include "rvtest.h"

#define UART ((volatile uint8_t *)0x10000000UL)
#define LSR_DR 0x01
#define LSR_BI 0x10

static uint8_t lsr_seen;

static uint8_t get(void)
{
	uint8_t l;
	while (!((l = UART[5]) & LSR_DR))
		lsr_seen |= l;
	lsr_seen |= l;
	return UART[0];
}

int main(void)
{
	uint32_t count = 0, sum = 0;
	int echo = 1;
	rv_puts("echo: ready\n");
	for (;;) {
		uint8_t c = get();
		if (c == 0 && (lsr_seen & LSR_BI)) {
			lsr_seen = 0;
			rv_puts("[break]");
			continue;
		}
		lsr_seen = 0;
		if (c == 0x04) {
			rv_puts("\n[count=");
			rv_putdec(count);
			rv_puts(" sum=");
			rv_puthex32(sum);
			rv_puts("]\n");
			count = sum = 0;
		} else if (c == 0x05) {
			echo = !echo;
		} else if (c == 0x06) {
			UART[2] = 0xc7; /* FIFO on, both cleared, trigger level 14 */
			rv_puts("[fifo iir=");
			rv_puthex32(UART[2]);
			rv_puts("]\n");
		} else if (c == 0x1d) {
			rv_puts("\necho: bye\n");
			return 7;
		} else {
			count++;
			sum = sum * 31 + c;
			if (!echo)
				continue;
			if (c < 0x20 && c != '\r' && c != '\n') {
				rv_putc('^');
				rv_putc((char)(c + '@'));
			} else {
				rv_putc((char)c);
			}
		}
	}
}
