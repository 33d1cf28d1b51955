/* mux.c - one back end shared by several front ends (serial and monitor), QEMU's mux: input
 * goes to the focused front end, output of all of them is interleaved, and Ctrl-A starts a
 * command (h help, x quit, s flush, t timestamps, b break, c switch focus, C-a a literal C-a). */
#include "emulator/chardev/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ESC 0x01 /* Ctrl-A */

struct mux {
	struct vm_chardev *self, *base;
	bool escape;     /* the previous byte was Ctrl-A */
	bool timestamps; /* C-a t */
	bool linestart;
	bool ts_started;
	uint64_t ts_start_ms;
};

static const char help_text[] = "\n\rC-a h    print this help\n\r"
				"C-a x    exit emulator\n\r"
				"C-a s    save disk data back to file (if -snapshot)\n\r"
				"C-a t    toggle console timestamps\n\r"
				"C-a b    send break (magic sysrq)\n\r"
				"C-a c    switch between console and monitor\n\r"
				"C-a C-a  sends C-a\n\r";

static uint64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Output of every front end; with timestamps each line starts with [hh:mm:ss.mmm] counted
 * from the first stamp after C-a t. */
static long mux_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	struct mux *m = c->priv;
	if (!m->timestamps)
		return vm_chr_write(m->base, buf, len);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (m->linestart) {
			vm_chr_write(m->base, buf + start, i - start);
			start = i;
			uint64_t now = realtime_ms();
			if (!m->ts_started) {
				m->ts_started = true;
				m->ts_start_ms = now;
			}
			uint64_t t = now - m->ts_start_ms, s = t / 1000;
			char stamp[64];
			int n = snprintf(stamp, sizeof(stamp), "[%02u:%02u:%02u.%03u] ", (unsigned)(s / 3600),
					 (unsigned)(s / 60 % 60), (unsigned)(s % 60), (unsigned)(t % 1000));
			vm_chr_write(m->base, stamp, (size_t)n);
			m->linestart = false;
		}
		if (buf[i] == '\n')
			m->linestart = true;
	}
	vm_chr_write(m->base, buf + start, len - start);
	return (long)len;
}

void vm_chr_mux_focus(struct vm_chardev *c, int index)
{
	if (!c->is_mux || index < 0 || index >= c->nfe || index == c->focus)
		return;
	struct vm_chr_frontend *old = &c->fe[c->focus], *new = &c->fe[index];
	if (old->event)
		old->event(old->opaque, VM_CHR_MUX_OUT);
	c->focus = index;
	if (new->event)
		new->event(new->opaque, VM_CHR_MUX_IN);
	struct mux *m = c->priv;
	chr_update_watch(m->base); /* the new front end may take more (or less) */
}

static void focused_read(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	if (c->nfe)
		c->fe[c->focus].read(c->fe[c->focus].opaque, buf, len);
}

static void command(struct mux *m, uint8_t ch)
{
	struct vm_chardev *c = m->self;
	const struct vm_chr_host *h = chr_host();
	switch (ch) {
	case '?':
	case 'h':
		mux_write(c, (const uint8_t *)help_text, sizeof(help_text) - 1);
		break;
	case 'x':
		mux_write(c, (const uint8_t *)"QEMU: Terminated\n\r", 18);
		if (h->quit)
			h->quit(h->opaque);
		break;
	case 's':
		if (h->flush)
			h->flush(h->opaque);
		break;
	case 'b':
		if (c->nfe && c->fe[c->focus].event)
			c->fe[c->focus].event(c->fe[c->focus].opaque, VM_CHR_BREAK);
		break;
	case 'c':
		if (c->nfe > 1)
			vm_chr_mux_focus(c, (c->focus + 1) % c->nfe);
		break;
	case 't':
		m->timestamps = !m->timestamps;
		m->ts_started = false;
		m->linestart = false;
		break;
	case ESC:
		focused_read(c, &ch, 1);
		break;
	default: /* unknown commands are dropped */
		break;
	}
}

/* The base hands over either plain bytes or one command byte at a time (see can_read). */
void chr_mux_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct mux *m = opaque;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (m->escape) {
			m->escape = false;
			command(m, buf[i]);
			start = i + 1;
		} else if (buf[i] == ESC) {
			focused_read(m->self, buf + start, i - start);
			m->escape = true;
			start = i + 1;
		}
	}
	if (start < len)
		focused_read(m->self, buf + start, len - start);
}

/* How much the base may hand over: the focused front end's room, up to the next Ctrl-A, so a
 * focus switch never lands bytes meant for one front end on another. While a device asks
 * (vm_chr_accept_input in an MMIO access) commands are left for the event loop. */
size_t chr_mux_can_read(void *opaque)
{
	struct mux *m = opaque;
	struct vm_chardev *c = m->self, *b = m->base;
	const uint8_t *p = b->in + b->in_head;
	if (m->escape || (b->in_len && p[0] == ESC))
		return chr_device_context ? 0 : (m->escape ? 1 : 2);
	size_t room = 1; /* no front end: input is read and dropped, Ctrl-A still works */
	if (c->nfe) {
		const struct vm_chr_frontend *fe = &c->fe[c->focus];
		room = fe->can_read ? fe->can_read(fe->opaque) : 0;
	}
	const uint8_t *esc = b->in_len ? memchr(p, ESC, b->in_len) : NULL;
	if (esc && (size_t)(esc - p) < room)
		room = (size_t)(esc - p);
	return room;
}

static void mux_event(void *opaque, enum vm_chr_event ev)
{
	struct mux *m = opaque;
	chr_event_all(m->self, ev);
}

static void mux_accept(struct vm_chardev *c)
{
	struct mux *m = c->priv;
	chr_accept_generic(m->base);
}

static void mux_attached(struct vm_chardev *c)
{
	struct mux *m = c->priv;
	struct vm_chr_frontend *fe = &c->fe[c->nfe - 1];
	/* the base's state as the new front end should see it: stdio & co. are open at once */
	if (fe->event && (!m->base->ops->attached || m->base->in_fd >= 0))
		fe->event(fe->opaque, VM_CHR_OPENED);
}

static void mux_close(struct vm_chardev *c)
{
	free(c->priv);
}

static const struct vm_chr_ops mux_ops = {
	.write = mux_write, .accept = mux_accept, .close = mux_close, .attached = mux_attached,
};

int chr_mux_new(struct vm_loop *loop, const char *id, struct vm_chardev *base, struct vm_chardev **out, char *err,
		size_t errlen)
{
	struct mux *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -12;
	}
	struct vm_chardev *c;
	int rc = chr_alloc(loop, id, &mux_ops, &c, err, errlen);
	if (rc) {
		free(m);
		return rc;
	}
	c->is_mux = true;
	c->priv = m;
	snprintf(c->filename, sizeof(c->filename), "mux");
	*m = (struct mux){ .self = c, .base = base };
	struct vm_chr_frontend fe = { chr_mux_can_read, chr_mux_read, mux_event, m };
	if ((rc = vm_chr_attach(base, &fe))) {
		snprintf(err, errlen, "chardev '%s' is already in use", base->id);
		chr_unregister(c);
		return rc;
	}
	*out = c;
	return 0;
}
