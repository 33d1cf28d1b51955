/* stdio.c - the terminal back end: input from fd 0, output to fd 1. On a tty it switches the
 * terminal to raw mode as QEMU does (no echo, no line editing, Ctrl-C a signal only with
 * signal=on) and puts it back on every exit path (vm_chr_restore_terminals). */
#include "emulator/chardev/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAX_TERMS 4

static struct saved_term {
	int fd;
	struct termios tio;
} saved[MAX_TERMS];
static volatile int nsaved;
static bool stdio_used;

bool vm_chr_stdio_in_use(void)
{
	return stdio_used;
}

/* Async-signal-safe: tcsetattr is, and the table only grows before any signal can matter. */
void vm_chr_restore_terminals(void)
{
	for (int i = 0; i < nsaved; i++)
		tcsetattr(saved[i].fd, TCSANOW, &saved[i].tio);
}

static void restore_at_exit(void)
{
	vm_chr_restore_terminals();
}

void chr_term_save(int fd)
{
	static bool registered;
	for (int i = 0; i < nsaved; i++)
		if (saved[i].fd == fd)
			return;
	if (nsaved == MAX_TERMS || tcgetattr(fd, &saved[nsaved].tio))
		return;
	saved[nsaved].fd = fd;
	nsaved = nsaved + 1;
	if (!registered) {
		registered = true;
		atexit(restore_at_exit);
	}
}

static void set_raw(int fd, bool allow_signals)
{
	struct termios t;
	if (tcgetattr(fd, &t))
		return;
	chr_term_save(fd);
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag |= OPOST; /* "\n" still becomes "\r\n" on the terminal, as with QEMU */
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	if (!allow_signals)
		t.c_lflag &= ~(tcflag_t)ISIG;
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(fd, TCSANOW, &t);
}

static long stdio_write(struct vm_chardev *c, const uint8_t *buf, size_t len)
{
	(void)c;
	long n = chr_write_fd(STDOUT_FILENO, buf, len);
	return n < 0 ? (long)len : n; /* a closed stdout: output goes nowhere, the guest goes on */
}

static void stdio_close(struct vm_chardev *c)
{
	(void)c;
	vm_chr_restore_terminals();
	stdio_used = false;
}

static const struct vm_chr_ops stdio_ops = { .write = stdio_write, .close = stdio_close };

int chr_stdio_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen)
{
	bool sig;
	int rc = chr_opt_bool(o, "signal", true, &sig, err, errlen);
	if (rc)
		return rc;
	if (stdio_used) {
		snprintf(err, errlen, "cannot use stdio by multiple character devices");
		return -EBUSY;
	}
	stdio_used = true;
	c->ops = &stdio_ops;
	if (isatty(STDIN_FILENO))
		set_raw(STDIN_FILENO, sig);
	rc = chr_watch_input(c, STDIN_FILENO);
	if (rc) {
		snprintf(err, errlen, "cannot watch stdin: %s", strerror(-rc));
		stdio_used = false;
	}
	return rc;
}
