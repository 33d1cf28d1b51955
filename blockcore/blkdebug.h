/*
 * blkdebug.h — the fault-injection filter compatible with QEMU's blkdebug driver: a bc_file
 * that sits between a format and its host file, takes the events the format raises before its
 * metadata writes (bc_file_event) and, by the rules of a config file, fails the next I/O with
 * an errno or changes its state.
 *
 * Config file (QEMU's format): sections [inject-error] (event, state, errno, sector, once,
 * immediately) and [set-state] (event, state, new_state), each line `key = "value"`.
 * When an event fires, every inject-error rule for it whose state matches (0: any) becomes the
 * active one; the next read, write, zero, discard or flush touching its sector (-1: any) fails
 * with its errno, once only when once=on. set-state rules move the state machine (initially 1).
 */
#ifndef STRATA_BLKDEBUG_H
#define STRATA_BLKDEBUG_H

#include "bc_file.h"

/* Splits "blkdebug:CONFIG:IMAGE" (CONFIG may be empty) into malloc'd parts. */
int bc_blkdebug_split(const char *name, char **config, char **image, struct bc_err *err);
/* Puts a blkdebug filter configured by the file `config` (NULL or "": no rules) over *file;
 * on success *file is the filter, which owns the old file. On failure *file is unchanged. */
int bc_blkdebug_wrap(struct bc_file **file, const char *config, struct bc_err *err);
/* The event's QEMU name, or NULL. */
const char *bc_event_name(enum bc_event ev);

#endif
