/* minimal.c - TEMPORARY, monitor branch only: the smallest part of chardev.h the monitor's
 * tests need (unix:PATH,server[,nowait] sockets), until the chardev branch's real back ends
 * land on main. DELETE THIS FILE when merging the chardev implementation: it defines the
 * same vm_chr_* symbols. */
#include "emulator/chardev/chardev.h"
#include "emulator/host/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vm_chardev {
	struct vm_loop *loop;
	char label[64], filename[160], path[108];
	int listen_fd, fd;
	struct vm_chr_frontend fe;
	bool has_fe;
	struct vm_chardev *next;
};

static struct vm_chardev *chardevs;

void vm_chr_set_host(const struct vm_chr_host *h)
{
	(void)h;
}

int vm_chr_new_opts(struct vm_loop *loop, const char *opts, struct vm_chardev **out, char *err, size_t errlen)
{
	(void)loop, (void)out;
	snprintf(err, errlen, "-chardev %s: not available in this build", opts);
	return -ENOTSUP;
}

static void client_cb(void *opaque, int fd, unsigned revents);

static void drop_client(struct vm_chardev *c)
{
	vm_loop_remove_fd(c->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->has_fe && c->fe.event)
		c->fe.event(c->fe.opaque, VM_CHR_CLOSED);
	vm_loop_set_events(c->loop, c->listen_fd, POLLIN);
}

static void client_cb(void *opaque, int fd, unsigned revents)
{
	struct vm_chardev *c = opaque;
	uint8_t buf[4096];
	(void)revents;
	size_t room = c->has_fe ? c->fe.can_read(c->fe.opaque) : sizeof(buf);
	if (room > sizeof(buf))
		room = sizeof(buf);
	if (!room)
		return;
	ssize_t n = read(fd, buf, room);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop_client(c);
		return;
	}
	if (c->has_fe)
		c->fe.read(c->fe.opaque, buf, (size_t)n);
}

static void listen_cb(void *opaque, int fd, unsigned revents)
{
	struct vm_chardev *c = opaque;
	(void)revents;
	int cfd = accept(fd, NULL, NULL);
	if (cfd < 0)
		return;
	if (c->fd >= 0) { /* one client at a time, as QEMU's socket back end */
		close(cfd);
		return;
	}
	c->fd = cfd;
	vm_loop_set_events(c->loop, c->listen_fd, 0);
	vm_loop_add_fd(c->loop, cfd, POLLIN, client_cb, c);
	if (c->has_fe && c->fe.event)
		c->fe.event(c->fe.opaque, VM_CHR_OPENED);
}

int vm_chr_new_legacy(struct vm_loop *loop, const char *spec, const char *label, struct vm_chardev **out,
		      char *err, size_t errlen)
{
	*out = NULL;
	if (!strcmp(spec, "none"))
		return 0;
	if (strncmp(spec, "unix:", 5) != 0) {
		snprintf(err, errlen, "'%s': only unix:PATH,server,nowait is available in this build", spec);
		return -ENOTSUP;
	}
	char path[108];
	const char *p = spec + 5, *comma = strchr(p, ',');
	size_t n = comma ? (size_t)(comma - p) : strlen(p);
	if (n >= sizeof(path)) {
		snprintf(err, errlen, "'%s': path too long", spec);
		return -ENAMETOOLONG;
	}
	memcpy(path, p, n);
	path[n] = 0;
	struct vm_chardev *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, n + 1);
	memcpy(c->path, path, n + 1);
	unlink(path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c->listen_fd, 1)) {
		int e = errno;
		snprintf(err, errlen, "Failed to bind socket to %s: %s", path, strerror(e));
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		unlink(c->path); /* as QEMU, the server's socket goes at exit */
		free(c);
		return -e;
	}
	c->loop = loop;
	c->fd = -1;
	snprintf(c->label, sizeof(c->label), "%s", label);
	snprintf(c->filename, sizeof(c->filename), "unix:%s,server=on", path);
	vm_loop_add_fd(loop, c->listen_fd, POLLIN, listen_cb, c);
	c->next = chardevs;
	chardevs = c;
	*out = c;
	return 0;
}

struct vm_chardev *vm_chr_find(const char *id)
{
	for (struct vm_chardev *c = chardevs; c; c = c->next)
		if (!strcmp(c->label, id))
			return c;
	return NULL;
}

int vm_chr_attach(struct vm_chardev *c, const struct vm_chr_frontend *fe)
{
	if (c->has_fe)
		return -EBUSY;
	c->fe = *fe;
	c->has_fe = true;
	return 0;
}

void vm_chr_accept_input(struct vm_chardev *c)
{
	(void)c;
}

long vm_chr_write(struct vm_chardev *c, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (c->fd >= 0 && done < len) {
		ssize_t n = send(c->fd, p + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (long)len; /* peer gone: dropped */
		done += (size_t)n;
	}
	return (long)len;
}

void vm_chr_mux_focus(struct vm_chardev *c, int index)
{
	(void)c, (void)index;
}

void vm_chr_foreach(void (*fn)(void *opaque, const char *label, const char *filename), void *opaque)
{
	for (struct vm_chardev *c = chardevs; c; c = c->next)
		fn(opaque, c->label, c->filename);
}

void vm_chr_restore_terminals(void)
{
}

void vm_chr_free_all(void)
{
	while (chardevs) {
		struct vm_chardev *c = chardevs;
		chardevs = c->next;
		if (c->fd >= 0)
			close(c->fd);
		close(c->listen_fd);
		unlink(c->path); /* as QEMU, the server's socket goes at exit */
		free(c);
	}
}
