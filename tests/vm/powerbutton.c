/* powerbutton.c - host side of tests/vm/powerbutton.sh. Builds the virt board (default
 * options: the power button is there) around a bare-metal guest program, presses the button
 * with vm_virt_system_powerdown once before the guest runs (no driver yet: the press is lost)
 * and then each time the guest prints "waiting N", and prints the guest's console with the
 * host's actions interleaved as "host: ..." lines. Exit status: the guest's exit code, or 2
 * when the guest does not finish within the time limit.
 *   usage: powerbutton GUEST.elf */
#include "emulator/chardev/chardev.h"
#include "emulator/machine/virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 100000       /* instructions between looks at the console */
#define LIMIT_SECONDS 60

static int powerdowns;

static void on_event(void *opaque, const char *name, const char *data)
{
	(void)opaque, (void)data;
	if (!strcmp(name, "POWERDOWN"))
		powerdowns++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct vm_virt vm; /* large: off the stack */
	char *text = NULL;
	size_t len = 0;
	char err[256];
	if (argc != 2) {
		fprintf(stderr, "usage: powerbutton GUEST.elf\n");
		return 2;
	}
	FILE *con = open_memstream(&text, &len);
	struct vm_virt_config cfg = { .ram_size = 128u << 20, .kernel = argv[1] };
	if (!con || vm_chr_new_stream("serial0", con, &cfg.serial, err, sizeof(err)) ||
	    vm_virt_create(&vm, &cfg, NULL, err, sizeof(err))) {
		fprintf(stderr, "powerbutton: %s\n", con ? err : "open_memstream failed");
		return 2;
	}
	vm_virt_on_event(&vm, on_event, NULL);
	fprintf(con, "host: press 0 (before the driver)\n");
	vm_virt_system_powerdown(&vm);
	int presses = 0, exited = 0;
	size_t scanned = 0;
	double t0 = now();
	while (!exited && now() - t0 < LIMIT_SECONDS) {
		exited = vm_virt_run(&vm, CHUNK);
		fflush(con);
		char *line;
		while ((line = strstr(text + scanned, "waiting ")) != NULL) {
			scanned = (size_t)(line - text) + 8;
			fprintf(con, "host: press %d\n", ++presses);
			vm_virt_system_powerdown(&vm);
			fflush(con);
		}
	}
	fprintf(con, "host: POWERDOWN events %d, events dropped %llu\n", powerdowns,
		(unsigned long long)vm.power_button.dropped);
	fclose(con);
	fputs(text, stdout);
	free(text);
	int code = exited ? vm.exit.code : 2;
	if (!exited)
		printf("host: the guest did not finish in %d s\n", LIMIT_SECONDS);
	vm_virt_destroy(&vm);
	vm_chr_free_all();
	return code;
}
