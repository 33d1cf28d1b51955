/*
 * Sector encryption on the image's codec workers (workers.h): a request's sectors are split
 * among the workers, each part transformed with the worker's own copy of the cipher (a
 * cipher context is not thread-safe); the caller does the last part itself and returns once
 * every part is done, so the caller writes the result exactly when it did without workers.
 */
#include "crypto.h"
#include "workers.h"

#include <errno.h>
#include <stdlib.h>

#define CRYPT_PARTS_MAX 16
#define CRYPT_PART_MIN (8u << 10)   /* smaller parts cost more in hand-off than they save */

struct crypt_job {
	struct bc_job job;
	struct bc_sector_cipher *c;
	bool enc;
	uint64_t sector;
	uint8_t *buf;
	size_t len;
	int ret;
};

struct bc_crypt_pool {
	struct bc_workers *w;
	int n;                              /* cipher copies */
	struct bc_sector_cipher *c[CRYPT_PARTS_MAX];
	bool off;                           /* no workers (or one): the caller's cipher alone */
};

static void crypt_job_run(struct bc_job *job)
{
	struct crypt_job *j = (struct crypt_job *)job;

	j->ret = bc_sector_cipher_run(j->c, j->enc, j->sector, j->buf, j->len);
}

void bc_crypt_pool_free(struct bc_crypt_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		bc_sector_cipher_free(p->c[i]);
	free(p);
}

/* The pool, made on first use: one cipher copy per worker; "off" without workers (or with
 * one: the submitter alone is as fast). NULL only when out of memory. */
static struct bc_crypt_pool *pool_get(struct bc_crypt_pool **pp, struct bc_image *img,
				      struct bc_sector_cipher *c)
{
	struct bc_workers *w;
	struct bc_crypt_pool *p = *pp;

	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	w = bc_image_workers(img);
	p->w = w;
	while (w && p->n < bc_workers_count(w) && p->n < CRYPT_PARTS_MAX &&
	       bc_sector_cipher_dup(c, &p->c[p->n]) == 0)
		p->n++;
	p->off = p->n < 2;
	return *pp = p;
}

static int run_parallel(struct bc_crypt_pool *p, bool enc, uint64_t sector, uint8_t *buf,
			size_t len)
{
	struct crypt_job jobs[CRYPT_PARTS_MAX] = { 0 };
	size_t sectors = len / BC_CRYPTO_SECTOR;
	int n = (int)(len / CRYPT_PART_MIN), ret = 0;
	size_t per, at = 0;

	if (n > p->n)
		n = p->n;
	if (n < 2)
		return bc_sector_cipher_run(p->c[0], enc, sector, buf, len);
	per = (sectors + (size_t)n - 1) / (size_t)n;
	for (int i = 0; i < n; i++) {
		size_t k = sectors - at < per ? sectors - at : per;
		jobs[i] = (struct crypt_job){ .job.run = crypt_job_run, .c = p->c[i], .enc = enc,
					      .sector = sector + at,
					      .buf = buf + at * BC_CRYPTO_SECTOR,
					      .len = k * BC_CRYPTO_SECTOR };
		at += k;
	}
	for (int i = 0; i < n - 1; i++)
		bc_workers_submit(p->w, &jobs[i].job);
	crypt_job_run(&jobs[n - 1].job);
	for (int i = 0; i < n; i++) {
		if (i < n - 1)
			bc_workers_wait(p->w, &jobs[i].job);
		if (jobs[i].ret < 0 && ret == 0)
			ret = jobs[i].ret;
	}
	return ret;
}

int bc_crypt_pool_run(struct bc_crypt_pool **pool, struct bc_image *img,
		      struct bc_sector_cipher *c, bool enc, uint64_t sector, uint8_t *buf,
		      size_t len)
{
	struct bc_crypt_pool *p;

	if (len >= 2 * CRYPT_PART_MIN && len % BC_CRYPTO_SECTOR == 0 &&
	    (p = pool_get(pool, img, c)) && !p->off)
		return run_parallel(p, enc, sector, buf, len);
	return bc_sector_cipher_run(c, enc, sector, buf, len);
}
