/* chardev.c - the registry of character back ends, the front end side (attach, input flow
 * control, write) and the generic fd input path the back ends share. Spec parsing is in
 * spec.c, each back end family in its own file. */
#include "emulator/chardev/internal.h"
#include "emulator/host/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct vm_chardev *chr_list;
static struct vm_chr_host host;
/* set while a device asks for input (vm_chr_accept_input from an MMIO access): the mux then
 * hands over plain data only and leaves Ctrl-A commands to the event loop */
bool chr_device_context;
const void *chr_device_fe; /* ... and which front end it is */

void vm_chr_set_host(const struct vm_chr_host *h)
{
	host = *h;
}

const struct vm_chr_host *chr_host(void)
{
	return &host;
}

void chr_info(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bool located = msg[0] == '@'; /* "@info: ..." asks for the option location prefix */
	if (host.info)
		host.info(host.opaque, located ? msg + 1 : msg, located);
}

int chr_alloc(struct vm_loop *loop, const char *id, const struct vm_chr_ops *ops, struct vm_chardev **out,
	      char *err, size_t errlen)
{
	if (vm_chr_find(id)) {
		snprintf(err, errlen, "Duplicate ID '%s' for chardev", id);
		return -EEXIST;
	}
	if (strlen(id) >= sizeof((*out)->id)) {
		snprintf(err, errlen, "chardev id '%s' is too long", id);
		return -EINVAL;
	}
	struct vm_chardev *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	c->ops = ops;
	c->loop = loop;
	c->in_fd = -1;
	c->log_fd = -1;
	snprintf(c->id, sizeof(c->id), "%s", id);
	struct vm_chardev **p = &chr_list;
	while (*p)
		p = &(*p)->next;
	*p = c;
	*out = c;
	return 0;
}

void chr_unregister(struct vm_chardev *c)
{
	for (struct vm_chardev **p = &chr_list; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	chr_unwatch_input(c);
	vm_timer_free(c->kick);
	if (c->ops->close)
		c->ops->close(c);
	if (c->log_fd >= 0)
		close(c->log_fd);
	free(c);
}

struct vm_chardev *vm_chr_find(const char *id)
{
	for (struct vm_chardev *c = chr_list; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

const char *vm_chr_label(const struct vm_chardev *c)
{
	return c->id;
}

bool vm_chr_is_mux(const struct vm_chardev *c)
{
	return c->is_mux;
}

void vm_chr_foreach(void (*fn)(void *opaque, const char *label, const char *filename), void *opaque)
{
	for (struct vm_chardev *c = chr_list; c; c = c->next)
		fn(opaque, c->id, c->filename);
}

void vm_chr_free(struct vm_chardev *c)
{
	chr_unregister(c);
}

void vm_chr_free_all(void)
{
	/* muxes first: they write through their bases */
	for (int pass = 0; pass < 2; pass++)
		for (struct vm_chardev *c = chr_list, *n; c; c = n) {
			n = c->next;
			if (c->is_mux == (pass == 0))
				chr_unregister(c);
		}
}

/* ---- front ends ---- */

void chr_event_all(struct vm_chardev *c, enum vm_chr_event ev)
{
	for (int i = 0; i < c->nfe; i++)
		if (c->fe[i].event)
			c->fe[i].event(c->fe[i].opaque, ev);
}

int vm_chr_attach(struct vm_chardev *c, const struct vm_chr_frontend *fe)
{
	if (c->nfe == (c->is_mux ? CHR_MAX_FE : 1))
		return -EBUSY;
	int idx = c->nfe++;
	c->fe[idx] = *fe;
	if (c->is_mux && idx != c->focus && fe->event)
		fe->event(fe->opaque, VM_CHR_MUX_OUT);
	if (c->ops->attached)
		c->ops->attached(c);
	else if (fe->event)
		fe->event(fe->opaque, VM_CHR_OPENED); /* always-open back ends: stdio, file, pty */
	chr_update_watch(c);
	return 0;
}

static size_t fe_can_read(struct vm_chardev *c)
{
	if (!c->nfe)
		return 0;
	const struct vm_chr_frontend *fe = &c->fe[c->is_mux ? c->focus : 0];
	return fe->can_read ? fe->can_read(fe->opaque) : 0;
}

bool chr_deliver(struct vm_chardev *c)
{
	for (int guard = 0; c->in_len && guard < 1024; guard++) {
		size_t n = fe_can_read(c);
		if (!n)
			return false;
		if (n > c->in_len)
			n = c->in_len;
		const uint8_t *p = c->in + c->in_head;
		c->in_head += n;
		c->in_len -= n;
		const struct vm_chr_frontend *fe = &c->fe[c->is_mux ? c->focus : 0];
		fe->read(fe->opaque, p, n);
	}
	if (!c->in_len)
		c->in_head = 0;
	return c->in_len == 0;
}

/* Reads what fits into the buffer; false on EOF/error (the fd is then forgotten). */
static bool fill(struct vm_chardev *c)
{
	if (c->in_head && !c->in_len)
		c->in_head = 0;
	size_t room = sizeof(c->in) - c->in_head - c->in_len;
	if (!room)
		return true;
	uint8_t *dst = c->in + c->in_head + c->in_len;
	ssize_t n = read(c->in_fd, dst, room);
	if (n > 0) {
		c->in_len += c->ops->filter ? c->ops->filter(c, dst, (size_t)n) : (size_t)n;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	return false;
}

static void input_ready(void *opaque, int fd, unsigned revents)
{
	struct vm_chardev *c = opaque;
	(void)fd;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && chr_deliver(c)) {
		if (!fill(c)) {
			chr_unwatch_input(c);
			c->in_eof = true;
			if (c->ops->eof)
				c->ops->eof(c); /* a socket peer left; plain fds stop quietly, as QEMU's */
			return;
		}
		chr_deliver(c);
	}
	chr_update_watch(c);
}

int chr_watch_input(struct vm_chardev *c, int fd)
{
	c->in_fd = fd;
	c->in_eof = false;
	int rc = vm_loop_add_fd(c->loop, fd, 0, input_ready, c);
	if (rc)
		c->in_fd = -1;
	else
		chr_update_watch(c);
	return rc;
}

void chr_unwatch_input(struct vm_chardev *c)
{
	if (c->in_fd >= 0)
		vm_loop_remove_fd(c->loop, c->in_fd);
	c->in_fd = -1;
}

static void kick_cb(void *opaque)
{
	struct vm_chardev *c = opaque;
	chr_deliver(c);
	chr_update_watch(c);
}

void chr_update_watch(struct vm_chardev *c)
{
	bool was = chr_device_context;
	chr_device_context = false; /* what could the front end take from the loop? */
	size_t can = fe_can_read(c);
	chr_device_context = was;
	if (c->in_len && can) {
		/* left in the buffer (a mux command met during a device's read): from the loop */
		if (!c->kick)
			c->kick = vm_timer_new(c->loop, kick_cb, c);
		if (c->kick)
			vm_timer_arm(c->kick, 0);
	}
	if (c->in_fd >= 0) /* read the host only when the buffer is empty and someone waits */
		vm_loop_set_events(c->loop, c->in_fd, c->in_len == 0 && can ? POLLIN : 0);
}

void chr_accept_generic(struct vm_chardev *c)
{
	/* hand over what is buffered; if that is all gone, look at the fd once more so a guest
	 * reading fast is not held to the event loop's polling rate */
	if (chr_deliver(c) && c->in_fd >= 0 && fe_can_read(c) > 0) {
		struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && fill(c))
			chr_deliver(c);
	}
	chr_update_watch(c);
}

static void accept_more(struct vm_chardev *c)
{
	if (c->ops->accept)
		c->ops->accept(c);
	else
		chr_accept_generic(c);
}

void vm_chr_accept_input(struct vm_chardev *c)
{
	if (c)
		accept_more(c);
}

void vm_chr_device_accept(struct vm_chardev *c, const void *fe_opaque)
{
	if (!c)
		return;
	bool was = chr_device_context;
	const void *was_fe = chr_device_fe;
	chr_device_context = true;
	chr_device_fe = fe_opaque;
	accept_more(c);
	chr_device_context = was;
	chr_device_fe = was_fe;
}

long chr_write_fd(int fd, const uint8_t *buf, size_t len)
{
	return chr_write_all(fd, buf, len, false);
}

long chr_write_all(int fd, const uint8_t *buf, size_t len, bool sock)
{
	size_t done = 0;
	int waits = 0;
	while (done < len) {
		/* a socket whose peer left reports EPIPE instead of killing us with SIGPIPE */
		ssize_t n = sock ? send(fd, buf + done, len - done, MSG_NOSIGNAL) : write(fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && waits++ < 50) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 100);
			continue;
		}
		return done ? (long)done : (n < 0 ? -errno : -EIO);
	}
	return (long)done;
}

long vm_chr_write(struct vm_chardev *c, const void *buf, size_t len)
{
	if (!c)
		return (long)len;
	if (c->log_fd >= 0) /* logfile=: a copy of everything the front ends write */
		chr_write_fd(c->log_fd, buf, len);
	return c->ops->write(c, buf, len);
}
