/* smp.h - the -smp option as QEMU 7.2 reads it for the virt machine:
 * [cpus=]N[,sockets=S][,dies=1][,clusters=1][,cores=C][,threads=T][,maxcpus=M]. */
#ifndef STRATA_EMULATOR_MACHINE_SMP_H
#define STRATA_EMULATOR_MACHINE_SMP_H

#include <stddef.h>

/* Fills *cpus (the harts to create, 1..max). Returns 0, or -1 with QEMU's message in msg
 * (printed after the program name). A parameter given as 0 is accepted with QEMU's
 * deprecation warning in warn (empty when none). */
int vm_smp_parse(const char *arg, unsigned max, unsigned *cpus, char *msg, size_t msglen, char *warn,
		 size_t warnlen);

#endif
