/* loop.h - the host event loop: file descriptors and timers serviced by one thread.
 *
 * The CPU thread calls vm_loop_poll() between instruction batches (timeout 0, rate-limited
 * by the machine) and when the guest waits (WFI, paused VM) with the deadline of the next
 * guest timer, so an idle guest sleeps in poll() and input is seen at once. Back ends
 * (character devices, monitor sockets, slirp) register fds and timers; their callbacks run
 * on the loop's thread only. vm_loop_kick() is the one call other threads and signal
 * handlers may make: it wakes a sleeping poll. */
#ifndef STRATA_EMULATOR_HOST_LOOP_H
#define STRATA_EMULATOR_HOST_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* events are poll(2) bits: POLLIN, POLLOUT (POLLHUP/POLLERR are reported as given) */
typedef void (*vm_fd_cb)(void *opaque, int fd, unsigned revents);
typedef void (*vm_timer_cb)(void *opaque);

/* Extra poll sources that manage their own fd sets (libslirp): `fill` appends pollfds through
 * vm_loop_hook_add_pollfd() and may lower *timeout_ns; `dispatch` runs after every poll with
 * the results (vm_loop_hook_revents). */
struct vm_loop_hook {
	void (*fill)(void *opaque, uint64_t *timeout_ns);
	void (*dispatch)(void *opaque, bool error);
	void *opaque;
};

struct vm_loop;
struct vm_timer;

struct vm_loop *vm_loop_new(void);
void vm_loop_free(struct vm_loop *l);

/* Watches fd for `events` (0 to pause watching); one registration per fd. 0 or -errno. */
int vm_loop_add_fd(struct vm_loop *l, int fd, unsigned events, vm_fd_cb cb, void *opaque);
void vm_loop_set_events(struct vm_loop *l, int fd, unsigned events);
void vm_loop_remove_fd(struct vm_loop *l, int fd);

/* Timers on CLOCK_MONOTONIC nanoseconds (vm_loop_now_ns). A timer fires once per arm. */
struct vm_timer *vm_timer_new(struct vm_loop *l, vm_timer_cb cb, void *opaque);
void vm_timer_arm(struct vm_timer *t, uint64_t deadline_ns);
/* Deferred work (virtio-net's transmit, taken out of the guest's notify so packets batch):
 * fires at deadline_ns or earlier, at the first poll allowed to wait (the CPU went idle, so
 * nothing more will come to batch with; with thread=multi that is the loop thread's next poll). */
void vm_timer_arm_soon(struct vm_timer *t, uint64_t deadline_ns);
void vm_timer_disarm(struct vm_timer *t);
void vm_timer_free(struct vm_timer *t);
uint64_t vm_loop_now_ns(void);
/* The earliest deadline of an armed timer (UINT64_MAX: none; may be early after a disarm): a
 * busy CPU thread polls at once when it has passed instead of at its usual interval. */
uint64_t vm_loop_deadline_ns(const struct vm_loop *l);

int vm_loop_add_hook(struct vm_loop *l, const struct vm_loop_hook *h);
/* For a hook's fill: index of the pollfd added, or -1 when the table is full. */
int vm_loop_hook_add_pollfd(struct vm_loop *l, int fd, short events);
short vm_loop_hook_revents(struct vm_loop *l, int idx);

/* Waits up to timeout_ns (0: just look; UINT64_MAX: until something happens) for fds,
 * timers or a kick, and runs the callbacks that are due. Returns the number of callbacks run. */
int vm_loop_poll(struct vm_loop *l, uint64_t timeout_ns);
/* Calls unlock(opaque) before the loop blocks in poll and lock(opaque) after (thread=multi:
 * the main thread lets the harts run while it waits). */
void vm_loop_set_wait_hooks(struct vm_loop *l, void (*unlock)(void *), void (*lock)(void *), void *opaque);
/* Async-signal-safe and thread-safe: makes the current or next vm_loop_poll return at once. */
void vm_loop_kick(struct vm_loop *l);

#endif
