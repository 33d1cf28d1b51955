/*
 * secret.h — the secret store: objects defined with qemu's
 * `--object secret,id=ID,data=...|file=PATH[,format=raw|base64][,keyid=ID2,iv=...]`,
 * looked up by id when an image needs a passphrase (key-secret=ID). Process-wide, as QEMU's
 * object tree; the stored bytes are wiped when removed. Nothing here prints.
 */
#ifndef STRATA_SECRET_H
#define STRATA_SECRET_H

#include "bc.h"

#include <stddef.h>
#include <stdint.h>

/* Parses and adds one object definition (qemu's --object text, or "qom-type=secret,...").
 * Errors carry qemu 7.2's texts ("Either 'file' or 'data' must be provided", ...). */
int bc_secret_object_add(const char *def, struct bc_err *err);

/* A malloc'd copy of secret id's bytes (plus a NUL not counted in *len): the open options'
 * secrets first, then the store. -ENOENT with "No secret with id 'ID'". Free with
 * bc_secret_free, which wipes it. */
int bc_secret_get(const struct bc_open_opts *o, const char *id, uint8_t **data, size_t *len,
		  struct bc_err *err);
void bc_secret_free(uint8_t *data, size_t len);

/* Removes every stored secret (wiped). */
void bc_secret_clear(void);

/* Decodes base64 (qemu's strictness: only the alphabet, '=' and nothing else). Returns a
 * malloc'd buffer or -EINVAL "Base64 data contains invalid characters". */
int bc_base64_decode(const char *in, uint8_t **out, size_t *outlen, struct bc_err *err);

#endif
