/* dump.c - `-object filter-dump`: every frame a netdev sends or receives, appended to a pcap
 * file (libpcap's format: 24-byte header, then a 16-byte record header per frame; Ethernet
 * link type, snapshot length `maxlen`), as QEMU's dump filter writes it. */
#include "emulator/net/dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

int vm_net_dump_open(struct vm_net_dump *d, const char *file, uint32_t maxlen, char *err, size_t errlen)
{
	uint8_t h[24] = { 0 };
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "net dump: can't open %s: %s", file, strerror(e));
		return -e;
	}
	le32(h, 0xa1b2c3d4);
	h[4] = 2, h[6] = 4; /* version 2.4 */
	le32(h + 16, maxlen);
	le32(h + 20, 1); /* LINKTYPE_ETHERNET */
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h)) {
		int e = errno ? errno : EIO;
		snprintf(err, errlen, "net dump write error: %s", strerror(e));
		close(fd);
		return -e;
	}
	d->fd = fd;
	d->maxlen = maxlen;
	return 0;
}

void vm_net_dump_frame(struct vm_net_dump *d, const uint8_t *frame, size_t len)
{
	if (d->fd < 0)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint32_t caplen = len < d->maxlen ? (uint32_t)len : d->maxlen;
	uint8_t h[16];
	le32(h, (uint32_t)tv.tv_sec);
	le32(h + 4, (uint32_t)tv.tv_usec);
	le32(h + 8, caplen);
	le32(h + 12, (uint32_t)len);
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)frame, caplen } };
	if (writev(d->fd, iov, 2) != (ssize_t)(sizeof(h) + caplen)) {
		close(d->fd); /* QEMU stops dumping after a write error too */
		d->fd = -1;
	}
}

void vm_net_dump_close(struct vm_net_dump *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
