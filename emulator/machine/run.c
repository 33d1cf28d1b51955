/* run.c - the board's main loop and its control verbs (stop, cont, reset, powerdown, quit).
 * Between batches of instructions the loop updates the interrupt lines from the device list,
 * delivers interrupts and, at most every POLL_INTERVAL_NS, services host events; when the hart
 * waits for an interrupt or the VM is stopped it sleeps in the event loop until the next guest
 * timer deadline or host event, so an idle guest costs no host CPU. Several harts (-smp) take
 * turns on this one thread in hart order, QUANTUM instructions each (a hart waiting for an
 * interrupt skips its turn; all waiting: the loop sleeps), so a run is repeatable apart from
 * where timer and host events fall. */
#include "emulator/host/loop.h"
#include "emulator/machine/mttcg.h"
#include "emulator/machine/virt.h"

#include <poll.h>
#include <stdio.h>
#include <time.h>

#define BATCH 65536 /* instructions between looks at interrupts and host events (a timer is late by at most one batch: ~20-200 us) */
#define POLL_INTERVAL_NS 1000000ULL /* host input is looked at least this often while running */
#define QUANTUM 8192u /* instructions of one hart's turn when several take turns */
#define MAX_TURN_BATCHES 64 /* a turn of batches that complete nothing (trap loops) ends too */

static const char *const state_names[] = {
	[VM_RUN_PRELAUNCH] = "prelaunch", [VM_RUN_RUNNING] = "running",	    [VM_RUN_PAUSED] = "paused",
	[VM_RUN_SHUTDOWN] = "shutdown",	  [VM_RUN_DEBUG] = "debug",	    [VM_RUN_SAVE_VM] = "save-vm",
	[VM_RUN_RESTORE_VM] = "restore-vm", [VM_RUN_INTERNAL_ERROR] = "internal-error",
};

const char *vm_runstate_name(enum vm_runstate s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

void vm_virt_device_lines(struct vm_virt *vm)
{
	for (int i = 0; i < vm->ndevs; i++) {
		const struct vm_device *d = &vm->devs[i];
		if (d->irq_level)
			vm_plic_set(&vm->plic, d->irq, d->irq_level(d->opaque));
	}
}

void vm_virt_hart_timer_lines(struct vm_virt *vm, unsigned h, uint64_t now)
{
	struct rv_cpu *c = vm->harts[h];
	/* atomic: a hart thread reads its mtimecmp without the lock (mttcg.c quick_turn) */
	rv_set_irq(c, RV_IRQ_MTI, now >= __atomic_load_n(&vm->clint.mtimecmp[h], __ATOMIC_RELAXED));
	rv_update_sstc_at(c, now);
}

void vm_virt_hart_lines(struct vm_virt *vm, unsigned h, uint64_t now)
{
	struct rv_cpu *c = vm->harts[h];
	vm_virt_hart_timer_lines(vm, h, now);
	rv_set_irq(c, RV_IRQ_MSI, vm->clint.msip[h] & 1);
	rv_set_irq(c, RV_IRQ_MEI, vm_plic_line(&vm->plic, 2 * h));
	rv_set_irq(c, RV_IRQ_SEI, vm_plic_line(&vm->plic, 2 * h + 1));
}

static void update_irqs(struct vm_virt *vm, uint64_t now)
{
	vm_virt_device_lines(vm);
	for (unsigned h = 0; h < vm->nharts; h++)
		vm_virt_hart_lines(vm, h, now);
}

uint64_t vm_virt_hart_timer_ns(struct vm_virt *vm, unsigned h)
{
	const struct rv_cpu *c = vm->harts[h];
	uint64_t ns = vm->clint.mtimecmp[h] == ~0ULL ? UINT64_MAX : vm_clock_ns_until(&vm->clock, vm->clint.mtimecmp[h]);
	if (c->menvcfg >> 63) {
		uint64_t s = vm_clock_ns_until(&vm->clock, c->stimecmp);
		if (s < ns)
			ns = s;
	}
	return ns;
}

/* Host nanoseconds until some waiting hart's next timer interrupt (UINT64_MAX: none armed). */
static uint64_t timer_wait_ns(struct vm_virt *vm)
{
	uint64_t ns = UINT64_MAX;
	for (unsigned h = 0; h < vm->nharts; h++) {
		uint64_t m = vm_virt_hart_timer_ns(vm, h);
		if (m < ns)
			ns = m;
	}
	return ns;
}

/* Services host events (console input among them), waiting up to timeout_ns. */
static void service(struct vm_virt *vm, uint64_t timeout_ns)
{
	if (vm->loop) {
		vm_loop_poll(vm->loop, timeout_ns);
		vm->last_poll_ns = vm_loop_now_ns();
	}
}

/* While the guest runs: host input is looked at every POLL_INTERVAL_NS, and at once when a
 * loop timer is due (work a device deferred out of a register access: virtio-net's transmit). */
static bool poll_due(const struct vm_virt *vm)
{
	if (!vm->loop)
		return false;
	uint64_t now = vm_loop_now_ns();
	return now - vm->last_poll_ns >= POLL_INTERVAL_NS || now >= vm_loop_deadline_ns(vm->loop);
}

/* Sleeps until the next timer deadline or host event. */
static void wfi_sleep(struct vm_virt *vm)
{
	uint64_t ns = timer_wait_ns(vm);
	if (ns == 0)
		return;
	if (!vm->loop && ns > 10000000)
		ns = 10000000; /* no event loop to wake us: re-check the console every 10 ms */
	if (vm->loop) {
		service(vm, ns);
	} else {
		struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
		nanosleep(&ts, NULL);
	}
}

/* The power button (if the board has one) tells the guest; the POWERDOWN event went out with
 * the request. Taken at a batch boundary whether the VM runs or not (as QEMU: the event comes
 * at once, the guest acts when it runs). */
void vm_virt_take_powerdown(struct vm_virt *vm)
{
	vm->powerdown_req = false;
	if (vm->powerdown_hook)
		vm->powerdown_hook(vm->powerdown_opaque);
}

/* One hart's turn with several harts: up to QUANTUM of its instructions, in batches with
 * the interrupt lines brought up to date between them, until it waits for an interrupt.
 * Its LR reservation ends with the turn: another hart may write the address before its
 * next one (an SC then fails, which the architecture allows; the LR/SC loop retries). */
static void run_turn(struct vm_virt *vm, struct rv_cpu *c)
{
	uint64_t start = c->instret;
	for (int batches = 0; batches < MAX_TURN_BATCHES && !vm->exit.requested && !vm->stop_requested; batches++) {
		uint64_t done = c->instret - start;
		if (done >= QUANTUM)
			break;
		if (batches)
			update_irqs(vm, vm_clock_mtime(&vm->clock));
		rv_check_interrupts(c);
		if (c->wfi) {
			if (!rv_irq_wake(c))
				break;
			c->wfi = false;
		}
		rv_run(c, (int64_t)(QUANTUM - done), RV_RUN_BATCH);
	}
	c->resv_addr = ~0ULL;
}

/* Several harts, deterministically: each takes its turn in hart order on this thread; when
 * every hart waits for an interrupt the loop sleeps until a timer or host event. */
static int run_harts(struct vm_virt *vm, uint64_t max_insns)
{
	uint64_t start = vm->cpu.instret;
	while (!vm->exit.requested && !vm->stop_requested) {
		if (vm->powerdown_req)
			vm_virt_take_powerdown(vm);
		if (max_insns && vm->cpu.instret - start >= max_insns)
			return 0;
		bool ran = false;
		for (unsigned h = 0; h < vm->nharts && !vm->exit.requested && !vm->stop_requested; h++) {
			struct rv_cpu *c = vm->harts[h];
			update_irqs(vm, vm_clock_mtime(&vm->clock));
			if (c->wfi && !rv_irq_wake(c))
				continue;
			run_turn(vm, c);
			ran = true;
		}
		if (!ran && !vm->exit.requested && !vm->stop_requested)
			wfi_sleep(vm);
		else if (poll_due(vm))
			service(vm, 0);
	}
	return vm->exit.requested ? 1 : 0;
}

int vm_virt_run(struct vm_virt *vm, uint64_t max_insns)
{
	if (vm->mt && !max_insns) /* thread=multi; counted runs (the GDB stub) take turns here */
		return vm_mt_run(vm);
	if (vm->nharts > 1)
		return run_harts(vm, max_insns);
	uint64_t start = vm->cpu.instret;
	while (!vm->exit.requested && !vm->stop_requested) {
		if (vm->powerdown_req)
			vm_virt_take_powerdown(vm);
		update_irqs(vm, vm_clock_mtime(&vm->clock));
		rv_check_interrupts(&vm->cpu);
		if (vm->cpu.wfi) {
			if (rv_irq_wake(&vm->cpu)) {
				vm->cpu.wfi = false;
			} else {
				wfi_sleep(vm);
				continue;
			}
		}
		int64_t batch = BATCH;
		if (max_insns) {
			uint64_t done = vm->cpu.instret - start;
			if (done >= max_insns)
				return 0;
			if (max_insns - done < (uint64_t)batch)
				batch = (int64_t)(max_insns - done);
		}
		rv_run(&vm->cpu, batch, max_insns ? RV_RUN_EXACT : RV_RUN_BATCH);
		if (poll_due(vm))
			service(vm, 0);
	}
	return vm->exit.requested ? 1 : 0;
}

/* One instruction (or trap) on hart c; false when it waits in WFI with nothing to wake it. */
static bool step_hart(struct rv_cpu *c)
{
	if (!rv_check_interrupts(c)) {
		if (c->wfi && !rv_irq_wake(c))
			return false;
		c->wfi = false;
		rv_run(c, 1, RV_RUN_EXACT);
	}
	return true;
}

int vm_virt_step(struct vm_virt *vm, int hart)
{
	bool ran = false;
	update_irqs(vm, vm_clock_mtime(&vm->clock));
	for (unsigned h = 0; h < vm->nharts && !vm->exit.requested; h++)
		if (hart < 0 || (unsigned)hart == h)
			ran |= step_hart(vm->harts[h]);
	if (!ran && !vm->exit.requested)
		wfi_sleep(vm);
	return vm->exit.requested;
}

/* ---- control ---- */

int vm_virt_on_event(struct vm_virt *vm, vm_event_cb cb, void *opaque)
{
	if (vm->nevents == (int)(sizeof(vm->event_cb) / sizeof(vm->event_cb[0])))
		return -1;
	vm->event_cb[vm->nevents] = cb;
	vm->event_opaque[vm->nevents++] = opaque;
	return 0;
}

void vm_virt_emit(struct vm_virt *vm, const char *name, const char *data_json)
{
	for (int i = 0; i < vm->nevents; i++)
		vm->event_cb[i](vm->event_opaque[i], name, data_json ? data_json : "{}");
}

bool vm_virt_running(const struct vm_virt *vm)
{
	return vm->state == VM_RUN_RUNNING;
}

void vm_virt_set_state(struct vm_virt *vm, enum vm_runstate s)
{
	bool was = vm->state == VM_RUN_RUNNING;
	if (was && s != VM_RUN_RUNNING)
		vm_mt_quiesce(vm); /* thread=multi: every hart between instructions */
	vm->state = s;
	if (was && s != VM_RUN_RUNNING)
		vm_clock_pause(&vm->clock);
	else if (!was && s == VM_RUN_RUNNING)
		vm_clock_resume(&vm->clock);
}

void vm_virt_stop(struct vm_virt *vm)
{
	vm_virt_stop_as(vm, VM_RUN_PAUSED);
}

void vm_virt_stop_as(struct vm_virt *vm, enum vm_runstate s)
{
	if (vm->state != VM_RUN_RUNNING)
		return;
	vm_virt_set_state(vm, s);
	vm->stop_requested = true; /* vm_virt_run returns at the next batch */
	if (vm->mt && vm->loop) /* thread=multi: a device on a hart thread may stop the VM */
		vm_loop_kick(vm->loop);
	vm_virt_emit(vm, "STOP", NULL);
}

void vm_virt_cont(struct vm_virt *vm)
{
	if (vm->state == VM_RUN_RUNNING)
		return;
	vm_virt_set_state(vm, VM_RUN_RUNNING);
	/* a stop's request to leave vm_virt_run is spent; a pending reset or quit keeps its own */
	vm->stop_requested = vm->reset_req || vm->quit_req;
	vm_virt_emit(vm, "RESUME", NULL);
}

/* The request's event goes out at once (as QEMU's does, before the monitor's reply); the
 * main loop acts on it at the next batch boundary. */
void vm_virt_system_reset(struct vm_virt *vm)
{
	vm_virt_emit(vm, "RESET", "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}");
	vm->reset_req = true;
	vm->stop_requested = true; /* vm_virt_run returns; the main loop resets */
	if (vm->loop)
		vm_loop_kick(vm->loop);
}

void vm_virt_system_powerdown(struct vm_virt *vm)
{
	vm_virt_emit(vm, "POWERDOWN", NULL);
	vm->powerdown_req = true; /* vm_virt_run takes it at the next batch */
	if (vm->loop)
		vm_loop_kick(vm->loop);
}

void vm_virt_quit(struct vm_virt *vm, int code)
{
	vm->quit_req = true;
	vm->quit_code = code;
	vm->stop_requested = true; /* a running guest leaves vm_virt_run at the next batch */
	if (vm->loop)
		vm_loop_kick(vm->loop);
}

/* A reset from the guest or the monitor: QEMU's RESET event, then the board restarts. */
static int do_reset(struct vm_virt *vm, bool guest)
{
	char err[256];
	if (guest) /* a host request announced itself in vm_virt_system_reset */
		vm_virt_emit(vm, "RESET", "{\"guest\": true, \"reason\": \"guest-reset\"}");
	if (vm_virt_reset_now(vm, err, sizeof(err))) {
		fprintf(stderr, "strata-vm: reset failed: %s\n", err);
		return -1;
	}
	return 0;
}

/* The guest powered off or asked for a reset through the test device. Returns true when the
 * main loop must end (exit code in vm->quit_code). */
static bool guest_exit(struct vm_virt *vm)
{
	struct vm_exit_state e = vm->exit;
	vm->exit = (struct vm_exit_state){ 0 };
	if (e.reset && !vm->cfg.no_reboot) {
		if (do_reset(vm, true) == 0)
			return false;
		vm->quit_code = 1;
		return true;
	}
	vm_virt_emit(vm, "SHUTDOWN", e.reset ? "{\"guest\": true, \"reason\": \"guest-reset\"}"
					     : "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
	if (vm->cfg.no_shutdown && !e.reset) {
		vm_virt_set_state(vm, VM_RUN_SHUTDOWN);
		vm_virt_emit(vm, "STOP", NULL);
		return false;
	}
	vm->quit_code = e.code;
	return true;
}

int vm_virt_main(struct vm_virt *vm)
{
	for (;;) {
		if (vm->quit_req)
			return vm->quit_code;
		if (vm->reset_req) {
			vm->reset_req = false;
			if (do_reset(vm, false))
				return 1;
			if (vm->state == VM_RUN_SHUTDOWN)
				vm_virt_set_state(vm, VM_RUN_PAUSED);
		}
		if (vm->powerdown_req)
			vm_virt_take_powerdown(vm);
		if (vm->state != VM_RUN_RUNNING) {
			service(vm, UINT64_MAX); /* stopped: only the monitor and host events run */
			continue;
		}
		vm->stop_requested = false;
		int exited = vm->debug_run ? vm->debug_run(vm, vm->debug_opaque) : vm_virt_run(vm, 0);
		if (exited && guest_exit(vm))
			return vm->quit_code;
		if (vm->stop_requested && vm->state == VM_RUN_RUNNING)
			service(vm, 0);
	}
}
