/*
 * Fuzzes the blkdebug config reader and its rule engine: arbitrary bytes as a config file over
 * a small memory file, then every event raised and a read, write and flush after each. Every
 * failure must be a clean negative errno; ASan/UBSan catch the rest.
 */
#include "blkdebug.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	uint8_t buf[1024] = { 0 };
	struct bc_file *f;
	struct bc_err err = { 0 };

	snprintf(path, sizeof(path), "/tmp/blkdebug-fuzz-%d.cfg", (int)getpid());
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return 0;
	if (size)
		fwrite(data, 1, size, fp);
	fclose(fp);
	if (bc_file_open_mem(&f, "mem", buf, sizeof(buf), 1u << 20) == 0) {
		if (bc_blkdebug_wrap(&f, path, &err) == 0) {
			for (int ev = 0; ev < BC_EV_COUNT; ev++) {
				bc_file_event(f, (enum bc_event)ev);
				(void)bc_file_pread(f, buf, 512, (uint64_t)ev * 512);
				(void)bc_file_pwrite(f, buf, 512, (uint64_t)ev * 512);
				(void)bc_file_flush(f);
			}
		}
		bc_file_close(f);
	}
	unlink(path);
	return 0;
}
