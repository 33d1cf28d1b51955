/* uart16550.c - the 16550 UART of the virt machine (register shift 0). Transmit completes at
 * once; receive comes from a host fd polled by the machine between batches. Interrupts
 * (received data, transmitter empty) are a level the machine routes to the PLIC. */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static int uart_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vm_uart *u = opaque;
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v = 0;
	(void)size;
	switch (off) {
	case 0:
		if (dlab) {
			v = u->dll;
		} else if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
			u->rx_count--;
		}
		break;
	case 1: v = dlab ? u->dlm : u->ier; break;
	case 2: /* IIR: reading it acknowledges a transmitter-empty interrupt */
		if ((u->ier & 1) && u->rx_count) {
			v = 0x04;
		} else if ((u->ier & 2) && u->thr_ipending) {
			v = 0x02;
			u->thr_ipending = false;
		} else {
			v = 0x01;
		}
		if (u->fcr & 1)
			v |= 0xc0;
		break;
	case 3: v = u->lcr; break;
	case 4: v = u->mcr; break;
	case 5: v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0); break;
	case 6: v = 0xb0; break; /* DCD, DSR, CTS */
	case 7: v = u->scr; break;
	default: break;
	}
	*val = v;
	return 0;
}

static int uart_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm_uart *u = opaque;
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v = (uint8_t)val;
	(void)size;
	switch (off) {
	case 0:
		if (dlab) {
			u->dll = v;
		} else {
			fputc(v, u->out);
			u->dirty = true;
			u->thr_ipending = true; /* sent: the holding register is empty again */
		}
		break;
	case 1:
		if (dlab)
			u->dlm = v;
		else {
			if ((v & 2) && !(u->ier & 2))
				u->thr_ipending = true; /* enabling it while empty raises it */
			u->ier = v & 0x0f;
		}
		break;
	case 2: u->fcr = v; break;
	case 3: u->lcr = v; break;
	case 4: u->mcr = v; break;
	case 7: u->scr = v; break;
	default: break;
	}
	return 0;
}

static const struct vm_mmio_ops uart_ops = { uart_read, uart_write };

int vm_uart_init(struct vm_uart *u, struct vm_bus *bus, uint64_t base, FILE *out, int in_fd)
{
	*u = (struct vm_uart){ .out = out, .in_fd = in_fd };
	return vm_bus_add(bus, base, 0x100, &uart_ops, u);
}

void vm_uart_poll(struct vm_uart *u)
{
	if (u->dirty) {
		fflush(u->out);
		u->dirty = false;
	}
	if (u->in_fd < 0 || u->rx_count == sizeof(u->rx))
		return;
	struct pollfd p = { .fd = u->in_fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return;
	uint8_t c;
	ssize_t n = read(u->in_fd, &c, 1);
	if (n <= 0) {
		u->in_fd = -1; /* EOF or error: stop polling */
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % sizeof(u->rx)] = c;
	u->rx_count++;
}

bool vm_uart_irq(const struct vm_uart *u)
{
	return ((u->ier & 1) && u->rx_count) || ((u->ier & 2) && u->thr_ipending);
}

void vm_uart_reset(struct vm_uart *u)
{
	u->ier = u->lcr = u->mcr = u->scr = u->dll = u->dlm = u->fcr = 0;
	u->rx_head = u->rx_count = 0;
	u->thr_ipending = false;
}
