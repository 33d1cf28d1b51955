/*
 * strata-nbd's event loop: every client's session runs on one thread, each as a coroutine
 * (ucontext) on its own stack over a non-blocking socket. A session runs until its socket
 * would block, then yields to the epoll loop, which resumes it when the socket is ready; the
 * engine is only ever called from this thread, so no lock is needed around it.
 */
#include "bc_nbd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#define CO_STACK (1u << 20)     /* mapped lazily: untouched pages cost nothing */

struct nbd_loop;

struct nbd_co {
	ucontext_t ctx;
	struct nbd_loop *loop;
	struct nbd_co *next;
	int fd;
	uint32_t want;               /* EPOLLIN or EPOLLOUT: what the session waits for */
	bool finished;
	void *stack;
	struct bc_nbd_io io;
	struct bc_nbd_sock sock;
};

struct nbd_loop {
	ucontext_t main;
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
	co->want = out ? EPOLLOUT : EPOLLIN;
	swapcontext(&co->ctx, &co->loop->main);
	return co->loop->stopping ? -ESHUTDOWN : 0;
}

static void co_main(unsigned hi, unsigned lo)
{
	struct nbd_co *co = (struct nbd_co *)(((uintptr_t)hi << 16 << 16) | lo);

	bc_nbd_serve(co->loop->exp, &co->io);
	bc_nbd_sock_flush(&co->sock);
	co->finished = true;       /* uc_link returns to the loop */
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
	swapcontext(&l->main, &co->ctx);
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

static int co_start(struct nbd_loop *l, int epfd, int fd)
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
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = co };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		co_free(co);
		return -e;
	}
	getcontext(&co->ctx);
	co->ctx.uc_stack.ss_sp = co->stack;
	co->ctx.uc_stack.ss_size = CO_STACK;
	co->ctx.uc_link = &l->main;
	uintptr_t p = (uintptr_t)co;
	makecontext(&co->ctx, (void (*)(void))co_main, 2, (unsigned)(p >> 16 >> 16), (unsigned)p);
	co->next = l->sessions;
	l->sessions = co;
	l->nclients++;
	co_resume(l, co);
	return 0;
}

/* One event for a session: resumed when what it waits for (or an error/hang-up) arrived. */
static void co_event(struct nbd_loop *l, struct nbd_co *co, uint32_t events)
{
	if (events & (co->want | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		co_resume(l, co);
}

/* Whether a client came (even one whose session could not start). */
static bool accept_one(struct nbd_loop *l, int epfd, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return false;
	if (co_start(l, epfd, fd) < 0)
		close(fd);
	return true;
}

static void set_listening(int epfd, int lfd, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = NULL };

	epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev);
}

int bc_nbd_serve_loop(const struct bc_nbd_export *exp, int lfd, long shared, bool persistent,
		      volatile sig_atomic_t *stop)
{
	struct nbd_loop l = { .exp = exp };
	struct epoll_event evs[64];
	bool served = false, listening = true;
	int epfd = epoll_create1(EPOLL_CLOEXEC), ret = 0;

	if (epfd < 0)
		return -errno;
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		ret = -errno;
		close(epfd);
		return ret;
	}
	while (!*stop && !(served && l.nclients == 0 && !persistent)) {
		bool room = !shared || l.nclients < shared;
		if (room != listening)
			set_listening(epfd, lfd, listening = room);
		/* bounded: a signal between the check and the wait is seen within 100 ms */
		int n = epoll_wait(epfd, evs, 64, 100);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr) {
				co_event(&l, evs[i].data.ptr, evs[i].events);
			} else if (!shared || l.nclients < shared) {
				served |= accept_one(&l, epfd, lfd);
			}
		}
	}
	/* sessions still open unwind: their waits fail, they free what they hold */
	l.stopping = true;
	while (l.sessions)
		co_resume(&l, l.sessions);
	close(epfd);
	return ret;
}
