/* Codec worker threads: one FIFO of jobs under one mutex; a job's done flag is set under the
 * mutex and the submitter sleeps on the "done" condition until the job it waits for is done. */
#include "workers.h"
#include "bc_driver.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define BC_WORKERS_MAX 64

struct bc_workers {
	pthread_mutex_t lock;
	pthread_cond_t queued, done;
	struct bc_job *head, *tail;
	bool stop;
	int n;
	pthread_t threads[BC_WORKERS_MAX];
};

/* Takes the queue's first job and runs it on this thread (lock held on entry and exit),
 * then wakes whoever waits for a job to finish. */
static void run_head(struct bc_workers *w)
{
	struct bc_job *job = w->head;

	w->head = job->next;
	if (!w->head)
		w->tail = NULL;
	pthread_mutex_unlock(&w->lock);
	job->run(job);
	pthread_mutex_lock(&w->lock);
	job->done = true;
	pthread_cond_broadcast(&w->done);
}

static void *worker_main(void *arg)
{
	struct bc_workers *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->queued, &w->lock);
		if (!w->head)
			break;
		run_head(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int bc_workers_new(struct bc_workers **out, int n)
{
	struct bc_workers *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	if (n <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		n = cores > 0 ? (int)cores : 1;
	}
	if (n > BC_WORKERS_MAX)
		n = BC_WORKERS_MAX;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->queued, NULL);
	pthread_cond_init(&w->done, NULL);
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w) != 0)
			break;
	if (w->n == 0) {
		bc_workers_free(w);
		return -EAGAIN;
	}
	*out = w;
	return 0;
}

void bc_workers_free(struct bc_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->queued);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->queued);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int bc_workers_count(const struct bc_workers *w)
{
	return w->n;
}

void bc_workers_submit(struct bc_workers *w, struct bc_job *job)
{
	job->next = NULL;
	job->done = false;
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->queued);
	pthread_mutex_unlock(&w->lock);
}

/* While its job is not done the submitter runs queued jobs itself (the FIFO head is usually
 * the very job it waits for): on a loaded host a worker may wait long for a CPU, and the
 * submitter would otherwise sleep with work queued. */
void bc_workers_wait(struct bc_workers *w, struct bc_job *job)
{
	pthread_mutex_lock(&w->lock);
	while (!job->done) {
		if (w->head)
			run_head(w);
		else
			pthread_cond_wait(&w->done, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
}

struct bc_workers *bc_image_workers(struct bc_image *img)
{
	if (!img->workers && !img->workers_failed &&
	    bc_workers_new(&img->workers, img->nworkers) < 0)
		img->workers_failed = true;
	return img->workers;
}
