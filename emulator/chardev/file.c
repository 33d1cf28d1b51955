/* file.c - back ends on plain files: file (output only), pipe (PATH.in/PATH.out FIFOs, or
 * PATH both ways) and null (takes all output, never has input). */
#include "emulator/chardev/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fdpair {
	int in, out;
};

static long fd_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	struct fdpair *f = c->priv;
	long n = chr_write_fd(f->out, buf, len);
	return n < 0 ? (long)len : n;
}

static void fd_close(struct vm_chardev *c)
{
	struct fdpair *f = c->priv;
	if (!f)
		return;
	if (f->in >= 0 && f->in != f->out)
		close(f->in);
	if (f->out >= 0)
		close(f->out);
	free(f);
	c->priv = NULL;
}

static const struct vm_chr_ops fd_ops = { .write = fd_write, .close = fd_close };

static int open_err(const char *path, char *err, size_t errlen)
{
	int e = errno;
	snprintf(err, errlen, "Could not open '%s': %s", path, strerror(e));
	return -e;
}

static int setup(struct vm_chardev *c, int in, int out, char *err, size_t errlen)
{
	struct fdpair *f = malloc(sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*f = (struct fdpair){ in, out };
	c->priv = f;
	c->ops = &fd_ops;
	return in >= 0 ? chr_watch_input(c, in) : 0;
}

int chr_file_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	const char *path = chr_opt(o, "path");
	bool append;
	int rc = chr_opt_bool(o, "append", false, &append, err, errlen);
	if (rc)
		return rc;
	if (!path) {
		snprintf(err, errlen, "chardev: file: no filename given");
		return -EINVAL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
	if (fd < 0)
		return open_err(path, err, errlen);
	snprintf(c->filename, sizeof(c->filename), "file");
	if ((rc = setup(c, -1, fd, err, errlen)))
		close(fd);
	return rc;
}

int chr_pipe_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	const char *path = chr_opt(o, "path");
	if (!path) {
		snprintf(err, errlen, "chardev: pipe: no device path given");
		return -EINVAL;
	}
	char pin[4200], pout[4200];
	snprintf(pin, sizeof(pin), "%s.in", path);
	snprintf(pout, sizeof(pout), "%s.out", path);
	int in = open(pin, O_RDWR | O_NONBLOCK | O_CLOEXEC), out = open(pout, O_RDWR | O_CLOEXEC);
	if (in < 0 || out < 0) {
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		in = out = open(path, O_RDWR | O_CLOEXEC);
		if (in < 0)
			return open_err(path, err, errlen);
	}
	snprintf(c->filename, sizeof(c->filename), "pipe");
	int rc = setup(c, in, out, err, errlen);
	if (rc) {
		if (in != out)
			close(in);
		close(out);
	}
	return rc;
}

static long null_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	(void)c, (void)buf;
	return (long)len;
}

static const struct vm_chr_ops null_ops = { .write = null_write };

int chr_null_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	(void)o, (void)err, (void)errlen;
	c->ops = &null_ops;
	return 0;
}
