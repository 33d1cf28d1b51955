/* clock.c - the machine timer's time base. */
#include "emulator/devices/devices.h"

#include <time.h>

static uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vm_clock_init(struct vm_clock *c)
{
	c->base_ns = host_ns();
	c->offset = 0;
	c->paused = false;
	c->paused_at = 0;
}

uint64_t vm_clock_mtime(struct vm_clock *c)
{
	if (c->paused)
		return c->paused_at;
	return c->offset + (host_ns() - c->base_ns) / 100; /* 10 MHz */
}

void vm_clock_set(struct vm_clock *c, uint64_t mtime)
{
	c->base_ns = host_ns();
	c->offset = mtime;
	c->paused_at = mtime;
}

void vm_clock_pause(struct vm_clock *c)
{
	if (!c->paused) {
		c->paused_at = vm_clock_mtime(c);
		c->paused = true;
	}
}

void vm_clock_resume(struct vm_clock *c)
{
	if (c->paused) {
		c->paused = false;
		vm_clock_set(c, c->paused_at);
	}
}

uint64_t vm_clock_ns_until(struct vm_clock *c, uint64_t target)
{
	uint64_t now = vm_clock_mtime(c);
	return target > now ? (target - now) * 100 : 0;
}
