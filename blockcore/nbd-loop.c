/*
 * strata-nbd's event loop: every client's session runs on one thread as two tasks, each a
 * coroutine on its own stack over the session's non-blocking socket (started with
 * makecontext, then switched with _setjmp/_longjmp: swapcontext would cost two sigprocmask
 * calls per switch): one reads and starts requests, one sends replies (nbd-server-cmd.c). A
 * task runs until it must wait for its socket or for work, then yields to the loop: an
 * io_uring where the kernel allows one (its receives are ring requests, so one io_uring_enter
 * submits and waits for every session), else poll(2). The loop also waits on the engine's
 * completion descriptor (bc_aio_fd) and delivers what completed. The engine is only ever
 * called from this thread, so no lock is needed around it.
 */
#include "nbd-server.h"

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
struct nbd_sess;

/* One task: a coroutine on its own stack. */
struct nbd_co {
	jmp_buf jb;                  /* where the task resumes */
	struct nbd_sess *sess;
	struct nbd_co *run_next;     /* on the loop's run list */
	short want;                  /* poll(2): POLLIN or POLLOUT, what the task waits for */
	int res;                     /* io_uring: the result of what it waited for */
	bool finished;
	bool sleeping;               /* in task_sleep: only a wake resumes it */
	bool runnable;               /* on the run list */
	void *stack;
	void (*fn)(void *arg);
	void *fnarg;
};

/* One client: the task that reads requests (co[0], which also ran the handshake) and the one
 * that sends replies (co[1], from transmission on), each with its own socket buffer. */
struct nbd_sess {
	struct nbd_loop *loop;
	struct nbd_sess *next;
	int fd;
	bool dead;                   /* ended: freed at the end of the loop's round */
	struct nbd_co *co[2];
	struct nbd_tasks tasks;
	struct bc_nbd_io io, rio;
	struct bc_nbd_sock sock, rsock;
};

struct nbd_loop {
	jmp_buf main;                /* where the loop resumes */
	ucontext_t start;            /* the loop while a task's stack is first entered */
	const struct bc_nbd_export *exp;
	bool uring;                  /* waits go through ring (else through poll(2)) */
	bool lfd_armed;              /* ring: a poll of the listening socket is pending */
	bool efd_armed;              /* ring: a poll of the engine's completions is pending */
	bool shared_full;            /* as many sessions as -e allows: no accept */
	int efd;                     /* the engine's completion descriptor (bc_aio_fd), or -1 */
	struct io_uring ring;
	struct nbd_sess *sessions;
	struct nbd_co *run_head, *run_tail;
	int nclients;
	bool stopping;               /* sessions are being unwound: every wait fails */
};

/* Back to the loop until it resumes us. */
static void co_yield(struct nbd_co *co)
{
	if (!_setjmp(co->jb))
		_longjmp(co->sess->loop->main, 1);
}

/* An SQE for co's next wait (NULL only when the ring cannot take one even after a submit). */
static struct io_uring_sqe *co_sqe(struct nbd_co *co)
{
	struct io_uring *ring = &co->sess->loop->ring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe && io_uring_submit(ring) >= 0)
		sqe = io_uring_get_sqe(ring);
	if (sqe)
		io_uring_sqe_set_data(sqe, co);
	return sqe;
}

/* The task's socket would block: back to the loop until it is ready. */
static int co_wait(void *arg, bool out)
{
	struct nbd_co *co = arg;
	struct nbd_loop *l = co->sess->loop;

	if (l->stopping)
		return -ESHUTDOWN;
	co->want = out ? POLLOUT : POLLIN;
	if (l->uring) {
		struct io_uring_sqe *sqe = co_sqe(co);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_poll_add(sqe, co->sess->fd, (unsigned)co->want);
	}
	co_yield(co);
	co->want = 0;
	return l->stopping ? -ESHUTDOWN : 0;
}

/* With the ring, a receive is one request the loop submits and waits for together with every
 * other session's: one system call per round instead of a failed recv, a poll and a recv. */
static ssize_t co_recv(void *arg, void *buf, size_t len)
{
	struct nbd_co *co = arg;
	struct io_uring_sqe *sqe;

	if (co->sess->loop->stopping)
		return -ESHUTDOWN;
	if (!(sqe = co_sqe(co)))
		return -EBUSY;
	io_uring_prep_recv(sqe, co->sess->fd, buf, len, 0);
	co_yield(co);
	return co->sess->loop->stopping ? -ESHUTDOWN : co->res;
}

/* A task's first frame: returns to co_new at once, runs when first resumed, and ends by
 * jumping back to the loop (never returns). */
static void co_main(unsigned hi, unsigned lo)
{
	struct nbd_co *co = (struct nbd_co *)(((uintptr_t)hi << 16 << 16) | lo);
	ucontext_t here;

	if (!_setjmp(co->jb))
		swapcontext(&here, &co->sess->loop->start);
	co->fn(co->fnarg);
	co->finished = true;
	_longjmp(co->sess->loop->main, 1);
}

static void co_free(struct nbd_co *co)
{
	if (!co)
		return;
	munmap(co->stack, CO_STACK);
	free(co);
}

/* A task of sess that will run fn(fnarg) when first resumed. */
static struct nbd_co *co_new(struct nbd_sess *sess, void (*fn)(void *), void *fnarg)
{
	struct nbd_co *volatile co = calloc(1, sizeof(*co));   /* getcontext returns twice */

	if (!co)
		return NULL;
	co->stack = mmap(NULL, CO_STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (co->stack == MAP_FAILED) {
		free(co);
		return NULL;
	}
	mprotect(co->stack, 4096, PROT_NONE);      /* a guard page below the stack */
	co->sess = sess;
	co->fn = fn;
	co->fnarg = fnarg;
	ucontext_t first;
	getcontext(&first);
	first.uc_stack.ss_sp = co->stack;
	first.uc_stack.ss_size = CO_STACK;
	first.uc_link = NULL;
	uintptr_t p = (uintptr_t)co;
	makecontext(&first, (void (*)(void))co_main, 2, (unsigned)(p >> 16 >> 16), (unsigned)p);
	swapcontext(&sess->loop->start, &first);     /* co_main saves its jmp_buf and comes back */
	return co;
}

/* Runs co until it waits or ends; a session whose first task ended is freed later (its other
 * task may still be named in this round's list of ready tasks). */
static void co_resume(struct nbd_loop *l, struct nbd_co *task)
{
	struct nbd_co *volatile co = task;     /* read again after the jump back */

	if (co->sess->dead)
		return;
	if (!_setjmp(l->main))
		_longjmp(co->jb, 1);
	if (co->finished && co == co->sess->co[0])
		co->sess->dead = true;
}

static void sess_free(struct nbd_sess *sess)
{
	close(sess->fd);
	co_free(sess->co[0]);
	co_free(sess->co[1]);
	free(sess);
}

/* Frees the sessions that ended. */
static void reap(struct nbd_loop *l)
{
	for (struct nbd_sess **p = &l->sessions; *p;) {
		struct nbd_sess *sess = *p;
		if (!sess->dead) {
			p = &sess->next;
			continue;
		}
		*p = sess->next;
		l->nclients--;
		sess_free(sess);
	}
}

static void run_later(struct nbd_loop *l, struct nbd_co *co)
{
	if (co->runnable)
		return;
	co->runnable = true;
	co->run_next = NULL;
	if (l->run_tail)
		l->run_tail->run_next = co;
	else
		l->run_head = co;
	l->run_tail = co;
}

/* Tasks that were woken run, and the engine's queue is kept moving (what the tasks queued is
 * submitted, what completed is delivered, waking tasks again) until nothing is left to run. */
static void run_ready(struct nbd_loop *l)
{
	for (;;) {
		while (l->run_head) {
			struct nbd_co *co = l->run_head;
			if (!(l->run_head = co->run_next))
				l->run_tail = NULL;
			co->runnable = false;
			co->sleeping = false;
			co_resume(l, co);
		}
		/* without a completion descriptor nothing would wake the loop for what the engine
		 * still has queued (NBD, RBD back ends): it completes here */
		bc_aio_wait(l->exp->img, l->efd >= 0 ? 0 : -1);
		if (!l->run_head)
			break;
	}
	reap(l);
}

/* ---- the tasks' services (struct nbd_tasks) ---------------------------------------------- */

static int task_spawn(void *arg, void (*fn)(void *), void *fnarg)
{
	struct nbd_sess *sess = arg;

	if (!(sess->co[1] = co_new(sess, fn, fnarg)))
		return -ENOMEM;
	sess->rsock.wait_arg = sess->co[1];
	run_later(sess->loop, sess->co[1]);
	return 0;
}

static int task_sleep(void *arg, int which)
{
	struct nbd_sess *sess = arg;
	struct nbd_co *co = sess->co[which];

	if (sess->loop->stopping)
		return -ESHUTDOWN;
	co->sleeping = true;
	co_yield(co);
	return sess->loop->stopping ? -ESHUTDOWN : 0;
}

static void task_wake(void *arg, int which)
{
	struct nbd_sess *sess = arg;
	struct nbd_co *co = sess->co[which];

	if (co && co->sleeping)
		run_later(sess->loop, co);
}

static int task_flush(void *arg)
{
	return bc_nbd_sock_flush(&((struct nbd_sess *)arg)->rsock);
}

static void sess_main(void *arg)
{
	struct nbd_sess *sess = arg;

	nbd_serve_tasks(sess->loop->exp, &sess->io, &sess->tasks);
	bc_nbd_sock_flush(&sess->sock);
}

static void sock_setup(struct nbd_loop *l, struct bc_nbd_io *io, struct bc_nbd_sock *sock, int fd)
{
	bc_nbd_io_sock(io, sock, fd);
	sock->cork = true;      /* replies to requests that came together go out together */
	sock->wait = co_wait;
	sock->recv = l->uring ? co_recv : NULL;
}

static int co_start(struct nbd_loop *l, int fd)
{
	struct nbd_sess *sess = calloc(1, sizeof(*sess));
	int one = 1;

	if (!sess)
		return -ENOMEM;
	sess->loop = l;
	sess->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails on unix: fine */
	sock_setup(l, &sess->io, &sess->sock, fd);
	sock_setup(l, &sess->rio, &sess->rsock, fd);
	sess->rsock.recv = NULL;     /* the replying task never receives */
	sess->tasks = (struct nbd_tasks){ .arg = sess, .spawn = task_spawn, .sleep = task_sleep,
					  .wake = task_wake, .flush = task_flush,
					  .reply_io = &sess->rio };
	if (!(sess->co[0] = co_new(sess, sess_main, sess))) {
		free(sess);
		return -ENOMEM;
	}
	sess->sock.wait_arg = sess->co[0];
	sess->next = l->sessions;
	l->sessions = sess;
	l->nclients++;
	run_later(l, sess->co[0]);
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

/* One poll over the listening socket (when there is room), the engine's completions and every
 * waiting task, then the tasks whose socket is ready run (the fallback without io_uring; poll,
 * as epoll took about twice the wall time in the 4k write bench on a loaded machine). -errno
 * when poll failed. */
static int loop_once(struct nbd_loop *l, int lfd, bool room, bool *served)
{
	struct pollfd small[34], *p = small;
	struct nbd_co *cos_small[32], **cos = cos_small;
	int n = 0, ret = 0;

	if (l->nclients > 16) {
		p = calloc(2 * (size_t)l->nclients + 2, sizeof(*p));
		cos = calloc(2 * (size_t)l->nclients, sizeof(*cos));
		if (!p || !cos) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (struct nbd_sess *sess = l->sessions; sess; sess = sess->next) {
		for (int k = 0; k < 2; k++) {
			struct nbd_co *co = sess->co[k];
			if (co && co->want) {
				cos[n] = co;
				p[n++] = (struct pollfd){ .fd = sess->fd, .events = co->want };
			}
		}
	}
	p[n] = (struct pollfd){ .fd = room ? lfd : -1, .events = POLLIN };
	p[n + 1] = (struct pollfd){ .fd = l->efd, .events = POLLIN };
	/* bounded: a signal between the caller's check and the wait is seen within 100 ms */
	if (poll(p, (nfds_t)n + 2, 100) < 0) {
		ret = errno == EINTR ? 0 : -errno;
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (p[i].revents)
			co_resume(l, cos[i]);
	if (p[n].revents)
		*served |= accept_one(l, lfd);
	if (p[n + 1].revents & (POLLERR | POLLNVAL))
		l->efd = -1;       /* see uring_once */
	run_ready(l);
out:
	if (p != small)
		free(p);
	if (cos != cos_small)
		free(cos);
	return ret;
}

/* The ring's round: the listening socket's and the engine's polls armed, everything queued
 * submitted, then the tasks whose requests completed run. */
static int uring_once(struct nbd_loop *l, int lfd, bool room, bool *served)
{
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };   /* see loop_once */
	struct io_uring_cqe *cqe, *cqes[64];
	struct { void *who; int res; } done[64];
	struct io_uring_sqe *sqe;

	if (room && !l->lfd_armed && (sqe = io_uring_get_sqe(&l->ring))) {
		io_uring_prep_poll_add(sqe, lfd, POLLIN);
		io_uring_sqe_set_data(sqe, NULL);
		l->lfd_armed = true;
	}
	if (l->efd >= 0 && !l->efd_armed && (sqe = io_uring_get_sqe(&l->ring))) {
		io_uring_prep_poll_add(sqe, l->efd, POLLIN);
		io_uring_sqe_set_data(sqe, &l->efd);
		l->efd_armed = true;
	}
	int ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	/* copied out first: the tasks run below queue new requests */
	unsigned n = io_uring_peek_batch_cqe(&l->ring, cqes, 64);
	for (unsigned i = 0; i < n; i++)
		done[i].who = io_uring_cqe_get_data(cqes[i]), done[i].res = cqes[i]->res;
	io_uring_cq_advance(&l->ring, n);
	for (unsigned i = 0; i < n; i++) {
		struct nbd_co *co = done[i].who;
		if (done[i].who == &l->efd) {
			l->efd_armed = false;      /* run_ready delivers what completed */
			if (done[i].res < 0 || (done[i].res & (POLLERR | POLLNVAL)))
				l->efd = -1;       /* gone (a broken NBD back end): complete in rounds */
		} else if (co) {
			co->res = done[i].res;
			co_resume(l, co);
		} else {
			l->lfd_armed = false;
			if (!l->shared_full)
				*served |= accept_one(l, lfd);
		}
	}
	run_ready(l);
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
	l.efd = bc_aio_fd(exp->img);
	while (ret == 0 && !*stop && !(served && l.nclients == 0 && !persistent)) {
		bool room = !shared || l.nclients < shared;
		l.shared_full = !room;
		ret = l.uring ? uring_once(&l, lfd, room, &served) : loop_once(&l, lfd, room, &served);
	}
	/* sessions still open unwind: their waits fail, they wait for their engine requests and
	 * free what they hold (the ring goes first: nothing may still receive into their
	 * buffers); a replying task is dropped where it waits */
	l.stopping = true;
	if (l.uring)
		io_uring_queue_exit(&l.ring);
	while (l.sessions) {
		l.sessions->dead = false;
		co_resume(&l, l.sessions->co[0]);
		l.sessions->dead = true;
		reap(&l);
	}
	return ret;
}
