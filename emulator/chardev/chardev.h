/* chardev.h - character back ends (QEMU's -chardev/-serial/-monitor/-qmp targets) and the
 * front ends that use them (the UART, the monitors).
 *
 * A back end owns a host endpoint (the terminal, a pty, a file, a listening or connected
 * socket) and is serviced by the host event loop. Receive is device-initiated: the back end
 * asks its front end how much it can take (can_read) and hands over at most that much (read);
 * when the front end has room again it calls vm_chr_accept_input() and the back end resumes
 * reading its fd. Nothing is read from the host that a front end cannot take, so input is
 * never dropped. A mux back end ("mon:stdio", "-nographic", mux=on) serves several front ends
 * (serial and monitor) and interprets QEMU's Ctrl-A escapes. */
#ifndef STRATA_EMULATOR_CHARDEV_CHARDEV_H
#define STRATA_EMULATOR_CHARDEV_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vm_loop;
struct vm_chardev;

enum vm_chr_event {
	VM_CHR_OPENED,  /* a client connected / the front end was focused by the mux */
	VM_CHR_CLOSED,  /* the client went away / the mux focused another front end */
	VM_CHR_BREAK,   /* Ctrl-A b, telnet BREAK: a serial line break */
	VM_CHR_MUX_IN,  /* the mux gave this front end the input focus */
	VM_CHR_MUX_OUT, /* the mux took the focus away */
};

struct vm_chr_frontend {
	size_t (*can_read)(void *opaque);
	void (*read)(void *opaque, const uint8_t *buf, size_t len);
	void (*event)(void *opaque, enum vm_chr_event ev); /* may be NULL */
	void *opaque;
};

/* What a back end asks of the rest of the emulator (Ctrl-A x, SIGINT on a stdio without
 * signal=off...). Set once by main before any back end exists. */
struct vm_chr_host {
	void (*quit)(void *opaque);   /* Ctrl-A x: "QEMU: Terminated" and exit */
	void (*flush)(void *opaque);  /* Ctrl-A s: write disk data back (may be NULL) */
	/* a message for the user (the pty path, "waiting for connection"); `located` asks for
	 * QEMU's "prog: -option value: " prefix (info:/warning: lines) */
	void (*info)(void *opaque, const char *msg, bool located);
	/* SIGTERM/SIGINT/SIGHUP arrived (vm_chr_install_signals): terminal already restored;
	 * pid 0 when the kernel sent it (Ctrl-C on a stdio with signal=on) */
	void (*terminate)(void *opaque, int signo, int pid);
	void *opaque;
};
void vm_chr_set_host(const struct vm_chr_host *h);
/* Installs QEMU's handlers: SIGTERM/SIGINT/SIGHUP restore the terminals and report through
 * host->terminate from the loop; fatal signals (SEGV, BUS, ABRT, FPE, ILL) restore the
 * terminals and die as they would have, SIGPIPE (stdout into a closed pipe) included; socket
 * back ends never raise it. */
int vm_chr_install_signals(struct vm_loop *loop);
/* For callers whose loop may not be serviced for long (the GDB stub waiting for its client):
 * terminating signals restore the terminals and then end the process by the signal itself. */
void vm_chr_signals_die(bool on);

/* -chardev BACKEND,id=ID[,...]: socket (path= | host=,port=; server=on|off, wait=on|off,
 * telnet=on|off), stdio (mux=on, signal=on|off), pty, file (path=, append=), pipe (path=),
 * null, and mux=on on any of them. On error returns -errno with QEMU's message in err. */
int vm_chr_new_opts(struct vm_loop *loop, const char *opts, struct vm_chardev **out, char *err, size_t errlen);
/* The legacy spellings of -serial/-monitor/-qmp: stdio, mon:stdio, pty, null, none, vc,
 * file:PATH, pipe:PATH, unix:PATH[,server][,nowait], tcp:[HOST]:PORT[,server][,nowait],
 * telnet:HOST:PORT[,server][,nowait], chardev:ID (an existing -chardev). `label` names the
 * new back end (QEMU's "serial0", "compat_monitor0"). NULL *out for "none". -ENXIO: chardev:ID
 * names no back end; -EINVAL: not a spelling of a back end. */
int vm_chr_new_legacy(struct vm_loop *loop, const char *spec, const char *label, struct vm_chardev **out,
		      char *err, size_t errlen);
/* For programs that embed the board (tests): output appended to `f`, no input, no loop. */
int vm_chr_new_stream(const char *id, FILE *f, struct vm_chardev **out, char *err, size_t errlen);
struct vm_chardev *vm_chr_find(const char *id);
const char *vm_chr_label(const struct vm_chardev *c);
/* True for a mux (its front ends share the terminal; the monitor attaches to it too). */
bool vm_chr_is_mux(const struct vm_chardev *c);

/* Adds a front end (a plain back end takes one; a mux up to four, focus on the first).
 * -EBUSY when taken. */
int vm_chr_attach(struct vm_chardev *c, const struct vm_chr_frontend *fe);
/* The front end has room again: the back end resumes delivering input (buffered input may be
 * handed over before this returns). For front ends running on the loop (monitors). */
void vm_chr_accept_input(struct vm_chardev *c);
/* The same from inside a device's register access (the UART's RBR read): only plain data for
 * that front end (`fe_opaque`) is handed over at once, looking at the host fd once more when
 * the buffer is empty; mux commands and other front ends' input wait for the event loop. */
void vm_chr_device_accept(struct vm_chardev *c, const void *fe_opaque);
/* Writes all of buf unless the peer is gone (then the bytes are dropped, as QEMU does for a
 * disconnected socket). Never blocks the guest for long. Returns len or -errno. */
long vm_chr_write(struct vm_chardev *c, const void *buf, size_t len);
/* For the mux: which front end has the input focus. */
void vm_chr_mux_focus(struct vm_chardev *c, int index);
/* Whether the stdio back end is in use (QEMU: "cannot use stdio by multiple character devices"). */
bool vm_chr_stdio_in_use(void);

/* The monitor on back end `c` (HMP, or QMP with `qmp`; `pretty` JSON). Provided by the monitor
 * (emulator/monitor/monitor.c). */
int vm_monitor_attach(struct vm_chardev *c, bool qmp, bool pretty);

/* Ctrl-A s: QEMU's `commit all` (-snapshot drives into their images). Provided by the monitor. */
void vm_monitor_commit_all(void);

/* `info chardev`: calls fn for each back end with its label and QEMU's filename string
 * ("stdio", "pty:/dev/pts/3", "unix:/tmp/m,server=on", "file:x.log"). */
void vm_chr_foreach(void (*fn)(void *opaque, const char *label, const char *filename), void *opaque);

/* Puts every terminal a back end switched to raw mode back as it was. Async-signal-safe:
 * called on every exit path (atexit, fatal signals). */
void vm_chr_restore_terminals(void);
void vm_chr_free_all(void);
/* Closes and unregisters one back end (the GDB stub's, at `gdbserver none`). */
void vm_chr_free(struct vm_chardev *c);

#endif
