/* socket.c - unix and TCP stream back ends, server (listening, one client at a time, wait=on
 * blocks start-up until the first client) or client (connects at start-up), optionally
 * speaking telnet (option negotiation, IAC escapes, BREAK). Output without a peer is dropped,
 * as QEMU does. */
#include "emulator/chardev/internal.h"
#include "emulator/host/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sock {
	struct vm_chardev *c;
	bool server, telnet, nodelay, is_unix;
	int listen_fd, fd;
	char addr[300];  /* "unix:/p,server=on" / "tcp:h:p,server=on" / "telnet:..." */
	char peer[120];  /* " <-> 127.0.0.1:5555" for TCP */
	/* telnet input state */
	int iac;         /* 0 none, 1 after IAC, 2 after WILL/WONT/DO/DONT, 3 in SB, 4 IAC in SB */
};

#define IAC 255

static void set_filename(struct sock *s)
{
	if (s->fd >= 0)
		snprintf(s->c->filename, sizeof(s->c->filename), "%s%s", s->addr, s->peer);
	else
		snprintf(s->c->filename, sizeof(s->c->filename), "disconnected:%s", s->addr);
}

static void disconnect(struct sock *s)
{
	if (s->fd < 0)
		return;
	chr_unwatch_input(s->c);
	close(s->fd);
	s->fd = -1;
	s->c->in_len = s->c->in_head = 0;
	set_filename(s);
	if (s->listen_fd >= 0)
		vm_loop_set_events(s->c->loop, s->listen_fd, POLLIN); /* take the next client */
	chr_event_all(s->c, VM_CHR_CLOSED);
}

static long sock_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	struct sock *s = c->priv;
	if (s->fd < 0)
		return (long)len;
	long n = chr_write_fd(s->fd, buf, len);
	if (n < 0) {
		disconnect(s);
		return (long)len;
	}
	return n;
}

/* Strips telnet commands from received bytes in place; BREAK becomes a break event. */
static size_t telnet_filter(struct sock *s, uint8_t *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = buf[i];
		switch (s->iac) {
		case 0:
			if (b == IAC)
				s->iac = 1;
			else
				buf[o++] = b;
			break;
		case 1:
			s->iac = 0;
			if (b == IAC)
				buf[o++] = b;
			else if (b >= 251 && b <= 254) /* WILL WONT DO DONT: one option byte follows */
				s->iac = 2;
			else if (b == 250) /* SB ... IAC SE */
				s->iac = 3;
			else if (b == 243) /* BREAK */
				chr_event_all(s->c, VM_CHR_BREAK);
			break;
		case 2: s->iac = 0; break;
		case 3: if (b == IAC) s->iac = 4; break;
		case 4: s->iac = b == 240 ? 0 : 3; break;
		}
	}
	return o;
}

static size_t sock_filter(struct vm_chardev *c, uint8_t *buf, size_t len)
{
	struct sock *s = c->priv;
	return s->telnet ? telnet_filter(s, buf, len) : len;
}

static void sock_eof(struct vm_chardev *c)
{
	disconnect(c->priv);
}

static void peer_name(struct sock *s)
{
	s->peer[0] = 0;
	if (s->is_unix)
		return;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[64], p[16];
	if (getpeername(s->fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(s->peer, sizeof(s->peer), " <-> %s:%s", h, p);
}

static void connected(struct sock *s, int fd)
{
	s->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (!s->is_unix && s->nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (s->listen_fd >= 0)
		vm_loop_set_events(s->c->loop, s->listen_fd, 0); /* one client at a time */
	s->iac = 0;
	peer_name(s);
	set_filename(s);
	if (s->telnet) {
		/* WILL ECHO, WILL SUPPRESS-GO-AHEAD, WILL BINARY, DO BINARY: a raw character line */
		static const uint8_t nego[] = { IAC, 251, 1, IAC, 251, 3, IAC, 251, 0, IAC, 253, 0 };
		chr_write_fd(fd, nego, sizeof(nego));
	}
	chr_watch_input(s->c, fd);
	chr_event_all(s->c, VM_CHR_OPENED);
}

static void accept_ready(void *opaque, int fd, unsigned revents)
{
	struct sock *s = opaque;
	(void)revents;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (s->fd >= 0) { /* should not happen: listening is paused while connected */
		close(cfd);
		return;
	}
	connected(s, cfd);
}

static void sock_attached(struct vm_chardev *c)
{
	struct sock *s = c->priv;
	struct vm_chr_frontend *fe = &c->fe[c->nfe - 1];
	if (s->fd >= 0 && fe->event)
		fe->event(fe->opaque, VM_CHR_OPENED);
}

static void sock_close(struct vm_chardev *c)
{
	struct sock *s = c->priv;
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->listen_fd >= 0) {
		vm_loop_remove_fd(c->loop, s->listen_fd);
		close(s->listen_fd);
	}
	free(s);
	c->priv = NULL;
}

static const struct vm_chr_ops sock_ops = {
	.write = sock_write, .close = sock_close, .attached = sock_attached, .eof = sock_eof, .filter = sock_filter,
};

/* Resolves host:port for a TCP socket (numeric or by name). */
static int resolve(const char *host, const char *port, bool passive, struct addrinfo **ai, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };
	int rc = getaddrinfo(*host ? host : NULL, port, &hints, ai);
	if (rc) {
		snprintf(err, errlen, "address resolution failed for %s:%s: %s", host, port, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static int open_unix(struct sock *s, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "UNIX socket path '%s' is too long", path);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "Failed to create socket: %s", strerror(errno));
		return -errno;
	}
	if (s->server) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
			int e = errno;
			snprintf(err, errlen, "Failed to bind socket to %s: %s", path, strerror(e));
			close(fd);
			return -e;
		}
		s->listen_fd = fd;
	} else {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			int e = errno;
			snprintf(err, errlen, "Failed to connect to '%s': %s", path, strerror(e));
			close(fd);
			return -e;
		}
		s->fd = fd;
	}
	return 0;
}

static int open_tcp(struct sock *s, const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo *ai, *a;
	int rc = resolve(host, port, s->server, &ai, err, errlen), e = 0;
	if (rc)
		return rc;
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (s->server) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
			if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0) {
				s->listen_fd = fd;
				break;
			}
		} else if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			s->fd = fd;
			break;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(ai);
	if (a)
		return 0;
	if (s->server)
		snprintf(err, errlen, "Failed to bind socket: %s", strerror(e));
	else
		snprintf(err, errlen, "Failed to connect to '%s:%s': %s", host, port, strerror(e));
	return -e;
}

/* wait=on: start-up blocks until the first client (signals still end the process). */
static int wait_for_client(struct sock *s)
{
	chr_info("@info: QEMU waiting for connection on: %s", s->c->filename);
	for (;;) {
		struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };
		int n = poll(&p, 1, 100);
		if (n > 0) {
			int cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0) {
				connected(s, cfd);
				return 0;
			}
		}
		chr_check_signals(); /* SIGTERM while waiting: the host ends the process */
	}
}

int chr_socket_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	const char *path = chr_opt(o, "path"), *host = chr_opt(o, "host"), *port = chr_opt(o, "port");
	bool server, wait, telnet, nodelay;
	int rc;
	if ((rc = chr_opt_bool(o, "server", false, &server, err, errlen)) ||
	    (rc = chr_opt_bool(o, "telnet", false, &telnet, err, errlen)) ||
	    (rc = chr_opt_bool(o, "nodelay", false, &nodelay, err, errlen)) ||
	    (rc = chr_opt_bool(o, "wait", true, &wait, err, errlen)))
		return rc;
	if ((path && host) || (!path && !host && chr_opt(o, "fd"))) {
		snprintf(err, errlen, "None or one of 'path', 'fd' or 'host' option required.");
		return -EINVAL;
	}
	if (!path && !host) {
		snprintf(err, errlen, "Unable to parse FD number %s", "");
		return -EINVAL;
	}
	if (path && !*path) {
		snprintf(err, errlen, "Unable to parse FD number %s", "");
		return -EINVAL;
	}
	if (host && !port) {
		snprintf(err, errlen, "chardev: socket: no port given");
		return -EINVAL;
	}
	if (!server && chr_opt(o, "wait")) {
		snprintf(err, errlen, "'wait' option is incompatible with socket in client connect mode");
		return -EINVAL;
	}
	struct sock *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*s = (struct sock){ .c = c, .server = server, .telnet = telnet, .nodelay = nodelay, .is_unix = path != NULL,
			    .listen_fd = -1, .fd = -1 };
	c->priv = s;
	c->ops = &sock_ops;
	if (path)
		snprintf(s->addr, sizeof(s->addr), "unix:%s%s", path, server ? ",server=on" : "");
	else
		snprintf(s->addr, sizeof(s->addr), "%s:%s:%s%s", telnet ? "telnet" : "tcp", host, port,
			 server ? ",server=on" : "");
	rc = path ? open_unix(s, path, err, errlen) : open_tcp(s, host, port, err, errlen);
	if (rc)
		return rc; /* sock_close frees s when the caller unregisters c */
	set_filename(s);
	if (s->fd >= 0) {
		int fd = s->fd;
		s->fd = -1;
		connected(s, fd);
		return 0;
	}
	if ((rc = vm_loop_add_fd(c->loop, s->listen_fd, POLLIN, accept_ready, s))) {
		snprintf(err, errlen, "cannot watch the socket: %s", strerror(-rc));
		return rc;
	}
	return wait ? wait_for_client(s) : 0;
}
