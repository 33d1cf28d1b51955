/*
 * strata-nbd's event loop: every client's session runs on one thread, each as a coroutine on
 * its own stack over a non-blocking socket (started with makecontext, then switched with
 * _setjmp/_longjmp: swapcontext would cost two sigprocmask calls per switch). A session runs
 * until it must wait for its socket, then yields to the loop: an io_uring where the kernel
 * allows one (its receives are ring requests, so one io_uring_enter submits and waits for
 * every session), else poll(2). The engine is only ever called from this thread, so no lock
 * is needed around it.
 */
#include "bc_nbd.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <liburing.h>
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
	int res;                     /* io_uring: the result of what it waited for */
	bool finished;
	void *stack;
	struct bc_nbd_io io;
	struct bc_nbd_sock sock;
};

struct nbd_loop {
	jmp_buf main;                /* where the loop resumes */
	ucontext_t start;            /* the loop while a session's stack is first entered */
	const struct bc_nbd_export *exp;
	bool uring;                  /* waits go through ring (else through poll(2)) */
	bool lfd_armed;              /* ring: a poll of the listening socket is pending */
	bool shared_full;            /* as many sessions as -e allows: no accept */
	struct io_uring ring;
	struct nbd_co *sessions;
	int nclients;
	bool stopping;               /* sessions are being unwound: every wait fails */
};

/* Back to the loop until it resumes us. */
static void co_yield(struct nbd_co *co)
{
	if (!_setjmp(co->jb))
		_longjmp(co->loop->main, 1);
}

/* An SQE for co's next wait (NULL only when the ring cannot take one even after a submit). */
static struct io_uring_sqe *co_sqe(struct nbd_co *co)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&co->loop->ring);

	if (!sqe && io_uring_submit(&co->loop->ring) >= 0)
		sqe = io_uring_get_sqe(&co->loop->ring);
	if (sqe)
		io_uring_sqe_set_data(sqe, co);
	return sqe;
}

/* The session's socket would block: back to the loop until it is ready. */
static int co_wait(void *arg, bool out)
{
	struct nbd_co *co = arg;

	if (co->loop->stopping)
		return -ESHUTDOWN;
	co->want = out ? POLLOUT : POLLIN;
	if (co->loop->uring) {
		struct io_uring_sqe *sqe = co_sqe(co);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_poll_add(sqe, co->fd, (unsigned)co->want);
	}
	co_yield(co);
	return co->loop->stopping ? -ESHUTDOWN : 0;
}

/* With the ring, a receive is one request the loop submits and waits for together with every
 * other session's: one system call per round instead of a failed recv, a poll and a recv. */
static ssize_t co_recv(void *arg, void *buf, size_t len)
{
	struct nbd_co *co = arg;
	struct io_uring_sqe *sqe;

	if (co->loop->stopping)
		return -ESHUTDOWN;
	if (!(sqe = co_sqe(co)))
		return -EBUSY;
	io_uring_prep_recv(sqe, co->fd, buf, len, 0);
	co_yield(co);
	return co->loop->stopping ? -ESHUTDOWN : co->res;
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
	co->sock.recv = l->uring ? co_recv : NULL;
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
 * the sessions whose socket is ready run (the fallback without io_uring; poll, as epoll took
 * about twice the wall time in the 4k write bench on a loaded machine). -errno when poll
 * failed. */
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

/* The ring's round: the listening socket's poll armed when there is room, everything queued
 * submitted, then the sessions whose requests completed run. */
static int uring_once(struct nbd_loop *l, int lfd, bool room, bool *served)
{
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };   /* see loop_once */
	struct io_uring_cqe *cqe, *cqes[64];
	struct { void *who; int res; } done[64];

	if (room && !l->lfd_armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
		if (sqe) {
			io_uring_prep_poll_add(sqe, lfd, POLLIN);
			io_uring_sqe_set_data(sqe, NULL);
			l->lfd_armed = true;
		}
	}
	int ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	/* copied out first: the sessions run below queue new requests */
	unsigned n = io_uring_peek_batch_cqe(&l->ring, cqes, 64);
	for (unsigned i = 0; i < n; i++)
		done[i].who = io_uring_cqe_get_data(cqes[i]), done[i].res = cqes[i]->res;
	io_uring_cq_advance(&l->ring, n);
	for (unsigned i = 0; i < n; i++) {
		struct nbd_co *co = done[i].who;
		if (co) {
			co->res = done[i].res;
			co_resume(l, co);
		} else {
			l->lfd_armed = false;
			if (!l->shared_full)
				*served |= accept_one(l, lfd);
		}
	}
	return 0;
}

int bc_nbd_serve_loop(const struct bc_nbd_export *exp, int lfd, long shared, bool persistent,
		      volatile sig_atomic_t *stop)
{
	struct nbd_loop l = { .exp = exp };
	bool served = false;
	int ret = 0;

	/* a client that left between the poll and the accept must not block the loop */
	int fl = fcntl(lfd, F_GETFL);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	/* io_uring where the kernel lets us, else poll(2) */
	l.uring = !exp->no_uring && io_uring_queue_init(256, &l.ring, 0) == 0;
	while (ret == 0 && !*stop && !(served && l.nclients == 0 && !persistent)) {
		bool room = !shared || l.nclients < shared;
		l.shared_full = !room;
		ret = l.uring ? uring_once(&l, lfd, room, &served) : loop_once(&l, lfd, room, &served);
	}
	/* sessions still open unwind: their waits fail, they free what they hold (the ring goes
	 * first: nothing may still receive into their buffers) */
	l.stopping = true;
	if (l.uring)
		io_uring_queue_exit(&l.ring);
	while (l.sessions)
		co_resume(&l, l.sessions);
	return ret;
}
