/* luks.h — private to formats/luks: the standalone LUKS1 format (qemu's "luks" driver):
 * a LUKS header and keyslots, then the encrypted payload; sector 0 is the payload's first. */
#ifndef STRATA_LUKS_H
#define STRATA_LUKS_H

#include "bc_driver.h"
#include "crypto.h"

struct luks_state {
	struct bc_luks *luks;
	uint64_t payload;          /* bytes */
	uint8_t *bounce;           /* LUKS_BOUNCE bytes for encryption */
	struct bc_crypt_pool *cpool; /* the codec workers' cipher copies (crypto.h) */
};

#define LUKS_BOUNCE (1u << 20)

extern const struct bc_opt_desc luks_create_opts[];
extern const struct bc_opt_desc luks_amend_opts[];
int luks_create(const char *filename, struct bc_opts *opts, struct bc_err *err);
int luks_measure(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		 struct bc_measure *out, struct bc_err *err);
int luks_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
	       struct bc_err *err);
/* The bc_luks_io over a host file (offsets from the file's start). */
void luks_file_io(struct bc_luks_io *io, struct bc_file *f);
/* The passphrase named by opts' key (NULL: none given) from the secret store. */
int luks_get_secret(const struct bc_opts *opts, const struct bc_open_opts *oo, const char *key,
		    uint8_t **data, size_t *len, struct bc_err *err);

#endif
