/* virt.c - board assembly and the run loop. Between batches of instructions the loop
 * updates the timer lines, delivers interrupts, services the console and sleeps in WFI
 * until the next timer deadline. */
#include "emulator/machine/virt.h"
#include "emulator/machine/elf.h"
#include "emulator/machine/fdt.h"
#include "emulator/machine/loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 8192
#define KERNEL_ALIGN 0x200000ULL /* the kernel starts at the next 2 MiB boundary after firmware, as on QEMU */
#define FW_DYNAMIC_MAGIC 0x4942534fULL /* "OSBI": OpenSBI's fw_dynamic_info */
#define WFI_MAX_SLEEP_NS 10000000ULL /* re-check the console at least every 10 ms */

static uint64_t read_mtime(void *opaque)
{
	return vm_clock_mtime(opaque);
}

/* The device tree firmware and kernels read: the board as QEMU virt describes it. */
static int build_fdt(const struct vm_virt *vm, const struct vm_virt_config *cfg, uint64_t initrd_start,
		     uint64_t initrd_end, uint8_t **dtb, size_t *len)
{
	struct vm_fdt f;
	uint64_t ram = vm->bus.ram_size;
	vm_fdt_init(&f);
	vm_fdt_begin(&f, "");
	vm_fdt_prop_u32(&f, "#address-cells", 2);
	vm_fdt_prop_u32(&f, "#size-cells", 2);
	vm_fdt_prop_str(&f, "compatible", "riscv-virtio");
	vm_fdt_prop_str(&f, "model", "strata-vm,virt");

	vm_fdt_begin(&f, "chosen");
	vm_fdt_prop_str(&f, "bootargs", cfg->append ? cfg->append : "");
	vm_fdt_prop_str(&f, "stdout-path", "/soc/serial@10000000");
	if (initrd_end) { /* one cell each, as QEMU 7.2 writes them */
		vm_fdt_prop_u32(&f, "linux,initrd-start", (uint32_t)initrd_start);
		vm_fdt_prop_u32(&f, "linux,initrd-end", (uint32_t)initrd_end);
	}
	vm_fdt_end(&f);

	vm_fdt_begin(&f, "memory@80000000");
	vm_fdt_prop_str(&f, "device_type", "memory");
	vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)VM_VIRT_RAM_BASE, (uint32_t)(ram >> 32), (uint32_t)ram }, 4);
	vm_fdt_end(&f);

	vm_fdt_begin(&f, "cpus");
	vm_fdt_prop_u32(&f, "#address-cells", 1);
	vm_fdt_prop_u32(&f, "#size-cells", 0);
	vm_fdt_prop_u32(&f, "timebase-frequency", 10000000);
	vm_fdt_begin(&f, "cpu@0");
	vm_fdt_prop_str(&f, "device_type", "cpu");
	vm_fdt_prop_u32(&f, "reg", 0);
	vm_fdt_prop_str(&f, "status", "okay");
	vm_fdt_prop_str(&f, "compatible", "riscv");
	vm_fdt_prop_str(&f, "riscv,isa", "rv64imafdc_zicsr_zifencei_zihintpause_sstc");
	vm_fdt_prop_str(&f, "mmu-type", "riscv,sv57");
	vm_fdt_begin(&f, "interrupt-controller");
	vm_fdt_prop_u32(&f, "#interrupt-cells", 1);
	vm_fdt_prop(&f, "interrupt-controller", NULL, 0);
	vm_fdt_prop_str(&f, "compatible", "riscv,cpu-intc");
	vm_fdt_prop_u32(&f, "phandle", 1);
	vm_fdt_end(&f);
	vm_fdt_end(&f);
	vm_fdt_end(&f);

	vm_fdt_begin(&f, "soc");
	vm_fdt_prop_u32(&f, "#address-cells", 2);
	vm_fdt_prop_u32(&f, "#size-cells", 2);
	vm_fdt_prop_str(&f, "compatible", "simple-bus");
	vm_fdt_prop(&f, "ranges", NULL, 0);

	vm_fdt_begin(&f, "clint@2000000");
	vm_fdt_prop(&f, "compatible", "sifive,clint0\0riscv,clint0", 27);
	vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)VM_VIRT_CLINT_BASE, 0, 0x10000 }, 4);
	vm_fdt_prop_cells(&f, "interrupts-extended", (uint32_t[]){ 1, RV_IRQ_MSI, 1, RV_IRQ_MTI }, 4);
	vm_fdt_end(&f);

	/* listed from the highest slot down, as QEMU's virt lists them */
	for (int i = VM_VIRT_VIRTIO_SLOTS - 1; i >= 0; i--) {
		uint64_t base = VM_VIRT_VIRTIO_BASE + 0x1000ull * (unsigned)i;
		char name[32];
		snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)base);
		vm_fdt_begin(&f, name);
		vm_fdt_prop_u32(&f, "interrupts", (uint32_t)i + 1);
		vm_fdt_prop_u32(&f, "interrupt-parent", 2);
		vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)base, 0, 0x1000 }, 4);
		vm_fdt_prop_str(&f, "compatible", "virtio,mmio");
		vm_fdt_end(&f);
	}

	vm_fdt_begin(&f, "plic@c000000");
	vm_fdt_prop(&f, "compatible", "sifive,plic-1.0.0\0riscv,plic0", 30);
	vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)VM_VIRT_PLIC_BASE, 0, 0x400000 }, 4);
	vm_fdt_prop_u32(&f, "#interrupt-cells", 1);
	vm_fdt_prop_u32(&f, "#address-cells", 0);
	vm_fdt_prop(&f, "interrupt-controller", NULL, 0);
	vm_fdt_prop_u32(&f, "riscv,ndev", VM_PLIC_SOURCES - 1);
	vm_fdt_prop_cells(&f, "interrupts-extended", (uint32_t[]){ 1, RV_IRQ_MEI, 1, RV_IRQ_SEI }, 4);
	vm_fdt_prop_u32(&f, "phandle", 2);
	vm_fdt_end(&f);

	vm_fdt_begin(&f, "serial@10000000");
	vm_fdt_prop_str(&f, "compatible", "ns16550a");
	vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)VM_VIRT_UART_BASE, 0, 0x100 }, 4);
	vm_fdt_prop_u32(&f, "clock-frequency", 3686400);
	vm_fdt_prop_u32(&f, "interrupt-parent", 2);
	vm_fdt_prop_u32(&f, "interrupts", VM_VIRT_UART_IRQ);
	vm_fdt_end(&f);

	vm_fdt_begin(&f, "test@100000");
	vm_fdt_prop(&f, "compatible", "sifive,test1\0sifive,test0\0syscon", 33);
	vm_fdt_prop_cells(&f, "reg", (uint32_t[]){ 0, (uint32_t)VM_VIRT_TEST_BASE, 0, 0x1000 }, 4);
	vm_fdt_prop_u32(&f, "phandle", 3);
	vm_fdt_end(&f);
	vm_fdt_end(&f); /* soc */

	vm_fdt_begin(&f, "poweroff");
	vm_fdt_prop_str(&f, "compatible", "syscon-poweroff");
	vm_fdt_prop_u32(&f, "regmap", 3);
	vm_fdt_prop_u32(&f, "offset", 0);
	vm_fdt_prop_u32(&f, "value", 0x5555);
	vm_fdt_end(&f);
	vm_fdt_begin(&f, "reboot");
	vm_fdt_prop_str(&f, "compatible", "syscon-reboot");
	vm_fdt_prop_u32(&f, "regmap", 3);
	vm_fdt_prop_u32(&f, "offset", 0);
	vm_fdt_prop_u32(&f, "value", 0x7777);
	vm_fdt_end(&f);
	vm_fdt_end(&f); /* root */
	return vm_fdt_finish(&f, dtb, len);
}

/* Loads an ELF, (gzip) Image or raw binary (emulator/machine/loader.c); HTIF if it has tohost. */
static int load_image(struct vm_virt *vm, const char *path, uint64_t raw_addr, struct vm_kernel_info *info,
		      char *err, size_t errlen)
{
	int rc = vm_load_kernel(&vm->bus, path, raw_addr, info, err, errlen);
	if (rc == 0 && info->tohost)
		vm_htif_init(&vm->htif, &vm->bus, info->tohost, info->fromhost, vm->uart.out, &vm->exit);
	return rc;
}

/* Firmware, kernel, device tree and the boot registers, as QEMU's reset code sets them:
 * a0 = hart id, a1 = device tree, a2 = fw_dynamic_info (for OpenSBI's fw_dynamic). */
static int load_images(struct vm_virt *vm, const struct vm_virt_config *cfg, char *err, size_t errlen)
{
	uint64_t entry = VM_VIRT_RAM_BASE, kernel_start = VM_VIRT_RAM_BASE;
	uint64_t kernel_entry = VM_VIRT_RAM_BASE + KERNEL_ALIGN, initrd_start = 0, initrd_end = 0;
	struct vm_kernel_info fw, k = { 0 };
	int rc;
	if (cfg->bios) {
		if ((rc = load_image(vm, cfg->bios, VM_VIRT_RAM_BASE, &fw, err, errlen)))
			return rc;
		entry = fw.entry;
		kernel_start = (fw.end + KERNEL_ALIGN - 1) & ~(KERNEL_ALIGN - 1);
	}
	if (cfg->kernel) {
		if ((rc = load_image(vm, cfg->kernel, kernel_start, &k, err, errlen)))
			return rc;
		/* QEMU hands firmware the lowest address of an ELF, not its entry point */
		kernel_entry = cfg->bios ? k.low : k.entry;
		if (!cfg->bios)
			entry = k.entry;
	}
	if (cfg->initrd) {
		if (!cfg->kernel) {
			snprintf(err, errlen, "-initrd %s needs -kernel", cfg->initrd);
			return -EINVAL;
		}
		/* QEMU measures from the kernel's lowest address (its "kernel entry") */
		initrd_start = vm_initrd_addr(k.low, vm->bus.ram_size);
		rc = vm_load_initrd(&vm->bus, cfg->initrd, initrd_start, vm->bus.ram_base + vm->bus.ram_size, k.low,
				    k.end, &initrd_end, err, errlen);
		if (rc)
			return rc;
	}
	uint8_t *dtb;
	size_t dtb_len;
	rc = build_fdt(vm, cfg, initrd_start, initrd_end, &dtb, &dtb_len);
	if (rc) {
		snprintf(err, errlen, "cannot build the device tree: %s", strerror(-rc));
		return rc;
	}
	if (cfg->dumpdtb) {
		FILE *f = fopen(cfg->dumpdtb, "wb");
		bool ok = f && fwrite(dtb, 1, dtb_len, f) == dtb_len;
		if (f && fclose(f))
			ok = false;
		free(dtb);
		snprintf(err, errlen, ok ? "info: dtb dumped to %s. Exiting." : "%s: cannot write the device tree",
			 cfg->dumpdtb);
		return ok ? -ECANCELED : -EIO;
	}
	/* device tree in the last 2 MiB-aligned block that holds it, boot info just below */
	uint64_t ram_end = vm->bus.ram_base + vm->bus.ram_size;
	uint64_t fdt_addr = (ram_end - dtb_len) & ~0x1fffffULL;
	uint64_t info_addr = fdt_addr - 64;
	uint8_t *p = vm_bus_ram(&vm->bus, fdt_addr, dtb_len);
	if (!p || fdt_addr < VM_VIRT_RAM_BASE + 0x400000) {
		free(dtb);
		snprintf(err, errlen, "RAM too small for the device tree");
		return -ENOMEM;
	}
	if (initrd_end > fdt_addr) {
		free(dtb);
		snprintf(err, errlen, "%s: initrd too large: it would overlap the device tree at 0x%llx", cfg->initrd,
			 (unsigned long long)fdt_addr);
		return -EFBIG;
	}
	memcpy(p, dtb, dtb_len);
	free(dtb);
	uint64_t info[6] = { FW_DYNAMIC_MAGIC, 2, kernel_entry, 1 /* S-mode */, 0, 0 /* boot hart */ };
	memcpy(vm_bus_ram(&vm->bus, info_addr, sizeof(info)), info, sizeof(info));
	rv_cpu_reset(&vm->cpu, entry);
	vm->cpu.x[10] = 0;
	vm->cpu.x[11] = fdt_addr;
	vm->cpu.x[12] = info_addr;
	return 0;
}

/* Guest RAM written by a device: decoded or compiled code there is stale. */
static void dma_written(void *opaque, uint64_t pa, uint64_t len)
{
	rv_code_write(opaque, pa, len);
}

/* Eight virtio-mmio slots; disk k sits in slot 7 - k (QEMU fills them from the top). */
static int add_virtio(struct vm_virt *vm, const struct vm_virt_config *cfg)
{
	int rc;
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++) {
		int k = VM_VIRT_VIRTIO_SLOTS - 1 - i;
		const struct vm_virtio_dev *dev = NULL;
		if (k < cfg->ndisks) {
			const struct vm_virt_disk *d = &cfg->disks[k];
			if ((rc = vm_virtio_blk_init(&vm->blk[i], d->img, d->readonly, d->discard, d->writethrough)))
				return rc;
			dev = &vm->blk[i].dev;
		}
		rc = vm_virtio_mmio_init(&vm->virtio[i], &vm->bus, VM_VIRT_VIRTIO_BASE + 0x1000ull * (unsigned)i,
					 !cfg->virtio_modern, dev);
		if (rc)
			return rc;
		vm->virtio[i].dma_written = dma_written;
		vm->virtio[i].dma_opaque = &vm->cpu;
	}
	return 0;
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
	    (rc = vm_sifive_test_init(&vm->exit, &vm->bus, VM_VIRT_TEST_BASE)) ||
	    (rc = add_virtio(vm, cfg))) {
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
	rc = load_images(vm, cfg, err, errlen);
	if (rc)
		goto out_cpu;
	return 0;

out_cpu:
	rv_cpu_destroy(&vm->cpu);
out_bus:
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++)
		vm_virtio_blk_destroy(&vm->blk[i]);
	vm_bus_destroy(&vm->bus);
	return rc;
}

void vm_virt_destroy(struct vm_virt *vm)
{
	rv_cpu_destroy(&vm->cpu);
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++)
		vm_virtio_blk_destroy(&vm->blk[i]);
	vm_bus_destroy(&vm->bus);
}

static void update_irqs(struct vm_virt *vm, uint64_t now)
{
	rv_set_irq(&vm->cpu, RV_IRQ_MTI, now >= vm->clint.mtimecmp);
	rv_set_irq(&vm->cpu, RV_IRQ_MSI, vm->clint.msip & 1);
	rv_update_sstc(&vm->cpu);
	vm_plic_set(&vm->plic, VM_VIRT_UART_IRQ, vm_uart_irq(&vm->uart));
	for (unsigned i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++)
		vm_plic_set(&vm->plic, i + 1, vm_virtio_mmio_irq(&vm->virtio[i]));
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
