/* internal.h - what the back end files of emulator/chardev share: the chardev object, the
 * back end operations and the registry helpers. Not for front ends. */
#ifndef STRATA_EMULATOR_CHARDEV_INTERNAL_H
#define STRATA_EMULATOR_CHARDEV_INTERNAL_H

#include "emulator/chardev/chardev.h"

#include <sys/types.h>

#define CHR_MAX_FE 4
#define CHR_INBUF 4096

struct vm_chr_ops {
	/* writes up to len bytes to the host endpoint; returns bytes taken or -errno */
	long (*write)(struct vm_chardev *c, const uint8_t *buf, size_t len);
	/* the front end has room again (the mux wants its base to resume, etc.) */
	void (*accept)(struct vm_chardev *c);
	void (*close)(struct vm_chardev *c);
	/* a front end attached: replays "opened" for an already-connected peer */
	void (*attached)(struct vm_chardev *c);
	/* the input fd reached EOF or failed (a socket peer went away) */
	void (*eof)(struct vm_chardev *c);
	/* rewrites bytes just read in place (telnet commands); returns the new length */
	size_t (*filter)(struct vm_chardev *c, uint8_t *buf, size_t len);
};

struct vm_chardev {
	struct vm_chardev *next; /* registry, in creation order */
	const struct vm_chr_ops *ops;
	struct vm_loop *loop;
	char id[64];
	char filename[512]; /* `info chardev` */
	struct vm_chr_frontend fe[CHR_MAX_FE];
	int nfe, focus;
	bool is_mux;
	/* input read from the host that no front end has taken yet (never dropped) */
	uint8_t in[CHR_INBUF];
	size_t in_head, in_len;
	int in_fd;      /* fd watched for input; -1: none */
	bool in_eof;    /* the input side is gone */
	struct vm_timer *kick; /* delivers buffered input from the loop */
	void *priv;     /* back end state */
};

/* Creates and registers a chardev named id (duplicate: -EEXIST, QEMU's text in err). */
int chr_alloc(struct vm_loop *loop, const char *id, const struct vm_chr_ops *ops, struct vm_chardev **out,
	      char *err, size_t errlen);
void chr_unregister(struct vm_chardev *c);

/* Generic input path for fd back ends: watch `fd`, read into c->in when there is room, hand
 * it to the front ends (or to c's mux) as they can take it. */
int chr_watch_input(struct vm_chardev *c, int fd);
void chr_unwatch_input(struct vm_chardev *c);
/* Hands buffered input to the front end(s); returns true if all of it was taken. */
bool chr_deliver(struct vm_chardev *c);
/* Re-arms or pauses the input fd according to what the buffer and front ends can take. */
void chr_update_watch(struct vm_chardev *c);
/* The front end has room: deliver from the buffer, then try the fd once. */
void chr_accept_generic(struct vm_chardev *c);
/* true while a device's MMIO access asks for input (vm_chr_accept_input) */
extern bool chr_device_context;
/* Tells every front end about an event. */
void chr_event_all(struct vm_chardev *c, enum vm_chr_event ev);
/* Writes all of buf to a (blocking or non-blocking) fd, waiting for POLLOUT up to 5 s. */
long chr_write_fd(int fd, const uint8_t *buf, size_t len);

/* Back end constructors (the options are already split: key=value list in `o`). */
struct chr_opts;
const char *chr_opt(const struct chr_opts *o, const char *key);
int chr_opt_bool(const struct chr_opts *o, const char *key, bool dflt, bool *out, char *err, size_t errlen);

int chr_stdio_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
int chr_file_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
int chr_pipe_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
int chr_null_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
int chr_pty_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
int chr_socket_new(struct vm_chardev *c, const struct chr_opts *o, char *err, size_t errlen);
/* Puts a mux named `id` over `base` (which becomes its only user). */
int chr_mux_new(struct vm_loop *loop, const char *id, struct vm_chardev *base, struct vm_chardev **out, char *err,
		size_t errlen);
/* For the mux: input from its base. */
size_t chr_mux_can_read(void *opaque);
void chr_mux_read(void *opaque, const uint8_t *buf, size_t len);

/* Runs the host's terminate hook if a terminating signal arrived (blocking waits call it). */
void chr_check_signals(void);
/* Host hooks (set by vm_chr_set_host). */
const struct vm_chr_host *chr_host(void);
/* Terminal state saved by stdio before raw mode; restored by vm_chr_restore_terminals. */
void chr_term_save(int fd);
/* Messages that are not errors (pty path, "waiting for connection"): through the host hook. */
void chr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
