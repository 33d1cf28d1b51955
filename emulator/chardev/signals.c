/* signals.c - QEMU's handling of terminating signals: SIGTERM, SIGINT and SIGHUP put the
 * terminals back at once (from the handler) and are then reported to the host from the event
 * loop, which ends the VM cleanly ("terminating on signal N from pid P (name)"). Crashes put
 * the terminals back before the process dies of the signal as it would have. */
#include "emulator/chardev/internal.h"
#include "emulator/host/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t pending_sig, pending_pid;
static struct vm_loop *sig_loop;

static void on_terminate(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int e = errno;
	vm_chr_restore_terminals();
	pending_pid = si && si->si_code <= 0 ? si->si_pid : 0; /* si_code > 0: from the kernel */
	pending_sig = sig;
	char b = 1;
	ssize_t n = write(sig_pipe[1], &b, 1);
	(void)n;
	if (sig_loop)
		vm_loop_kick(sig_loop);
	errno = e;
}

static void on_fatal(int sig)
{
	vm_chr_restore_terminals();
	signal(sig, SIG_DFL);
	raise(sig);
}

void chr_check_signals(void)
{
	char buf[16];
	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
	int sig = pending_sig;
	if (!sig)
		return;
	pending_sig = 0;
	const struct vm_chr_host *h = chr_host();
	if (h->terminate)
		h->terminate(h->opaque, sig, pending_pid);
}

static void pipe_ready(void *opaque, int fd, unsigned revents)
{
	(void)opaque, (void)fd, (void)revents;
	chr_check_signals();
}

int vm_chr_install_signals(struct vm_loop *loop)
{
	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	sig_loop = loop;
	int rc = vm_loop_add_fd(loop, sig_pipe[0], POLLIN, pipe_ready, NULL);
	if (rc)
		return rc;
	struct sigaction sa = { .sa_sigaction = on_terminate, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct sigaction fa = { .sa_handler = on_fatal, .sa_flags = SA_RESETHAND };
	sigemptyset(&fa.sa_mask);
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &fa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}
