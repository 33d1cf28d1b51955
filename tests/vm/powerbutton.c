/* powerbutton.c - host side of tests/vm/powerbutton.sh. Builds the virt board (default
 * options: the power button is there) around a bare-metal guest program, presses the button
 * with vm_virt_system_powerdown once before the guest runs (no driver yet: the press is lost)
 * and then each time the guest prints "waiting N", and prints the guest's console with the
 * host's actions interleaved as "host: ..." lines. Exit status: the guest's exit code, or 2
 * when the guest does not finish within the time limit.
 * With "savevm", right after the first press to the live driver (three buffers posted, four
 * events: one waits in the device) the whole machine is saved (vm_state_save), the device's queue emptied and the state loaded again: the transcript
 * must not change (the queued events travel in the stream); stderr says it happened.
 *   usage: powerbutton GUEST.elf [savevm] */
#include "emulator/chardev/chardev.h"
#include "emulator/host/loop.h"
#include "emulator/machine/virt.h"
#include "emulator/machine/vmstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 100000       /* instructions between looks at the console */
#define LIMIT_SECONDS 60

static int powerdowns;

static void on_event(void *opaque, const char *name, const char *data)
{
	(void)opaque, (void)data;
	if (!strcmp(name, "POWERDOWN"))
		powerdowns++;
}

/* savevm/loadvm with the queue emptied in between (a load that forgot the events would
 * leave it empty). Returns 0 when the round trip worked. */
static int roundtrip(struct vm_virt *vm)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	unsigned queued = vm->power_button.count;
	if (vm_state_save(vm, &buf, &len, err, sizeof(err)))
		return -1;
	vm->power_button.count = 0;
	int rc = vm_state_load(vm, buf, len, err, sizeof(err));
	free(buf);
	fprintf(stderr, "host: savevm/loadvm with %u queued event(s): %s, %u after the load\n", queued,
		rc ? err : "loaded", vm->power_button.count);
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The host's actions go into the same console file as the guest's output. */
static void say(struct vm_chardev *chr, const char *fmt, int n)
{
	char line[96];
	int len = snprintf(line, sizeof(line), fmt, n);
	vm_chr_write(chr, line, (size_t)len);
}

/* The console file as it is now (NUL-terminated, caller frees). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;
	while (f && m && (c = fgetc(f)) != EOF)
		fputc(c, m);
	if (m)
		fclose(m);
	if (f)
		fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	static struct vm_virt vm; /* large: off the stack */
	char err[256], path[] = "/tmp/powerbutton.XXXXXX", spec[64];
	bool savevm = argc == 3 && !strcmp(argv[2], "savevm");
	if (argc != 2 && !savevm) {
		fprintf(stderr, "usage: powerbutton GUEST.elf [savevm]\n");
		return 2;
	}
	int fd = mkstemp(path);
	if (fd < 0)
		return 2;
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	struct vm_loop *loop = vm_loop_new();
	struct vm_chardev *chr = NULL;
	struct vm_virt_config cfg = { .ram_size = 128u << 20, .kernel = argv[1] };
	if (!loop || vm_chr_new_legacy(loop, spec, "serial0", &chr, err, sizeof(err)) ||
	    (cfg.serial = chr, vm_virt_create(&vm, &cfg, loop, err, sizeof(err)))) {
		fprintf(stderr, "powerbutton: %s\n", err);
		unlink(path);
		return 2;
	}
	vm_virt_on_event(&vm, on_event, NULL);
	say(chr, "host: press %d (before the driver)\n", 0);
	vm_virt_system_powerdown(&vm);
	int presses = 0, exited = 0;
	size_t scanned = 0;
	double t0 = now();
	while (!exited && now() - t0 < LIMIT_SECONDS) {
		exited = vm_virt_run(&vm, CHUNK);
		char *text = slurp(path), *line;
		while (text && (line = strstr(text + scanned, "waiting ")) != NULL) {
			scanned = (size_t)(line - text) + 8;
			say(chr, "host: press %d\n", ++presses);
			vm_virt_system_powerdown(&vm);
			/* one instruction: the press is taken first; with three buffers posted the
			 * fourth event now waits in the device, whatever the host's load */
			if (savevm && presses == 1 && !(exited = vm_virt_run(&vm, 1)) && vm.power_button.count) {
				savevm = false;
				if (roundtrip(&vm))
					break;
			}
		}
		free(text);
	}
	char tail[128];
	snprintf(tail, sizeof(tail), "host: POWERDOWN events %d, events dropped %llu\n", powerdowns,
		 (unsigned long long)vm.power_button.dropped);
	vm_chr_write(chr, tail, strlen(tail));
	int code = exited ? vm.exit.code : 2;
	vm_virt_destroy(&vm);
	vm_chr_free_all();
	vm_loop_free(loop);
	char *text = slurp(path);
	fputs(text ? text : "", stdout);
	free(text);
	unlink(path);
	if (!exited)
		printf("host: the guest did not finish in %d s\n", LIMIT_SECONDS);
	return code;
}
