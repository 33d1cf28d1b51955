/*
 * strata-nbd's event loop: every client's session runs on one thread, each as a coroutine
 * on its own stack over a non-blocking socket (started with makecontext, then switched with
 * _setjmp/_longjmp: swapcontext would cost two sigprocmask calls per switch). A session runs until its socket
 * would block, then yields to the poll loop, which resumes it when the socket is ready; the
 * engine is only ever called from this thread, so no lock is needed around it.
 */
#include "bc_nbd.h"

#include <errno.h>
#include <setjmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#define CO_STACK (1u << 20)     /* mapped lazily: untouched pages cost nothing */

struct nbd_loop;

struct nbd_co {
	jmp_buf jb;                  /* where the session resumes */
	struct nbd_loop *loop;
	struct nbd_co *next;
	int fd;
	short want;                  /* POLLIN or POLLOUT: what the session waits for */
	bool finished;
	void *stack;
	struct bc_nbd_io io;
	struct bc_nbd_sock sock;
};

struct nbd_loop {
	jmp_buf main;                /* where the loop resumes */
	ucontext_t start;            /* the loop while a session's stack is first entered */
	const struct bc_nbd_export *exp;
	struct nbd_co *sessions;
	int nclients;
	bool stopping;               /* sessions are being unwound: every wait fails */
};

/* The session's socket would block: back to the loop until it is ready. */
static int co_wait(void *arg, bool out)
{
	struct nbd_co *co = arg;

	if (co->loop->stopping)
		return -ESHUTDOWN;
	co->want = out ? POLLOUT : POLLIN;
	if (!_setjmp(co->jb))
		_longjmp(co->loop->main, 1);
	return co->loop->stopping ? -ESHUTDOWN : 0;
}

/* A session's first frame: returns to co_start at once, runs when first resumed, and ends by
 * jumping back to the loop (never returns). */
static void co_main(unsigned hi, unsigned lo)
{
	struct nbd_co *co = (struct nbd_co *)(((uintptr_t)hi << 16 << 16) | lo);
	ucontext_t here;

	if (!_setjmp(co->jb))
		swapcontext(&here, &co->loop->start);
	bc_nbd_serve(co->loop->exp, &co->io);
	bc_nbd_sock_flush(&co->sock);
	co->finished = true;
	_longjmp(co->loop->main, 1);
}

static void co_free(struct nbd_co *co)
{
	close(co->fd);
	munmap(co->stack, CO_STACK);
	free(co);
}

/* Runs co until it waits or ends; an ended session is unlinked and freed. */
static void co_resume(struct nbd_loop *l, struct nbd_co *co)
{
	if (!_setjmp(l->main))
		_longjmp(co->jb, 1);
	if (!co->finished)
		return;
	for (struct nbd_co **p = &l->sessions; *p; p = &(*p)->next) {
		if (*p == co) {
			*p = co->next;
			break;
		}
	}
	l->nclients--;
	co_free(co);
}

static int co_start(struct nbd_loop *l, int fd)
{
	struct nbd_co *co = calloc(1, sizeof(*co));
	int one = 1;

	if (!co)
		return -ENOMEM;
	co->stack = mmap(NULL, CO_STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (co->stack == MAP_FAILED) {
		free(co);
		return -ENOMEM;
	}
	mprotect(co->stack, 4096, PROT_NONE);      /* a guard page below the stack */
	co->fd = fd;
	co->loop = l;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails on unix: fine */
	bc_nbd_io_sock(&co->io, &co->sock, fd);
	co->sock.cork = true;      /* replies to requests that came together go out together */
	co->sock.wait = co_wait;
	co->sock.wait_arg = co;
	ucontext_t first;
	getcontext(&first);
	first.uc_stack.ss_sp = co->stack;
	first.uc_stack.ss_size = CO_STACK;
	first.uc_link = NULL;
	uintptr_t p = (uintptr_t)co;
	makecontext(&first, (void (*)(void))co_main, 2, (unsigned)(p >> 16 >> 16), (unsigned)p);
	swapcontext(&l->start, &first);     /* co_main saves its jmp_buf and comes back */
	co->next = l->sessions;
	l->sessions = co;
	l->nclients++;
	co_resume(l, co);
	return 0;
}

/* Whether a client came (even one whose session could not start). */
static bool accept_one(struct nbd_loop *l, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return false;
	if (co_start(l, fd) < 0)
		close(fd);
	return true;
}

/* One poll over the listening socket (when there is room) and every waiting session, then
 * the sessions whose socket is ready run. poll, not epoll: a client's send then wakes us as a
 * synchronous wake-up, which on a loaded machine halves the round trip (measured with the
 * 4k write bench: epoll took twice the wall time for the same CPU). -errno when poll failed. */
static int loop_once(struct nbd_loop *l, int lfd, bool room, bool *served)
{
	struct pollfd small[17], *p = small;
	struct nbd_co *cos_small[16], **cos = cos_small;
	int n = 0, ret = 0;

	if (l->nclients > 16) {
		p = calloc((size_t)l->nclients + 1, sizeof(*p));
		cos = calloc((size_t)l->nclients, sizeof(*cos));
		if (!p || !cos) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (struct nbd_co *co = l->sessions; co; co = co->next, n++) {
		cos[n] = co;
		p[n] = (struct pollfd){ .fd = co->fd, .events = co->want };
	}
	p[n] = (struct pollfd){ .fd = room ? lfd : -1, .events = POLLIN };
	/* bounded: a signal between the caller's check and the wait is seen within 100 ms */
	if (poll(p, (nfds_t)n + 1, 100) < 0) {
		ret = errno == EINTR ? 0 : -errno;
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (p[i].revents)
			co_resume(l, cos[i]);
	if (p[n].revents)
		*served |= accept_one(l, lfd);
out:
	if (p != small)
		free(p);
	if (cos != cos_small)
		free(cos);
	return ret;
}

int bc_nbd_serve_loop(const struct bc_nbd_export *exp, int lfd, long shared, bool persistent,
		      volatile sig_atomic_t *stop)
{
	struct nbd_loop l = { .exp = exp };
	bool served = false;
	int ret = 0;

	while (ret == 0 && !*stop && !(served && l.nclients == 0 && !persistent))
		ret = loop_once(&l, lfd, !shared || l.nclients < shared, &served);
	/* sessions still open unwind: their waits fail, they free what they hold */
	l.stopping = true;
	while (l.sessions)
		co_resume(&l, l.sessions);
	return ret;
}
