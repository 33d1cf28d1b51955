/* The NBD wire format: request encoding, error numbers, and the socket transport. */
#include "nbd-proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket call failed with errno: 0 to try again (EINTR, or it would block and its owner
 * waited until it may be ready), or -errno (EAGAIN when nobody waits). */
static int sock_retry(const struct bc_nbd_sock *s, bool out)
{
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return s && s->wait ? s->wait(s->wait_arg, out) : -EAGAIN;
}

/* One recv of up to len bytes (len > 0): how many arrived, -ECONNRESET at the end of the
 * stream, or -errno (EINTR is retried; EAGAIN waits through s when it can). */
static ssize_t recv_once(int fd, void *buf, size_t len, const struct bc_nbd_sock *s)
{
	for (;;) {
		ssize_t n;
		if (s && s->recv) {            /* the owner's recv: -errno on errors */
			n = s->recv(s->wait_arg, buf, len);
			errno = n < 0 ? (int)-n : 0;
			n = n < 0 ? -1 : n;
		} else {
			n = recv(fd, buf, len, 0);
		}
		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		int ret = sock_retry(s, false);
		if (ret < 0)
			return ret;
	}
}

static int fd_recv_all(int fd, void *buf, size_t len, const struct bc_nbd_sock *s)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv_once(fd, p, len, s);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_recv(void *opaque, void *buf, size_t len)
{
	return fd_recv_all(*(int *)opaque, buf, len, NULL);
}

static int send_all(int fd, const void *buf, size_t len, const struct bc_nbd_sock *s)
{
	const uint8_t *p = buf;

	while (len) {
		/* MSG_NOSIGNAL: a client that went away is an error here, not a SIGPIPE */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			int ret = sock_retry(s, true);
			if (ret < 0)
				return ret;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_send(void *opaque, const void *buf, size_t len)
{
	return send_all(*(int *)opaque, buf, len, NULL);
}

/* sendmsg until every buffer went out (iov is copied: partial sends move through it). */
static int fd_sendv_fd(int fd, const struct iovec *iov, int n, const struct bc_nbd_sock *s)
{
	struct iovec v[16];
	struct msghdr m = { .msg_iov = v };

	if (n > 16)
		return -EINVAL;
	memcpy(v, iov, sizeof(*v) * (size_t)n);
	m.msg_iovlen = (size_t)n;
	while (m.msg_iovlen) {
		ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (r < 0) {
			int ret = sock_retry(s, true);
			if (ret < 0)
				return ret;
			continue;
		}
		while (m.msg_iovlen && (size_t)r >= m.msg_iov->iov_len) {
			r -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + r;
			m.msg_iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int fd_sendv(void *opaque, const struct iovec *iov, int n)
{
	return fd_sendv_fd(*(int *)opaque, iov, n, NULL);
}

void bc_nbd_io_fd(struct bc_nbd_io *io, int *fd)
{
	io->recv = fd_recv;
	io->send = fd_send;
	io->sendv = fd_sendv;
	io->opaque = fd;
}

int bc_nbd_sock_flush(struct bc_nbd_sock *s)
{
	int ret = s->out_len ? send_all(s->fd, s->out, s->out_len, s) : 0;

	s->out_len = 0;
	return ret;
}

/* A payload's rest straight into its buffer, with what follows it (the next header and a
 * little more) into the socket buffer in the same recvmsg: one syscall a reply, and no copy
 * of the payload through the buffer. The buffer is empty here. */
static int recv_payload(struct bc_nbd_sock *s, uint8_t *p, size_t len)
{
	while (len) {
		struct iovec v[2] = { { p, len }, { s->buf, NBD_SOCK_TAIL } };
		struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
		ssize_t n = recvmsg(s->fd, &m, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			int ret = sock_retry(s, false);
			if (ret < 0)
				return ret;
			continue;
		}
		if ((size_t)n > len) {
			s->pos = 0;
			s->end = (size_t)n - len;
			return 0;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sock_recv(void *opaque, void *buf, size_t len)
{
	struct bc_nbd_sock *s = opaque;
	bool payload = len >= sizeof(s->buf) / 2;
	uint8_t *p = buf;
	int ret;

	/* after a payload, the next one likely follows its header: a buffered recv takes no
	 * more than a little past that header (small replies keep the whole buffer) */
	if (len >= 64)
		s->big = payload;
	while (len) {
		if (s->pos < s->end) {
			size_t n = s->end - s->pos < len ? s->end - s->pos : len;
			memcpy(p, s->buf + s->pos, n);
			s->pos += n;
			p += n;
			len -= n;
			continue;
		}
		if ((ret = bc_nbd_sock_flush(s)) < 0)
			return ret;
		if (payload && !s->recv)
			return recv_payload(s, p, len);
		if (payload)
			return fd_recv_all(s->fd, p, len, s);   /* a payload: no copy through the buffer */
		ssize_t n = recv_once(s->fd, s->buf, s->big && !s->recv ? NBD_SOCK_TAIL : sizeof(s->buf),
				      s);
		if (n < 0)
			return (int)n;
		s->pos = 0;
		s->end = (size_t)n;
	}
	return 0;
}

static int sock_sendv(void *opaque, const struct iovec *iov, int n)
{
	struct bc_nbd_sock *s = opaque;
	size_t total = 0;
	int ret;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (s->cork && total <= sizeof(s->out) - s->out_len) {
		for (int i = 0; i < n; i++) {
			memcpy(s->out + s->out_len, iov[i].iov_base, iov[i].iov_len);
			s->out_len += iov[i].iov_len;
		}
		return 0;
	}
	if (s->out_len) {
		/* what waits goes first, in the same sendmsg */
		struct iovec v[9] = { { s->out, s->out_len } };
		if (n > 8)
			return -EINVAL;
		memcpy(v + 1, iov, sizeof(*v) * (size_t)n);
		s->out_len = 0;
		return fd_sendv_fd(s->fd, v, n + 1, s);
	}
	ret = fd_sendv_fd(s->fd, iov, n, s);
	return ret;
}

static int sock_send(void *opaque, const void *buf, size_t len)
{
	const struct iovec v = { (void *)buf, len };

	return sock_sendv(opaque, &v, 1);
}

void bc_nbd_io_sock(struct bc_nbd_io *io, struct bc_nbd_sock *s, int fd)
{
	s->fd = fd;
	s->pos = s->end = s->out_len = 0;
	s->cork = false;
	s->big = false;
	s->wait = NULL;
	s->recv = NULL;
	s->wait_arg = NULL;
	io->recv = sock_recv;
	io->send = sock_send;
	io->sendv = sock_sendv;
	io->opaque = s;
}

void nbd_encode_request(uint8_t out[NBD_REQUEST_SIZE], const struct nbd_request *r)
{
	nbd_put32(out, NBD_MAGIC_REQUEST);
	nbd_put16(out + 4, r->flags);
	nbd_put16(out + 6, r->type);
	nbd_put64(out + 8, r->handle);
	nbd_put64(out + 16, r->off);
	nbd_put32(out + 24, r->len);
}

int nbd_decode_request(const uint8_t in[NBD_REQUEST_SIZE], struct nbd_request *r)
{
	if (nbd_get32(in) != NBD_MAGIC_REQUEST)
		return -EINVAL;
	r->flags = nbd_get16(in + 4);
	r->type = nbd_get16(in + 6);
	r->handle = nbd_get64(in + 8);
	r->off = nbd_get64(in + 16);
	r->len = nbd_get32(in + 24);
	return 0;
}

uint32_t nbd_errno_to_wire(int err)
{
	switch (err) {
	case 0: return 0;
	case EPERM: case EROFS: return NBD_EPERM;
	case ENOMEM: return NBD_ENOMEM;
	case EINVAL: return NBD_EINVAL;
	case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
	case EOVERFLOW: return NBD_EOVERFLOW;
	case ENOTSUP: return NBD_ENOTSUP;
	case ESHUTDOWN: return NBD_ESHUTDOWN;
	default: return NBD_EIO;
	}
}

int nbd_wire_to_errno(uint32_t err)
{
	switch (err) {
	case NBD_EPERM: return EPERM;
	case NBD_ENOMEM: return ENOMEM;
	case NBD_EINVAL: return EINVAL;
	case NBD_ENOSPC: return ENOSPC;
	case NBD_EOVERFLOW: return EOVERFLOW;
	case NBD_ENOTSUP: return ENOTSUP;
	case NBD_ESHUTDOWN: return ESHUTDOWN;
	default: return EIO;   /* the spec: unknown values are treated as EINVAL or EIO */
	}
}

int nbd_send_u32(const struct bc_nbd_io *io, uint32_t v)
{
	uint8_t b[4];

	nbd_put32(b, v);
	return io->send(io->opaque, b, 4);
}

int nbd_send_u64(const struct bc_nbd_io *io, uint64_t v)
{
	uint8_t b[8];

	nbd_put64(b, v);
	return io->send(io->opaque, b, 8);
}

int nbd_recv_u16(const struct bc_nbd_io *io, uint16_t *v)
{
	uint8_t b[2];
	int ret = io->recv(io->opaque, b, 2);

	*v = ret ? 0 : nbd_get16(b);
	return ret;
}

int nbd_recv_u32(const struct bc_nbd_io *io, uint32_t *v)
{
	uint8_t b[4];
	int ret = io->recv(io->opaque, b, 4);

	*v = ret ? 0 : nbd_get32(b);
	return ret;
}

int nbd_recv_u64(const struct bc_nbd_io *io, uint64_t *v)
{
	uint8_t b[8];
	int ret = io->recv(io->opaque, b, 8);

	*v = ret ? 0 : nbd_get64(b);
	return ret;
}

int nbd_skip(const struct bc_nbd_io *io, uint64_t len)
{
	uint8_t b[4096];
	int ret = 0;

	while (len && ret == 0) {
		size_t n = len < sizeof(b) ? (size_t)len : sizeof(b);
		ret = io->recv(io->opaque, b, n);
		len -= n;
	}
	return ret;
}
