/* virt.c - board assembly and the run loop. Between batches of instructions the loop
 * updates the timer lines, delivers interrupts, services the console and sleeps in WFI
 * until the next timer deadline. */
#include "emulator/machine/virt.h"
#include "emulator/machine/elf.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define BATCH 8192
#define WFI_MAX_SLEEP_NS 10000000ULL /* re-check the console at least every 10 ms */

static uint64_t read_mtime(void *opaque)
{
	return vm_clock_mtime(opaque);
}

int vm_virt_create(struct vm_virt *vm, const struct vm_virt_config *cfg, char *err, size_t errlen)
{
	int rc;
	memset(vm, 0, sizeof(*vm));
	rc = vm_bus_init(&vm->bus, VM_VIRT_RAM_BASE, cfg->ram_size);
	if (rc) {
		snprintf(err, errlen, "cannot allocate %llu bytes of guest RAM: %s", (unsigned long long)cfg->ram_size,
			 strerror(-rc));
		return rc;
	}
	vm_clock_init(&vm->clock);
	if ((rc = vm_uart_init(&vm->uart, &vm->bus, VM_VIRT_UART_BASE, cfg->console_out, cfg->console_in)) ||
	    (rc = vm_clint_init(&vm->clint, &vm->bus, VM_VIRT_CLINT_BASE, &vm->clock)) ||
	    (rc = vm_plic_init(&vm->plic, &vm->bus, VM_VIRT_PLIC_BASE)) ||
	    (rc = vm_sifive_test_init(&vm->exit, &vm->bus, VM_VIRT_TEST_BASE))) {
		snprintf(err, errlen, "cannot set up devices: %s", strerror(-rc));
		goto out_bus;
	}
	rc = rv_cpu_init(&vm->cpu, &vm->bus);
	if (rc) {
		snprintf(err, errlen, "cannot set up the CPU: %s", strerror(-rc));
		goto out_bus;
	}
	vm->cpu.read_time = read_mtime;
	vm->cpu.time_opaque = &vm->clock;
	if (cfg->kernel) {
		struct vm_elf_info info;
		rc = vm_elf_load(&vm->bus, cfg->kernel, &info, err, errlen);
		if (rc)
			goto out_cpu;
		rv_cpu_reset(&vm->cpu, info.entry);
		if (info.tohost)
			vm_htif_init(&vm->htif, &vm->bus, info.tohost, info.fromhost, cfg->console_out, &vm->exit);
	}
	/* as QEMU's reset code does: a0 = hart id, a1 = device tree (none yet) */
	vm->cpu.x[10] = 0;
	vm->cpu.x[11] = 0;
	return 0;

out_cpu:
	rv_cpu_destroy(&vm->cpu);
out_bus:
	vm_bus_destroy(&vm->bus);
	return rc;
}

void vm_virt_destroy(struct vm_virt *vm)
{
	rv_cpu_destroy(&vm->cpu);
	vm_bus_destroy(&vm->bus);
}

static void update_irqs(struct vm_virt *vm, uint64_t now)
{
	rv_set_irq(&vm->cpu, RV_IRQ_MTI, now >= vm->clint.mtimecmp);
	rv_set_irq(&vm->cpu, RV_IRQ_MSI, vm->clint.msip & 1);
	rv_update_sstc(&vm->cpu);
	vm_plic_set(&vm->plic, VM_VIRT_UART_IRQ, vm_uart_irq(&vm->uart));
	rv_set_irq(&vm->cpu, RV_IRQ_MEI, vm_plic_line(&vm->plic, 0));
	rv_set_irq(&vm->cpu, RV_IRQ_SEI, vm_plic_line(&vm->plic, 1));
}

/* Sleeps until the next timer deadline, a console poll or a stop request. */
static void wfi_sleep(struct vm_virt *vm)
{
	uint64_t ns = vm_clock_ns_until(&vm->clock, vm->clint.mtimecmp);
	if (vm->cpu.menvcfg >> 63) {
		uint64_t s = vm_clock_ns_until(&vm->clock, vm->cpu.stimecmp);
		if (s < ns)
			ns = s;
	}
	if (ns > WFI_MAX_SLEEP_NS)
		ns = WFI_MAX_SLEEP_NS;
	if (ns == 0)
		return;
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);
}

int vm_virt_run(struct vm_virt *vm, uint64_t max_insns)
{
	uint64_t start = vm->cpu.instret;
	while (!vm->exit.requested && !vm->stop_requested) {
		update_irqs(vm, vm_clock_mtime(&vm->clock));
		rv_check_interrupts(&vm->cpu);
		if (vm->cpu.wfi) {
			if (rv_irq_wake(&vm->cpu)) {
				vm->cpu.wfi = false;
			} else {
				vm_uart_poll(&vm->uart);
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
		rv_run(&vm->cpu, batch);
		vm_uart_poll(&vm->uart);
	}
	vm_uart_poll(&vm->uart);
	return vm->exit.requested ? 1 : 0;
}

int vm_virt_step(struct vm_virt *vm)
{
	update_irqs(vm, vm_clock_mtime(&vm->clock));
	if (!rv_check_interrupts(&vm->cpu)) {
		if (vm->cpu.wfi && !rv_irq_wake(&vm->cpu)) {
			wfi_sleep(vm);
			return vm->exit.requested;
		}
		vm->cpu.wfi = false;
		rv_run(&vm->cpu, 1);
	}
	vm_uart_poll(&vm->uart);
	return vm->exit.requested;
}
