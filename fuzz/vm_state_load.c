/* Fuzz harness: strata-vm's VM-state loader (the savevm stream stored in a qcow2 snapshot:
 * header, fingerprint, device sections, RAM records with zstd data) on a 16 MiB virt board
 * without firmware. Each input is checked as it is, then loaded with its CRC made right, so
 * the fuzzer gets past the checksum into the section and RAM parsers. Whatever the bytes, the
 * loader returns 0 or -errno with a message and writes nothing outside the board.
 * STRATA_FUZZ_SEED=FILE writes a valid stream of the board there (the corpus seed). */
#include "emulator/machine/virt.h"
#include "emulator/machine/crc32c.h"
#include "emulator/machine/vmstate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_virt *board(void)
{
	static struct vm_virt vm;
	static int state; /* 0 not built, 1 ready, -1 failed */
	char err[256];
	if (state == 0) {
		struct vm_virt_config cfg = { .ram_size = 16u << 20 };
		state = vm_virt_create(&vm, &cfg, NULL, err, sizeof(err)) ? -1 : 1;
		const char *seed = getenv("STRATA_FUZZ_SEED");
		uint8_t *buf;
		size_t len;
		if (state == 1 && seed && !vm_state_save(&vm, &buf, &len, err, sizeof(err))) {
			FILE *f = fopen(seed, "wb");
			if (f) {
				fwrite(buf, 1, len, f);
				fclose(f);
			}
			free(buf);
		}
	}
	return state == 1 ? &vm : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_virt *vm = board();
	char err[512];
	if (!vm)
		return 0;
	vm_state_check(vm, data, size, err, sizeof(err));
	if (size < 4)
		return 0;
	uint8_t *fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	/* the checksum of the stream's own format: zlib's CRC-32 in format 1, CRC-32C after */
	bool v1 = size >= 12 && fixed[8] == 1 && !fixed[9] && !fixed[10] && !fixed[11];
	uint32_t crc = v1 ? (uint32_t)crc32_z(0, fixed, size - 4) : vm_crc32c(0, fixed, size - 4);
	for (int i = 0; i < 4; i++)
		fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
	if (vm_state_load(vm, fixed, size, err, sizeof(err)) && !err[0])
		__builtin_trap(); /* a refusal always says why */
	free(fixed);
	return 0;
}
