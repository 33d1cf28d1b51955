/* fuzz_image.h - opens fuzz input as an image through the engine's own open path
 * (bc_open_file on a memory file), so a harness exercises exactly what bc_open does and
 * drives the image through the public bc_* calls. */
#ifndef STRATA_FUZZ_IMAGE_H
#define STRATA_FUZZ_IMAGE_H

#include "bc_driver.h"

/* The image, or NULL when the bytes do not open (a clean error is all that is asked then).
 * growth bounds how much writes may enlarge the memory file. */
static inline struct bc_image *fuzz_open(const char *name, const char *format, const uint8_t *data,
					 size_t size, size_t growth, unsigned flags)
{
	struct bc_open_opts oo = { .format = format, .flags = flags };
	struct bc_err err = { 0 };
	struct bc_file *f;
	struct bc_image *img;

	if (bc_file_open_mem(&f, name, data, size, size + growth) < 0)
		return NULL;
	if (bc_open_file(&img, f, &oo, &err) < 0) /* closes f on failure */
		return NULL;
	return img;
}

#endif
