/* uart16550.c - the 16550A UART of the virt machine (register shift 0), a front end of a
 * character back end. Transmit completes at once through vm_chr_write. Receive is device
 * initiated: the back end hands over only what the receive FIFO (16 bytes with FCR.FE, else
 * one holding register) can take, and every guest read of RBR asks for more, so input is
 * never dropped however fast it arrives. Interrupt identification follows the 16550's
 * priorities (line status, character timeout, received data at the trigger level,
 * transmitter empty, modem status); the character timeout is approximated as "a burst ended
 * below the trigger level". */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"
#include "emulator/chardev/chardev.h"

#include <errno.h>

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO 0xc0
#define FCR_FE 0x01
#define FCR_RFR 0x02
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRS 0x1e /* OE PE FE BI: cleared by reading LSR */

static unsigned rx_capacity(const struct vm_uart *u)
{
	return (u->fcr & FCR_FE) ? sizeof(u->rx) : 1;
}

static unsigned trigger_level(const struct vm_uart *u)
{
	static const unsigned itl[4] = { 1, 4, 8, 14 };
	return itl[u->fcr >> 6];
}

static void rx_push(struct vm_uart *u, uint8_t b)
{
	u->rx[(u->rx_head + u->rx_count) % sizeof(u->rx)] = b;
	u->rx_count++;
}

static void rx_clear(struct vm_uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->timeout_ipending = false;
}

/* The interrupt the IIR reports now (IIR_NONE: the line is low). */
static uint8_t pending_iir(const struct vm_uart *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr_err & LSR_ERRS))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->timeout_ipending)
		return IIR_CTI;
	if ((u->ier & IER_RDI) && u->rx_count && (!(u->fcr & FCR_FE) || u->rx_count >= trigger_level(u)))
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static uint8_t read_rbr(struct vm_uart *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t v = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % sizeof(u->rx);
	u->rx_count--;
	/* data left below the trigger level is reported as a character timeout */
	u->timeout_ipending = (u->fcr & FCR_FE) && u->rx_count && u->rx_count < trigger_level(u);
	vm_chr_accept_input(u->chr); /* room again: the back end may hand over more right now */
	return v;
}

static int uart_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vm_uart *u = opaque;
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v = 0;
	(void)size;
	switch (off) {
	case 0: v = dlab ? u->dll : read_rbr(u); break;
	case 1: v = dlab ? u->dlm : u->ier; break;
	case 2:
		v = pending_iir(u);
		if (v == IIR_THRI)
			u->thr_ipending = false; /* reading IIR acknowledges "transmitter empty" */
		if (u->fcr & FCR_FE)
			v |= IIR_FIFO;
		break;
	case 3: v = u->lcr; break;
	case 4: v = u->mcr; break;
	case 5:
		v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_err;
		u->lsr_err = 0;
		break;
	case 6:
		v = u->msr;
		u->msr &= 0xf0; /* reading MSR clears the delta bits */
		break;
	case 7: v = u->scr; break;
	default: break;
	}
	*val = v;
	return 0;
}

static void write_fcr(struct vm_uart *u, uint8_t v)
{
	bool flush = ((v ^ u->fcr) & FCR_FE) || (v & FCR_RFR);
	u->fcr = v & 0xc9; /* the reset bits read as 0 */
	if (flush) {
		rx_clear(u);
		vm_chr_accept_input(u->chr);
	}
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
			vm_chr_write(u->chr, &v, 1);
			u->thr_ipending = true; /* sent: the holding register is empty again */
		}
		break;
	case 1:
		if (dlab) {
			u->dlm = v;
		} else {
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thr_ipending = true; /* enabling it while empty raises it */
			u->ier = v & 0x0f;
		}
		break;
	case 2: write_fcr(u, v); break;
	case 3: u->lcr = v; break;
	case 4: u->mcr = v & 0x1f; break;
	case 7: u->scr = v; break;
	default: break;
	}
	return 0;
}

static const struct vm_mmio_ops uart_ops = { uart_read, uart_write };

static size_t fe_can_read(void *opaque)
{
	struct vm_uart *u = opaque;
	return rx_capacity(u) - u->rx_count;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm_uart *u = opaque;
	for (size_t i = 0; i < len && u->rx_count < rx_capacity(u); i++)
		rx_push(u, buf[i]);
	u->timeout_ipending = (u->fcr & FCR_FE) && u->rx_count < trigger_level(u);
}

static void fe_event(void *opaque, enum vm_chr_event ev)
{
	struct vm_uart *u = opaque;
	if (ev != VM_CHR_BREAK)
		return;
	/* a break: a zero character with BI, as the 16550 receives it */
	if (u->rx_count < rx_capacity(u))
		rx_push(u, 0);
	u->lsr_err |= LSR_BI;
}

int vm_uart_init(struct vm_uart *u, struct vm_bus *bus, uint64_t base, struct vm_chardev *chr)
{
	*u = (struct vm_uart){ .chr = chr, .msr = 0xb0 };
	if (chr) {
		struct vm_chr_frontend fe = { fe_can_read, fe_read, fe_event, u };
		int rc = vm_chr_attach(chr, &fe);
		if (rc)
			return rc;
	}
	return vm_bus_add(bus, base, 0x100, &uart_ops, u);
}

bool vm_uart_irq(const struct vm_uart *u)
{
	return pending_iir(u) != IIR_NONE;
}

void vm_uart_reset(struct vm_uart *u)
{
	u->ier = u->lcr = u->mcr = u->scr = u->dll = u->dlm = u->fcr = u->lsr_err = 0;
	u->msr = 0xb0; /* DCD, DSR, CTS: a cable is always plugged in */
	rx_clear(u);
	u->thr_ipending = false;
	vm_chr_accept_input(u->chr);
}
