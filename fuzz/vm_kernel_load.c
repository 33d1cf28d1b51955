/* Fuzz harness: strata-vm's kernel loader (-kernel/-bios/-initrd files: ELF headers and
 * program headers, the RISC-V Image header, gzip streams) loading an arbitrary file into a
 * 32 MiB guest RAM. Whatever the bytes, the loader must return 0 or -errno with a message
 * and never touch memory outside guest RAM. */
#include "emulator/bus/bus.h"
#include "emulator/machine/loader.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_bus bus;
	static bool ready;
	if (!ready && vm_bus_init(&bus, 0x80000000ULL, 32ULL << 20))
		return 0;
	ready = true;
	int fd = memfd_create("kernel", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64], err[512];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct vm_kernel_info info;
		if (vm_load_kernel(&bus, path, 0x80200000ULL, &info, err, sizeof(err)) == 0 && info.end < info.low)
			__builtin_trap(); /* a loaded image ends after it starts */
		uint64_t end;
		vm_load_initrd(&bus, path, 0x81000000ULL, 0x82000000ULL, 0x80200000ULL, 0x80400000ULL, &end, err,
			       sizeof(err));
	}
	close(fd);
	return 0;
}
