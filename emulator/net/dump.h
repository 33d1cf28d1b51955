/* dump.h - a pcap file of a netdev's frames (`-object filter-dump,id=,netdev=,file=`). */
#ifndef STRATA_EMULATOR_NET_DUMP_H
#define STRATA_EMULATOR_NET_DUMP_H

#include <stddef.h>
#include <stdint.h>

struct vm_net_dump {
	int fd; /* -1: not dumping */
	uint32_t maxlen;
};

/* Creates `file` with the pcap header; on error QEMU's "net dump: can't open FILE: REASON". */
int vm_net_dump_open(struct vm_net_dump *d, const char *file, uint32_t maxlen, char *err, size_t errlen);
/* One frame, cut to maxlen bytes (the record keeps the original length). */
void vm_net_dump_frame(struct vm_net_dump *d, const uint8_t *frame, size_t len);
void vm_net_dump_close(struct vm_net_dump *d);

#endif
