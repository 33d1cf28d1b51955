/* smp.c - see smp.h. The missing counts are computed as QEMU 7.2 does for a machine that
 * prefers cores over sockets and has no dies or clusters, and its checks come in its order
 * with its texts (the hart limit is strata-vm's, 8, where QEMU's virt has 512). */
#include "emulator/machine/smp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CPUS, SOCKETS, DIES, CLUSTERS, CORES, THREADS, MAXCPUS, NKEYS };
static const char *const keys[NKEYS] = { "cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus" };

/* An unsigned number as QEMU's option visitor takes it: decimal, 0x hex or 0 octal, leading
 * blanks, a minus sign wrapping around. */
static bool parse_num(const char *s, uint64_t *v)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !*end && !errno;
}

/* Splits "k=v,k=v" (",," is a comma inside a value); the first item may omit "cpus=". */
static int parse_keys(const char *arg, uint64_t val[NKEYS], bool has[NKEYS], char *msg, size_t msglen)
{
	char item[128];
	bool first = true;
	const char *p = arg;
	while (*p || first) {
		size_t n = 0;
		while (*p && !(*p == ',' && p[1] != ',')) {
			if (*p == ',') /* ",," */
				p++;
			if (n < sizeof(item) - 1)
				item[n++] = *p;
			p++;
		}
		item[n] = 0;
		if (*p == ',')
			p++;
		char *eq = strchr(item, '=');
		const char *key = eq ? item : "cpus", *value = eq ? eq + 1 : item;
		if (eq)
			*eq = 0;
		else if (!first) {
			snprintf(msg, msglen, "-smp %s: Invalid parameter '%s'", arg, item);
			return -1;
		}
		first = false;
		int k = 0;
		while (k < NKEYS && strcmp(keys[k], key))
			k++;
		if (k == NKEYS) {
			snprintf(msg, msglen, "Parameter 'smp.%s' is unexpected", key);
			return -1;
		}
		if (!parse_num(value, &val[k])) {
			snprintf(msg, msglen, "Parameter 'smp.%s' expects integer", key);
			return -1;
		}
		has[k] = true;
		if (!*p)
			break;
	}
	return 0;
}

int vm_smp_parse(const char *arg, unsigned max, unsigned *cpus_out, char *msg, size_t msglen, char *warn,
		 size_t warnlen)
{
	uint64_t v[NKEYS] = { 0 };
	bool has[NKEYS] = { 0 };
	warn[0] = 0;
	if (parse_keys(arg, v, has, msg, msglen))
		return -1;
	for (int k = 0; k < NKEYS; k++)
		if (has[k] && v[k] == 0)
			snprintf(warn, warnlen, "Deprecated CPU topology (considered invalid): CPU topology parameters "
						"must be greater than zero");
	if (has[DIES] && v[DIES] > 1) {
		snprintf(msg, msglen, "dies not supported by this machine's CPU topology");
		return -1;
	}
	if (has[CLUSTERS] && v[CLUSTERS] > 1) {
		snprintf(msg, msglen, "clusters not supported by this machine's CPU topology");
		return -1;
	}
	uint64_t cpus = v[CPUS], sockets = v[SOCKETS], cores = v[CORES], threads = v[THREADS], maxcpus = v[MAXCPUS];
	if (cpus == 0 && maxcpus == 0) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		threads = threads ? threads : 1;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		if (cores == 0) { /* cores are preferred over sockets (QEMU 6.2 and later) */
			sockets = sockets ? sockets : 1;
			threads = threads ? threads : 1;
			cores = maxcpus / (sockets * threads);
		} else if (sockets == 0) {
			threads = threads ? threads : 1;
			sockets = maxcpus / (cores * threads);
		}
		if (threads == 0)
			threads = maxcpus / (sockets * cores);
	}
	uint64_t total = sockets * cores * threads;
	maxcpus = maxcpus ? maxcpus : total;
	cpus = cpus ? cpus : maxcpus;
	char topo[96];
	snprintf(topo, sizeof(topo), "sockets (%u) * cores (%u) * threads (%u)", (unsigned)sockets, (unsigned)cores,
		 (unsigned)threads);
	if (total != maxcpus) {
		snprintf(msg, msglen, "Invalid CPU topology: product of the hierarchy must match maxcpus: %s != maxcpus (%u)",
			 topo, (unsigned)maxcpus);
		return -1;
	}
	if (maxcpus < cpus) {
		snprintf(msg, msglen,
			 "Invalid CPU topology: maxcpus must be equal to or greater than smp: %s == maxcpus (%u) < smp_cpus (%u)",
			 topo, (unsigned)maxcpus, (unsigned)cpus);
		return -1;
	}
	if (maxcpus > max) {
		snprintf(msg, msglen, "Invalid SMP CPUs %d. The max CPUs supported by machine 'virt' is %u", (int)maxcpus, max);
		return -1;
	}
	*cpus_out = (unsigned)cpus;
	return 0;
}
