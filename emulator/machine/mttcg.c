/* mttcg.c - see mttcg.h. A hart thread loops: stop while an exclusive section is pending,
 * bring its interrupt lines up to date under the big lock, sleep on its condition variable
 * while in WFI without a deliverable interrupt (until its timer, an MMIO write that raises
 * one of its lines, or the main thread's next host event), else run a batch unlocked.
 * Between batches with nothing new for the hart (no device access or exclusive section
 * since its last look: the `gen` count) it updates its timer lines and goes on without the
 * lock, so harts do not take turns on it thousands of times a second (quick_turn). */
#include "emulator/machine/mttcg.h"

#include "emulator/host/loop.h"
#include "emulator/machine/virt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MT_BATCH 8192 /* instructions between a hart's safe points */

struct vm_mt;
struct hart_arg {
	struct vm_mt *mt;
	unsigned h;
};

struct vm_mt {
	struct vm_virt *vm;
	struct hart_arg args[VM_MAX_HARTS]; /* each hart thread's argument */
	pthread_mutex_t m; /* the big lock */
	pthread_cond_t parked_cv, resume_cv;
	pthread_cond_t wake_cv[VM_MAX_HARTS];
	bool sleeping[VM_MAX_HARTS];
	pthread_t thr[VM_MAX_HARTS];
	long tid[VM_MAX_HARTS]; /* each hart thread's host thread id (0 until it starts) */
	unsigned nthreads, nparked;
	unsigned nidle; /* harts stopped between instructions (top of their loop or asleep) */
	bool halt;      /* harts stay between instructions (VM not running, savevm, reset) */
	int pending;    /* an exclusive section is wanted or held (read by harts without the lock) */
	unsigned gen;   /* counts device accesses and exclusive sections (changed under the lock) */
	unsigned depth; /* the owner's nesting */
	bool running;   /* the main thread is in vm_mt_run */
	bool quit;
};

static _Thread_local unsigned t_locks; /* this thread's nesting of the big lock */
static _Thread_local bool t_owner;     /* this thread holds the exclusive section */
static _Thread_local bool t_hart;      /* a hart thread */

static void lock_m(struct vm_mt *mt)
{
	if (t_locks++ == 0)
		pthread_mutex_lock(&mt->m);
}

static void unlock_m(struct vm_mt *mt)
{
	if (--t_locks == 0)
		pthread_mutex_unlock(&mt->m);
}

/* A hart stands still until the pending exclusive section ends (lock held). */
static void park(struct vm_mt *mt)
{
	mt->nparked++;
	pthread_cond_broadcast(&mt->parked_cv);
	while (__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) && !mt->quit)
		pthread_cond_wait(&mt->resume_cv, &mt->m);
	mt->nparked--;
}

static void excl_begin(void *opaque)
{
	struct vm_mt *mt = opaque;
	if (t_owner) {
		mt->depth++;
		return;
	}
	lock_m(mt);
	while (__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) && !mt->quit) {
		if (t_hart)
			park(mt);
		else
			pthread_cond_wait(&mt->resume_cv, &mt->m);
	}
	__atomic_store_n(&mt->pending, 1, __ATOMIC_SEQ_CST);
	t_owner = true;
	mt->depth = 1;
	while (mt->nparked < mt->nthreads - (t_hart ? 1u : 0u) && !mt->quit)
		pthread_cond_wait(&mt->parked_cv, &mt->m);
}

static void wake_all(struct vm_mt *mt)
{
	for (unsigned h = 0; h < mt->nthreads; h++)
		if (mt->sleeping[h])
			pthread_cond_signal(&mt->wake_cv[h]);
}

static void excl_end(void *opaque)
{
	struct vm_mt *mt = opaque;
	if (--mt->depth)
		return;
	if (!t_hart) /* host events may have raised lines or restarted harts: let sleepers look */
		wake_all(mt);
	__atomic_add_fetch(&mt->gen, 1, __ATOMIC_RELEASE);
	t_owner = false;
	__atomic_store_n(&mt->pending, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&mt->resume_cv);
	unlock_m(mt);
}

/* Would hart h, asleep in WFI, have an interrupt to take now? (lock held, hart asleep) */
static bool would_wake(struct vm_virt *vm, unsigned h, uint64_t now)
{
	const struct rv_cpu *c = vm->harts[h];
	uint64_t lines = (uint64_t)(now >= vm->clint.mtimecmp[h]) << RV_IRQ_MTI |
			 (uint64_t)(vm->clint.msip[h] & 1) << RV_IRQ_MSI |
			 (uint64_t)vm_plic_line(&vm->plic, 2 * h) << RV_IRQ_MEI |
			 (uint64_t)vm_plic_line(&vm->plic, 2 * h + 1) << RV_IRQ_SEI;
	return ((rv_mip(c) | lines) & c->mie) != 0;
}

/* After a hart's device access: wake the sleeping harts it gave an interrupt (an IPI through
 * msip, a PLIC line, a new mtimecmp), and the main thread when the guest asked to exit. */
static void after_access(struct vm_mt *mt)
{
	struct vm_virt *vm = mt->vm;
	if (vm->exit.requested && vm->loop)
		vm_loop_kick(vm->loop);
	bool any = false;
	for (unsigned h = 0; h < mt->nthreads; h++)
		any |= mt->sleeping[h];
	if (!any)
		return;
	vm_virt_device_lines(vm);
	uint64_t now = vm_clock_mtime(&vm->clock);
	for (unsigned h = 0; h < mt->nthreads; h++)
		if (mt->sleeping[h] && would_wake(vm, h, now))
			pthread_cond_signal(&mt->wake_cv[h]);
}

/* The bus's lock: a hart entering device code first stops for a pending exclusive section. */
static void bql_lock(void *opaque)
{
	struct vm_mt *mt = opaque;
	lock_m(mt);
	if (t_hart && !t_owner && t_locks == 1)
		while (__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) && !mt->quit)
			park(mt);
}

static void bql_unlock(void *opaque)
{
	struct vm_mt *mt = opaque;
	if (t_hart && t_locks == 1) {
		after_access(mt);
		__atomic_add_fetch(&mt->gen, 1, __ATOMIC_RELEASE);
	}
	unlock_m(mt);
}

/* A hart stands still between instructions while the VM is halted or an exclusive section
 * is pending (lock held). */
static void top_park(struct vm_mt *mt)
{
	mt->nparked++;
	mt->nidle++;
	pthread_cond_broadcast(&mt->parked_cv);
	while ((__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) || mt->halt) && !mt->quit)
		pthread_cond_wait(&mt->resume_cv, &mt->m);
	mt->nidle--;
	mt->nparked--;
}

/* Sleeps (counted as stopped) until woken or `ns` host nanoseconds pass (lock held). */
static void hart_sleep(struct vm_mt *mt, unsigned h, uint64_t ns)
{
	mt->sleeping[h] = true;
	mt->nparked++;
	mt->nidle++;
	pthread_cond_broadcast(&mt->parked_cv);
	if (ns == UINT64_MAX) {
		pthread_cond_wait(&mt->wake_cv[h], &mt->m);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t t = (uint64_t)ts.tv_nsec + (ns > 3600000000000ULL ? 3600000000000ULL : ns);
		ts.tv_sec += (time_t)(t / 1000000000u);
		ts.tv_nsec = (long)(t % 1000000000u);
		pthread_cond_timedwait(&mt->wake_cv[h], &mt->m, &ts);
	}
	mt->sleeping[h] = false;
	while (__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) && !mt->quit)
		pthread_cond_wait(&mt->resume_cv, &mt->m);
	mt->nidle--;
	mt->nparked--;
}

/* After a batch, without the lock: when the device lines, its CLINT registers and the VM's
 * state are as the hart last saw them under the lock (gen unchanged, nothing pending), only
 * its timer lines can change, and those are its own. True: run the next batch at once. */
static bool quick_turn(struct vm_mt *mt, unsigned h, unsigned seen)
{
	struct vm_virt *vm = mt->vm;
	struct rv_cpu *c = vm->harts[h];
	if (__atomic_load_n(&mt->pending, __ATOMIC_ACQUIRE) || __atomic_load_n(&mt->halt, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&mt->quit, __ATOMIC_ACQUIRE) || __atomic_load_n(&vm->exit.requested, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&mt->gen, __ATOMIC_ACQUIRE) != seen || c->wfi)
		return false;
	vm_virt_hart_timer_lines(vm, h, vm_clock_mtime(&vm->clock));
	rv_check_interrupts(c);
	return true;
}

static void *hart_main(void *arg)
{
	struct vm_mt *mt = ((struct hart_arg *)arg)->mt;
	unsigned h = ((struct hart_arg *)arg)->h;
	struct vm_virt *vm = mt->vm;
	struct rv_cpu *c = vm->harts[h];
	t_hart = true;
	rv_this_hart = c;
	__atomic_store_n(&mt->tid[h], (long)syscall(SYS_gettid), __ATOMIC_RELEASE);
	lock_m(mt);
	for (;;) {
		while ((__atomic_load_n(&mt->pending, __ATOMIC_SEQ_CST) || mt->halt) && !mt->quit)
			top_park(mt);
		if (mt->quit)
			break;
		if (vm->exit.requested) { /* the main thread stops everyone and takes it */
			hart_sleep(mt, h, UINT64_MAX);
			continue;
		}
		vm_virt_device_lines(vm);
		vm_virt_hart_lines(vm, h, vm_clock_mtime(&vm->clock));
		rv_check_interrupts(c);
		if (c->wfi) {
			if (!rv_irq_wake(c)) {
				hart_sleep(mt, h, vm_virt_hart_timer_ns(vm, h));
				continue;
			}
			c->wfi = false;
		}
		unsigned seen = mt->gen;
		unlock_m(mt);
		do
			rv_run(c, MT_BATCH, RV_RUN_BATCH);
		while (quick_turn(mt, h, seen));
		lock_m(mt);
	}
	unlock_m(mt);
	return NULL;
}

/* The event loop's hooks: the harts run while the main thread waits in poll(). */
static void wait_unlock(void *opaque)
{
	struct vm_mt *mt = opaque;
	if (mt->running && t_owner && mt->depth == 1)
		excl_end(mt);
}

static void wait_lock(void *opaque)
{
	struct vm_mt *mt = opaque;
	if (mt->running && !t_owner)
		excl_begin(mt);
}

int vm_mt_create(struct vm_virt *vm)
{
	struct vm_mt *mt = calloc(1, sizeof(*mt));
	if (!mt)
		return -ENOMEM;
	mt->vm = vm;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&mt->m, NULL);
	pthread_cond_init(&mt->parked_cv, NULL);
	pthread_cond_init(&mt->resume_cv, NULL);
	for (unsigned h = 0; h < vm->nharts; h++)
		pthread_cond_init(&mt->wake_cv[h], &ca);
	pthread_condattr_destroy(&ca);
	/* the main thread starts as the owner of the exclusive section */
	lock_m(mt);
	mt->pending = 1;
	mt->halt = true;
	mt->depth = 1;
	t_owner = true;
	vm->mt = mt;
	for (unsigned h = 0; h < vm->nharts; h++) {
		struct rv_cpu *c = vm->harts[h];
		c->excl_begin = excl_begin;
		c->excl_end = excl_end;
		c->excl_opaque = mt;
	}
	vm->bus.lock = bql_lock;
	vm->bus.unlock = bql_unlock;
	vm->bus.lock_opaque = mt;
	if (vm->loop)
		vm_loop_set_wait_hooks(vm->loop, wait_unlock, wait_lock, mt);
	for (unsigned h = 0; h < vm->nharts; h++) {
		mt->args[h] = (struct hart_arg){ mt, h };
		int rc = pthread_create(&mt->thr[h], NULL, hart_main, &mt->args[h]);
		if (rc) {
			vm_mt_destroy(vm);
			return -rc;
		}
		mt->nthreads++;
	}
	return 0;
}

void vm_mt_destroy(struct vm_virt *vm)
{
	struct vm_mt *mt = vm->mt;
	if (!mt)
		return;
	mt->quit = true;
	pthread_cond_broadcast(&mt->resume_cv);
	pthread_cond_broadcast(&mt->parked_cv);
	for (unsigned h = 0; h < mt->nthreads; h++)
		pthread_cond_signal(&mt->wake_cv[h]);
	t_owner = false;
	while (t_locks)
		unlock_m(mt);
	for (unsigned h = 0; h < mt->nthreads; h++)
		pthread_join(mt->thr[h], NULL);
	if (vm->loop)
		vm_loop_set_wait_hooks(vm->loop, NULL, NULL, NULL);
	vm->bus.lock = vm->bus.unlock = NULL;
	for (unsigned h = 0; h < vm->nharts; h++)
		vm->harts[h]->excl_begin = vm->harts[h]->excl_end = NULL;
	vm->mt = NULL;
	free(mt);
}

void vm_mt_quiesce(struct vm_virt *vm)
{
	struct vm_mt *mt = vm->mt;
	if (!mt || mt->halt || !t_owner || mt->depth != 1)
		return;
	mt->halt = true;
	excl_end(mt); /* a hart stopped inside an instruction finishes its batch */
	lock_m(mt);
	while (mt->nidle < mt->nthreads && !mt->quit)
		pthread_cond_wait(&mt->parked_cv, &mt->m);
	unlock_m(mt);
	excl_begin(mt);
}

int vm_mt_run(struct vm_virt *vm)
{
	struct vm_mt *mt = vm->mt;
	mt->running = true;
	while (!vm->exit.requested && !vm->stop_requested) {
		mt->halt = false; /* the harts go on when this thread next waits */
		if (vm->powerdown_req)
			vm_virt_take_powerdown(vm);
		if (vm->loop) {
			vm_loop_poll(vm->loop, UINT64_MAX);
		} else { /* no event loop: look at the flags every 10 ms */
			struct timespec ts = { 0, 10000000 };
			excl_end(mt);
			nanosleep(&ts, NULL);
			excl_begin(mt);
		}
	}
	mt->running = false;
	vm_mt_quiesce(vm);
	return vm->exit.requested ? 1 : 0;
}

long vm_mt_hart_tid(const struct vm_virt *vm, unsigned h)
{
	const struct vm_mt *mt = vm->mt;
	if (!mt || h >= mt->nthreads)
		return 0;
	long tid;
	/* a thread just created stores its id before anything else: wait for that store */
	while (!(tid = __atomic_load_n(&mt->tid[h], __ATOMIC_ACQUIRE)))
		sched_yield();
	return tid;
}
