/* The codec worker pool: every job runs exactly once (on a worker, or on the submitter while
 * it waits), and the submitter gets them back in submission order however long each takes;
 * free waits for queued jobs; a submitter whose workers are all busy runs its job itself. */
#include "tap.h"
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct test_job {
	struct bc_job job;
	int idx, runs;
	unsigned spin;
	uint64_t result;
	pthread_t thread;
};

static void test_run(struct bc_job *job)
{
	struct test_job *t = (struct test_job *)job;
	uint64_t h = (uint64_t)t->idx * 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < t->spin; i++)   /* uneven work: later jobs may finish first */
		h = h * 6364136223846793005ull + 1442695040888963407ull;
	t->result = h;
	t->thread = pthread_self();
	t->runs++;
}

static uint64_t expected(const struct test_job *t)
{
	uint64_t h = (uint64_t)t->idx * 0x9e3779b97f4a7c15ull;

	for (unsigned i = 0; i < t->spin; i++)
		h = h * 6364136223846793005ull + 1442695040888963407ull;
	return h;
}

/* n jobs through a window of `window` slots, as a driver uses the pool. */
static bool ordered_window(struct bc_workers *w, int n, int window)
{
	struct test_job *jobs = calloc((size_t)n, sizeof(*jobs));
	bool ok = jobs != NULL;
	int next = 0;

	for (int i = 0; ok && i < n; i++) {
		jobs[i].job.run = test_run;
		jobs[i].idx = i;
		jobs[i].spin = (unsigned)((i * 7919) % 50000);
	}
	for (; ok && next < window && next < n; next++)
		bc_workers_submit(w, &jobs[next].job);
	for (int i = 0; ok && i < n; i++) {
		bc_workers_wait(w, &jobs[i].job);
		ok = jobs[i].runs == 1 && jobs[i].result == expected(&jobs[i]);
		if (next < n)
			bc_workers_submit(w, &jobs[next++].job);
	}
	free(jobs);
	return ok;
}

/* A job that holds its worker until the second one has run (at most about 20 s). */
static atomic_int started, released;

static void hold_run(struct bc_job *job)
{
	struct timespec ms = { 0, 1000000 };

	atomic_store(&started, 1);
	for (int i = 0; i < 20000 && !atomic_load(&released); i++)
		nanosleep(&ms, NULL);
	test_run(job);
}

static void release_run(struct bc_job *job)
{
	test_run(job);
	atomic_store(&released, 1);
}

/* The only worker is held by the first job: waiting for the second must run it right here. */
static bool submitter_helps(void)
{
	struct bc_workers *w;
	struct test_job a = { .job.run = hold_run }, b = { .job.run = release_run, .idx = 1 };
	struct timespec ms = { 0, 1000000 };

	if (bc_workers_new(&w, 1) < 0)
		return false;
	bc_workers_submit(w, &a.job);
	for (int i = 0; i < 20000 && !atomic_load(&started); i++)
		nanosleep(&ms, NULL);   /* the worker has taken the first job */
	bc_workers_submit(w, &b.job);
	bc_workers_wait(w, &b.job);
	bool ok = atomic_load(&released) && b.runs == 1 && pthread_equal(b.thread, pthread_self());
	bc_workers_wait(w, &a.job);
	bc_workers_free(w);
	return ok && a.runs == 1 && !pthread_equal(a.thread, pthread_self());
}

int main(void)
{
	struct bc_workers *w;
	struct test_job late[64];

	tap_ok(bc_workers_new(&w, 0) == 0 && bc_workers_count(w) >= 1,
	       "a pool of one worker per core starts");
	tap_ok(ordered_window(w, 5000, 8), "5000 uneven jobs, window 8: each ran once, in order");
	tap_ok(ordered_window(w, 100, 1), "window 1");
	bc_workers_free(w);

	tap_ok(bc_workers_new(&w, 7) == 0 && bc_workers_count(w) == 7, "-m 7: seven workers");
	tap_ok(ordered_window(w, 2000, 64), "seven workers, window 64");
	for (int i = 0; i < 64; i++) {
		late[i] = (struct test_job){ .job.run = test_run, .idx = i, .spin = 100000 };
		bc_workers_submit(w, &late[i].job);
	}
	bc_workers_free(w);   /* must run what is queued before the threads end */
	bool all = true;
	for (int i = 0; i < 64; i++)
		all = all && late[i].runs == 1 && late[i].result == expected(&late[i]);
	tap_ok(all, "free runs the queued jobs first");
	tap_ok(submitter_helps(), "all workers busy: the submitter runs the job it waits for");
	tap_ok(bc_workers_new(&w, 1000) == 0 && bc_workers_count(w) <= 64, "the pool is capped");
	bc_workers_free(w);
	return tap_done();
}
