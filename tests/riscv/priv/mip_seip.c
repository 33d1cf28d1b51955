/* mip.SEIP is the OR of a software-writable bit and the PLIC's S-mode line; CSRRS/CSRRC of
 * mip change the software bit only. A set of SSIP while the line is high must not latch the
 * line into the software bit (OpenSBI does exactly that for every IPI with -smp N). */
#include "rvtest.h"
#include <stdint.h>

#define PLIC 0x0c000000UL
#define UART 0x10000000UL
#define UART_IRQ 10
#define SEIP (1u << 9)
#define SSIP (1u << 1)

static void w32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static uint64_t mip(void)
{
	uint64_t v;
	__asm__ volatile("csrr %0, mip" : "=r"(v));
	return v;
}

static void show(const char *what)
{
	uint64_t v = mip();
	rv_puts(what);
	rv_puts(": SEIP ");
	rv_putdec((v & SEIP) != 0);
	rv_puts(" SSIP ");
	rv_putdec((v & SSIP) != 0);
	rv_puts("\n");
}

int main(void)
{
	w32(PLIC + 4 * UART_IRQ, 1);              /* priority 1 */
	w32(PLIC + 0x201000, 0);                  /* context 1 (hart 0 S-mode) threshold 0 */
	w32(PLIC + 0x2000 + 0x80 * 1, 1u << UART_IRQ); /* context 1 enables the UART */
	*(volatile uint8_t *)(UART + 1) = 2;      /* IER: transmitter-empty interrupt: line high */
	show("line high");
	__asm__ volatile("csrs mip, %0" ::"r"(SSIP));
	show("after csrs mip, SSIP");
	*(volatile uint8_t *)(UART + 1) = 0;      /* the UART's line drops; the request stays latched */
	uint32_t id = *(volatile uint32_t *)(PLIC + 0x201004); /* claimed: the S-mode line drops */
	rv_puts("claimed source ");
	rv_putdec(id);
	rv_puts("\n");
	show("line low");
	w32(PLIC + 0x201004, id);                  /* complete */
	__asm__ volatile("csrc mip, %0" ::"r"(SSIP));
	__asm__ volatile("csrs mip, %0" ::"r"(SEIP));
	show("software SEIP set");
	__asm__ volatile("csrc mip, %0" ::"r"(SEIP));
	show("software SEIP cleared");
	return 0;
}
