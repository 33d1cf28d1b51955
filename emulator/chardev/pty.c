/* pty.c - a new pseudo-terminal whose slave a user opens (screen /dev/pts/N). We keep a raw
 * slave descriptor open ourselves, so output written before anyone connects waits in the
 * pty (what does not fit is dropped) and the master never reports a hang-up. */
#include "emulator/chardev/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

struct pty {
	int master, slave;
};

static long pty_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	struct pty *p = c->priv;
	ssize_t n = write(p->master, buf, len); /* non-blocking: a full pty drops, as QEMU's */
	(void)n;
	return (long)len;
}

static void pty_close(struct vm_chardev *c)
{
	struct pty *p = c->priv;
	if (!p)
		return;
	close(p->master);
	close(p->slave);
	free(p);
	c->priv = NULL;
}

static const struct vm_chr_ops pty_ops = { .write = pty_write, .close = pty_close };

int chr_pty_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	(void)o;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	char name[128];
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name))) {
		int e = errno;
		snprintf(err, errlen, "Failed to create PTY: %s", strerror(e));
		if (m >= 0)
			close(m);
		return -e;
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios t;
	if (s >= 0 && tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	struct pty *p = malloc(sizeof(*p));
	if (!p || s < 0) {
		snprintf(err, errlen, "Failed to create PTY: %s", strerror(s < 0 ? errno : ENOMEM));
		free(p);
		close(m);
		if (s >= 0)
			close(s);
		return -EIO;
	}
	*p = (struct pty){ m, s };
	c->priv = p;
	c->ops = &pty_ops;
	snprintf(c->filename, sizeof(c->filename), "pty:%s", name);
	chr_info("char device redirected to %s (label %s)", name, c->id);
	return chr_watch_input(c, m);
}
