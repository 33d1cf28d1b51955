/*
 * Opening client connections for the NBD back end: the socket (unix or TCP) and the
 * handshake. Extra connections of a multi-conn export open with a time limit, as a server
 * at its client limit accepts the socket but never greets.
 */
#include "nbd-client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_unix(const struct nbd_target *t, struct bc_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	strcpy(sa.sun_path, t->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = t->path[0] ? errno : ECONNREFUSED;
	if (fd >= 0)
		close(fd);
	return bc_err_set(err, -e, "Failed to connect to '%s': %s", t->path, strerror(e));
}

int nbd_connect_target(const struct nbd_target *t, struct bc_err *err)
{
	if (t->is_unix)
		return connect_unix(t, err);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, e = 0, g = getaddrinfo(t->host, t->port, &hints, &res);
	if (g)
		return bc_err_set(err, -EINVAL, "address resolution failed for %s:%s: %s", t->host,
				  t->port, gai_strerror(g));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return bc_err_set(err, -e, "Failed to connect to '%s:%s': %s", t->host, t->port,
				  strerror(e));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void set_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int nbd_conn_open(struct nbd_conn **out, const struct nbd_target *t, int timeout_ms,
		  struct bc_err *err)
{
	struct nbd_conn *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	k->c.fd = nbd_connect_target(t, err);
	if (k->c.fd < 0) {
		ret = k->c.fd;
		free(k);
		return ret;
	}
	bc_nbd_io_sock(&k->c.io, &k->sock, k->c.fd);
	if (timeout_ms)
		set_timeout(k->c.fd, timeout_ms);
	ret = nbd_client_handshake(&k->c, t->name, err);
	if (ret < 0) {
		close(k->c.fd);
		free(k);
		return ret;
	}
	if (timeout_ms)
		set_timeout(k->c.fd, 0);
	*out = k;
	return 0;
}
