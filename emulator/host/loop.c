/* loop.c - poll(2)-based event loop; see loop.h. Callbacks may add or remove fds and timers
 * while the loop dispatches: entries are looked up again after every callback. */
#include "emulator/host/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_FDS 64
#define LOOP_MAX_HOOK_FDS 128
#define LOOP_MAX_HOOKS 8

struct fd_entry {
	int fd;
	unsigned events;
	vm_fd_cb cb;
	void *opaque;
};

struct vm_timer {
	struct vm_loop *loop;
	struct vm_timer *next;
	vm_timer_cb cb;
	void *opaque;
	uint64_t deadline;
	bool armed;
	bool soon; /* vm_timer_arm_soon: may fire early when the loop waits */
};

struct vm_loop {
	struct fd_entry fds[LOOP_MAX_FDS];
	int nfds;
	struct vm_timer *timers;
	uint64_t next_deadline; /* of the armed timers, or earlier (vm_loop_deadline_ns) */
	struct vm_loop_hook hooks[LOOP_MAX_HOOKS];
	int nhooks;
	int kick_fd;
	/* the pollfd table of one poll: kick, registered fds, then hook fds */
	struct pollfd pfd[1 + LOOP_MAX_FDS + LOOP_MAX_HOOK_FDS];
	int npfd, hook_base;
	void (*wait_unlock)(void *), (*wait_lock)(void *); /* around ppoll (vm_loop_set_wait_hooks) */
	void *wait_opaque;
};

uint64_t vm_loop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct vm_loop *vm_loop_new(void)
{
	struct vm_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->next_deadline = UINT64_MAX;
	l->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->kick_fd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void vm_loop_free(struct vm_loop *l)
{
	if (!l)
		return;
	while (l->timers)
		vm_timer_free(l->timers);
	close(l->kick_fd);
	free(l);
}

static struct fd_entry *find_fd(struct vm_loop *l, int fd)
{
	for (int i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

/* Set on the thread that polls. A change made on another thread (a hart thread's device
 * access, thread=multi) wakes the poll, whose fd set or timeout it changes. */
static _Thread_local bool t_polls;

static void changed(struct vm_loop *l)
{
	if (!t_polls)
		vm_loop_kick(l);
}

int vm_loop_add_fd(struct vm_loop *l, int fd, unsigned events, vm_fd_cb cb, void *opaque)
{
	if (fd < 0 || find_fd(l, fd))
		return -EINVAL;
	if (l->nfds == LOOP_MAX_FDS)
		return -ENOSPC;
	l->fds[l->nfds++] = (struct fd_entry){ fd, events, cb, opaque };
	changed(l);
	return 0;
}

void vm_loop_set_events(struct vm_loop *l, int fd, unsigned events)
{
	struct fd_entry *e = find_fd(l, fd);
	if (e && e->events != events) {
		e->events = events;
		changed(l);
	}
}

void vm_loop_remove_fd(struct vm_loop *l, int fd)
{
	struct fd_entry *e = find_fd(l, fd);
	if (e)
		*e = l->fds[--l->nfds];
}

struct vm_timer *vm_timer_new(struct vm_loop *l, vm_timer_cb cb, void *opaque)
{
	struct vm_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct vm_timer){ .loop = l, .next = l->timers, .cb = cb, .opaque = opaque };
	l->timers = t;
	return t;
}

void vm_timer_arm(struct vm_timer *t, uint64_t deadline_ns)
{
	t->deadline = deadline_ns;
	t->armed = true;
	t->soon = false;
	if (deadline_ns < t->loop->next_deadline)
		t->loop->next_deadline = deadline_ns;
	changed(t->loop);
}

void vm_timer_arm_soon(struct vm_timer *t, uint64_t deadline_ns)
{
	vm_timer_arm(t, deadline_ns);
	t->soon = true;
}

uint64_t vm_loop_deadline_ns(const struct vm_loop *l)
{
	return __atomic_load_n(&l->next_deadline, __ATOMIC_RELAXED);
}

void vm_timer_disarm(struct vm_timer *t)
{
	t->armed = false;
}

void vm_timer_free(struct vm_timer *t)
{
	if (!t)
		return;
	for (struct vm_timer **p = &t->loop->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	free(t);
}

int vm_loop_add_hook(struct vm_loop *l, const struct vm_loop_hook *h)
{
	if (l->nhooks == LOOP_MAX_HOOKS)
		return -ENOSPC;
	l->hooks[l->nhooks++] = *h;
	return 0;
}

int vm_loop_hook_add_pollfd(struct vm_loop *l, int fd, short events)
{
	if (l->npfd == (int)(sizeof(l->pfd) / sizeof(l->pfd[0])))
		return -1;
	l->pfd[l->npfd] = (struct pollfd){ .fd = fd, .events = events };
	return l->npfd++ - l->hook_base;
}

short vm_loop_hook_revents(struct vm_loop *l, int idx)
{
	if (idx < 0 || l->hook_base + idx >= l->npfd)
		return 0;
	return l->pfd[l->hook_base + idx].revents;
}

void vm_loop_set_wait_hooks(struct vm_loop *l, void (*unlock)(void *), void (*lock)(void *), void *opaque)
{
	l->wait_unlock = unlock;
	l->wait_lock = lock;
	l->wait_opaque = opaque;
}

void vm_loop_kick(struct vm_loop *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->kick_fd, &one, sizeof(one));
	(void)n; /* a full counter already means "kicked" */
}

/* Runs the timers due now (`idle`: the soon ones too); returns how many ran and lowers
 * *timeout to the next deadline. */
static int run_timers(struct vm_loop *l, uint64_t *timeout, bool idle)
{
	int ran = 0;
	uint64_t now = vm_loop_now_ns(), next;
again:
	next = UINT64_MAX;
	for (struct vm_timer *t = l->timers; t; t = t->next) {
		if (!t->armed)
			continue;
		if (t->deadline <= now || (idle && t->soon)) {
			t->armed = false;
			t->cb(t->opaque); /* may free or arm timers: rescan */
			ran++;
			goto again;
		}
		if (t->deadline < next)
			next = t->deadline;
		if (t->deadline - now < *timeout)
			*timeout = t->deadline - now;
	}
	l->next_deadline = next;
	return ran;
}

int vm_loop_poll(struct vm_loop *l, uint64_t timeout_ns)
{
	t_polls = true;
	int ran = run_timers(l, &timeout_ns, timeout_ns > 0);
	if (ran)
		timeout_ns = 0;
	l->npfd = 0;
	l->pfd[l->npfd++] = (struct pollfd){ .fd = l->kick_fd, .events = POLLIN };
	for (int i = 0; i < l->nfds; i++)
		/* a paused fd (no events) is left out, or its POLLHUP would wake the loop forever */
		l->pfd[l->npfd++] = (struct pollfd){ .fd = l->fds[i].events ? l->fds[i].fd : -1,
						     .events = (short)l->fds[i].events };
	int nreg = l->npfd;
	l->hook_base = nreg;
	for (int i = 0; i < l->nhooks; i++)
		l->hooks[i].fill(l->hooks[i].opaque, &timeout_ns);
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
	if (l->wait_unlock)
		l->wait_unlock(l->wait_opaque);
	int n = ppoll(l->pfd, (nfds_t)l->npfd, timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
	if (l->wait_lock)
		l->wait_lock(l->wait_opaque);
	if (n < 0 && errno != EINTR) /* EINTR: a signal; the caller looks at its flags */
		return ran;
	bool err = n < 0;
	if (n > 0 && (l->pfd[0].revents & POLLIN)) {
		uint64_t v;
		ssize_t r = read(l->kick_fd, &v, sizeof(v));
		(void)r;
		ran++;
	}
	for (int i = 1; n > 0 && i < nreg; i++) {
		short re = l->pfd[i].revents;
		if (!re)
			continue;
		struct fd_entry *e = find_fd(l, l->pfd[i].fd); /* may have gone in a callback */
		if (!e)
			continue;
		e->cb(e->opaque, e->fd, (unsigned)re);
		ran++;
	}
	for (int i = 0; i < l->nhooks; i++)
		l->hooks[i].dispatch(l->hooks[i].opaque, err);
	uint64_t none = UINT64_MAX;
	ran += run_timers(l, &none, false);
	return ran;
}
