/*
 * workers.h — a pool of codec worker threads for drivers: jobs (compressing or, later,
 * encrypting one cluster each) run on the workers in any order, while the submitting thread
 * takes them back in the order it submitted them and writes the results in the order the
 * format needs. Only the submitting thread touches the image; a job touches only its own
 * buffers and context.
 */
#ifndef STRATA_WORKERS_H
#define STRATA_WORKERS_H

#include <stdbool.h>

struct bc_workers;
struct bc_image;

struct bc_job {
	void (*run)(struct bc_job *job);  /* on a worker thread; the result goes into the job */
	struct bc_job *next;              /* pool-private */
	bool done;                        /* pool-private */
};

/* n threads; n <= 0: one per online core. -errno on failure. */
int bc_workers_new(struct bc_workers **out, int n);
/* Waits for the jobs still queued or running, then ends the threads. */
void bc_workers_free(struct bc_workers *w);
int bc_workers_count(const struct bc_workers *w);
/* Queues job (not already queued). */
void bc_workers_submit(struct bc_workers *w, struct bc_job *job);
/* Returns once job has run; the submitter waits for its jobs in submission order. Meanwhile
 * it runs queued jobs itself, so a job may run on the submitting thread too. */
void bc_workers_wait(struct bc_workers *w, struct bc_job *job);

/* The image's pool, started on first use with the bc_open_opts.workers threads; NULL when
 * threads cannot be started (the driver then works alone). */
struct bc_workers *bc_image_workers(struct bc_image *img);

#endif
