/* console.h - the command line's console options (-nographic, -serial, -chardev, -monitor,
 * -mon, -qmp, -qmp-pretty, -display none) turned into character back ends with QEMU's
 * defaults and error texts, and the host side of the back ends (Ctrl-A x, terminating
 * signals, messages). Used by main only. */
#ifndef STRATA_EMULATOR_CONSOLE_H
#define STRATA_EMULATOR_CONSOLE_H

#include <stdbool.h>

struct vm_loop;
struct vm_virt;
struct vm_chardev;

#define VM_CONSOLE_MAX 16

struct vm_console_opts {
	const char *prog;          /* argv[0]'s base name, for messages */
	bool nographic, display_none;
	/* every console option in command-line order: the option name and its value */
	const char *opt[VM_CONSOLE_MAX * 2], *val[VM_CONSOLE_MAX * 2];
	int n;
};

/* Takes option `a` (value `v`, NULL if none). Returns 0: not a console option; 1: taken, no
 * value; 2: taken with its value; -1: error already printed. */
int vm_console_option(struct vm_console_opts *o, const char *a, const char *v);
/* Creates the back ends (QEMU's order: -chardev and monitors' back ends, then serials), sets
 * the host hooks and the signal handlers. *serial0 is the UART's back end (NULL: none).
 * Prints QEMU's error and returns -1 on failure. */
int vm_console_setup(struct vm_console_opts *o, struct vm_loop *loop, struct vm_chardev **serial0);
/* Once the board exists (the UART attached first, so it has the mux's focus): binds the
 * control verbs and attaches the monitors. -1 on error (printed). */
int vm_console_start(struct vm_console_opts *o, struct vm_virt *vm);
/* Closes every back end; terminals go back as they were. */
void vm_console_close(void);

#endif
