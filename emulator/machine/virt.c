/* virt.c - board assembly (a device list), boot images and the device tree. The run loop
 * and the control verbs are in run.c. */
#include "emulator/machine/virt.h"
#include "emulator/cpu/isa.h"
#include "emulator/devices/mrom.h"
#include "emulator/machine/devstate.h"
#include "emulator/machine/elf.h"
#include "emulator/machine/fdt.h"
#include "emulator/machine/loader.h"
#include "emulator/machine/mttcg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL_ALIGN 0x200000ULL /* the kernel starts at the next 2 MiB boundary after firmware, as on QEMU */
#define FDT_QEMU_SIZE 0x100000ULL /* QEMU places a 1 MiB tree buffer: its address follows from that */
#define FDT_LIMIT 0xc0000000ULL   /* QEMU keeps the tree below 3 GiB (32-bit kernels reach it) */

static uint64_t read_mtime(void *opaque)
{
	return vm_clock_mtime(opaque);
}

/* Device-tree phandles numbered as QEMU virt numbers them: the harts from the last down (the
 * cpu node, then its interrupt controller), then the PLIC, then the test device. */
static uint32_t cpu_phandle(unsigned harts, unsigned i)
{
	return 2 * (harts - 1 - i) + 1;
}

static uint32_t intc_phandle(unsigned harts, unsigned i)
{
	return 2 * (harts - 1 - i) + 2;
}

static uint32_t plic_phandle(unsigned harts)
{
	return 2 * harts + 1;
}

static uint32_t test_phandle(unsigned harts)
{
	return 2 * harts + 2;
}

/* The device tree firmware and kernels read: the board as QEMU virt describes it. */
static int build_fdt(const struct vm_virt *vm, const struct vm_virt_config *cfg, uint64_t initrd_start,
		     uint64_t initrd_end, uint8_t **dtb, size_t *len)
{
	struct vm_fdt f;
	uint64_t ram = vm->bus.ram_size;
	vm_fdt_init(&f);
	f.harts = vm->nharts;
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
	uint32_t ext = rv_ext_select(cfg->cpu_ext_on, cfg->cpu_ext_off);
	char isa[160];
	rv_isa_string(ext, isa, sizeof(isa));
	char exts[320];
	size_t elen = rv_isa_extensions(ext, exts, sizeof(exts));
	for (unsigned i = 0; i < vm->nharts; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cpu@%u", i);
		vm_fdt_begin(&f, name);
		vm_fdt_prop_u32(&f, "phandle", cpu_phandle(vm->nharts, i));
		vm_fdt_prop_str(&f, "device_type", "cpu");
		vm_fdt_prop_u32(&f, "reg", i);
		vm_fdt_prop_str(&f, "status", "okay");
		vm_fdt_prop_str(&f, "compatible", "riscv");
		vm_fdt_prop_str(&f, "riscv,isa", isa);
		vm_fdt_prop(&f, "riscv,isa-extensions", exts, elen <= sizeof(exts) ? elen : 0);
		vm_fdt_prop_str(&f, "riscv,isa-base", "rv64i");
		if (ext & RV_EXT_ZICBOM)
			vm_fdt_prop_u32(&f, "riscv,cbom-block-size", RV_CBO_BLOCK);
		if (ext & RV_EXT_ZICBOZ)
			vm_fdt_prop_u32(&f, "riscv,cboz-block-size", RV_CBO_BLOCK);
		vm_fdt_prop_str(&f, "mmu-type", "riscv,sv57");
		vm_fdt_begin(&f, "interrupt-controller");
		vm_fdt_prop_u32(&f, "#interrupt-cells", 1);
		vm_fdt_prop(&f, "interrupt-controller", NULL, 0);
		vm_fdt_prop_str(&f, "compatible", "riscv,cpu-intc");
		vm_fdt_prop_u32(&f, "phandle", intc_phandle(vm->nharts, i));
		vm_fdt_end(&f);
		vm_fdt_end(&f);
	}
	vm_fdt_begin(&f, "cpu-map"); /* one socket: cluster0 with a core per hart, as QEMU virt */
	vm_fdt_begin(&f, "cluster0");
	for (unsigned i = 0; i < vm->nharts; i++) {
		char name[32];
		snprintf(name, sizeof(name), "core%u", i);
		vm_fdt_begin(&f, name);
		vm_fdt_prop_u32(&f, "cpu", cpu_phandle(vm->nharts, i));
		vm_fdt_end(&f);
	}
	vm_fdt_end(&f);
	vm_fdt_end(&f);
	vm_fdt_end(&f); /* cpus */

	vm_fdt_begin(&f, "soc");
	vm_fdt_prop_u32(&f, "#address-cells", 2);
	vm_fdt_prop_u32(&f, "#size-cells", 2);
	vm_fdt_prop_str(&f, "compatible", "simple-bus");
	vm_fdt_prop(&f, "ranges", NULL, 0);

	for (int i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].fdt_node)
			vm->devs[i].fdt_node(&vm->devs[i], &f);
	vm_fdt_end(&f); /* soc */

	vm_fdt_begin(&f, "poweroff");
	vm_fdt_prop_str(&f, "compatible", "syscon-poweroff");
	vm_fdt_prop_u32(&f, "regmap", test_phandle(vm->nharts));
	vm_fdt_prop_u32(&f, "offset", 0);
	vm_fdt_prop_u32(&f, "value", 0x5555);
	vm_fdt_end(&f);
	vm_fdt_begin(&f, "reboot");
	vm_fdt_prop_str(&f, "compatible", "syscon-reboot");
	vm_fdt_prop_u32(&f, "regmap", test_phandle(vm->nharts));
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
		vm_htif_init(&vm->htif, &vm->bus, info->tohost, info->fromhost, vm->uart.chr, &vm->exit);
	return rc;
}

/* `info roms`: what a reset put where, named as QEMU names its ROM blobs. */
static void add_rom_as(struct vm_virt *vm, const char *name, uint64_t addr, uint64_t size, bool in_rom)
{
	if (vm->nroms == VM_VIRT_MAX_ROMS)
		return;
	struct vm_virt_rom *r = &vm->roms[vm->nroms++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->addr = addr;
	r->size = size;
	r->in_rom = in_rom;
}

static void add_rom(struct vm_virt *vm, const char *name, uint64_t addr, uint64_t size)
{
	add_rom_as(vm, name, addr, size, false);
}

static void add_image_roms(struct vm_virt *vm, const char *path, const struct vm_kernel_info *k)
{
	char name[320];
	if (k->kind != VM_KERNEL_ELF) {
		add_rom(vm, path, k->low, k->file_len);
		return;
	}
	for (int i = 0; i < k->elf.nseg; i++) {
		snprintf(name, sizeof(name), "%s ELF program header segment %u", path, k->elf.seg[i].index);
		add_rom(vm, name, k->elf.seg[i].addr, k->elf.seg[i].size);
	}
}

/* The device tree's address as QEMU 7.2 computes it: the last 2 MiB-aligned place for its
 * 1 MiB buffer below the end of RAM or 3 GiB, whichever is lower. */
static uint64_t fdt_address(const struct vm_bus *bus, size_t dtb_len)
{
	uint64_t end = bus->ram_base + bus->ram_size;
	uint64_t size = dtb_len > FDT_QEMU_SIZE ? dtb_len : FDT_QEMU_SIZE;
	if (bus->ram_base < FDT_LIMIT && end > FDT_LIMIT)
		end = FDT_LIMIT;
	return end < size ? 0 : (end - size) & ~0x1fffffULL;
}

/* The mask ROM: every hart starts at its reset vector with zeroed registers and is sent to
 * RAM start, where the firmware (or, with -bios none, the kernel or nothing) was loaded. */
static void setup_mrom(struct vm_virt *vm, uint64_t fdt_addr, uint64_t kernel_entry)
{
	struct vm_mrom_boot boot = { .start = VM_VIRT_RAM_BASE, .fdt = fdt_addr, .next_addr = kernel_entry };
	vm_mrom_fill(vm_bus_rom_data(&vm->bus, VM_MROM_BASE), VM_MROM_SIZE, &boot);
	add_rom_as(vm, "mrom.reset", VM_MROM_BASE, VM_MROM_RESET_LEN, true);
	add_rom_as(vm, "mrom.finfo", VM_MROM_BASE + VM_MROM_RESET_LEN, VM_MROM_FINFO_LEN, true);
	for (unsigned i = 0; i < vm->nharts; i++)
		rv_cpu_reset(vm->harts[i], VM_MROM_BASE);
}

/* Firmware, kernel, device tree and the mask ROM, as QEMU 7.2's virt lays them out. */
static int load_images(struct vm_virt *vm, const struct vm_virt_config *cfg, char *err, size_t errlen)
{
	uint64_t kernel_start = VM_VIRT_RAM_BASE, kernel_entry = 0, initrd_start = 0, initrd_end = 0;
	struct vm_kernel_info fw, k = { 0 };
	int rc;
	vm->nroms = 0;
	if (cfg->bios) {
		if ((rc = load_image(vm, cfg->bios, VM_VIRT_RAM_BASE, &fw, err, errlen))) {
			snprintf(err, errlen, "Unable to load the RISC-V firmware \"%s\"", cfg->bios); /* QEMU's words */
			return rc;
		}
		add_image_roms(vm, cfg->bios, &fw);
		kernel_start = (fw.end + KERNEL_ALIGN - 1) & ~(KERNEL_ALIGN - 1);
	}
	if (cfg->kernel) {
		if ((rc = load_image(vm, cfg->kernel, kernel_start, &k, err, errlen)))
			return rc;
		/* QEMU hands firmware the lowest address of an ELF, not its entry point */
		kernel_entry = k.low;
		add_image_roms(vm, cfg->kernel, &k);
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
		add_rom(vm, cfg->initrd, initrd_start, initrd_end - initrd_start);
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
	uint64_t fdt_addr = fdt_address(&vm->bus, dtb_len);
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
	add_rom(vm, "fdt", fdt_addr, dtb_len);
	setup_mrom(vm, fdt_addr, kernel_entry);
	return 0;
}

/* Guest RAM written by a device: decoded or compiled code there is stale. */
static void dma_written(void *opaque, uint64_t pa, uint64_t len)
{
	rv_code_write(opaque, pa, len);
}

int vm_virt_add_device(struct vm_virt *vm, const struct vm_device *d)
{
	if (vm->ndevs == VM_VIRT_MAX_DEVICES)
		return -ENOSPC;
	vm->devs[vm->ndevs++] = *d;
	return 0;
}

/* ---- device-tree nodes of the board's devices (under /soc) ---- */
static void reg_prop(struct vm_fdt *f, const struct vm_device *d)
{
	vm_fdt_prop_cells(f, "reg", (uint32_t[]){ (uint32_t)(d->base >> 32), (uint32_t)d->base,
						  (uint32_t)(d->size >> 32), (uint32_t)d->size }, 4);
}

static void begin_node(struct vm_fdt *f, const char *prefix, const struct vm_device *d)
{
	char name[64];
	snprintf(name, sizeof(name), "%s@%llx", prefix, (unsigned long long)d->base);
	vm_fdt_begin(f, name);
}

static void clint_node(const struct vm_device *d, struct vm_fdt *f)
{
	begin_node(f, "clint", d);
	vm_fdt_prop(f, "compatible", "sifive,clint0\0riscv,clint0", 27);
	reg_prop(f, d);
	uint32_t cells[4 * VM_MAX_HARTS];
	for (unsigned i = 0; i < f->harts; i++) {
		cells[4 * i] = cells[4 * i + 2] = intc_phandle(f->harts, i);
		cells[4 * i + 1] = RV_IRQ_MSI;
		cells[4 * i + 3] = RV_IRQ_MTI;
	}
	vm_fdt_prop_cells(f, "interrupts-extended", cells, 4 * f->harts);
	vm_fdt_end(f);
}

static void virtio_node(const struct vm_device *d, struct vm_fdt *f)
{
	begin_node(f, "virtio_mmio", d);
	vm_fdt_prop_u32(f, "interrupts", d->irq);
	vm_fdt_prop_u32(f, "interrupt-parent", plic_phandle(f->harts));
	reg_prop(f, d);
	vm_fdt_prop_str(f, "compatible", "virtio,mmio");
	vm_fdt_end(f);
}

static void plic_node(const struct vm_device *d, struct vm_fdt *f)
{
	begin_node(f, "plic", d);
	vm_fdt_prop(f, "compatible", "sifive,plic-1.0.0\0riscv,plic0", 30);
	reg_prop(f, d);
	vm_fdt_prop_u32(f, "#interrupt-cells", 1);
	vm_fdt_prop_u32(f, "#address-cells", 0);
	vm_fdt_prop(f, "interrupt-controller", NULL, 0);
	vm_fdt_prop_u32(f, "riscv,ndev", VM_PLIC_SOURCES - 1);
	uint32_t cells[4 * VM_MAX_HARTS];
	for (unsigned i = 0; i < f->harts; i++) { /* contexts 2i (M) and 2i + 1 (S) */
		cells[4 * i] = cells[4 * i + 2] = intc_phandle(f->harts, i);
		cells[4 * i + 1] = RV_IRQ_MEI;
		cells[4 * i + 3] = RV_IRQ_SEI;
	}
	vm_fdt_prop_cells(f, "interrupts-extended", cells, 4 * f->harts);
	vm_fdt_prop_u32(f, "phandle", plic_phandle(f->harts));
	vm_fdt_end(f);
}

static void uart_node(const struct vm_device *d, struct vm_fdt *f)
{
	begin_node(f, "serial", d);
	vm_fdt_prop_str(f, "compatible", "ns16550a");
	reg_prop(f, d);
	vm_fdt_prop_u32(f, "clock-frequency", 3686400);
	vm_fdt_prop_u32(f, "interrupt-parent", plic_phandle(f->harts));
	vm_fdt_prop_u32(f, "interrupts", d->irq);
	vm_fdt_end(f);
}

static void test_node(const struct vm_device *d, struct vm_fdt *f)
{
	begin_node(f, "test", d);
	vm_fdt_prop(f, "compatible", "sifive,test1\0sifive,test0\0syscon", 33);
	reg_prop(f, d);
	vm_fdt_prop_u32(f, "phandle", test_phandle(f->harts));
	vm_fdt_end(f);
}

static void clint_reset(void *opaque) { vm_clint_reset(opaque); }
static void plic_reset(void *opaque) { vm_plic_reset(opaque); }
static void uart_reset(void *opaque) { vm_uart_reset(opaque); }
static void virtio_reset(void *opaque) { vm_virtio_mmio_power_reset(opaque); }

static bool uart_irq(void *opaque)
{
	return vm_uart_irq(opaque);
}

static bool virtio_irq(void *opaque)
{
	return vm_virtio_mmio_irq(opaque);
}

/* system_powerdown: the power button is pressed and released (lost if the guest has no
 * driver listening, as a press on real hardware would be). */
static void press_power_button(void *opaque)
{
	struct vm_virt *vm = opaque;
	vm_virtio_input_key(&vm->power_button, &vm->virtio[vm->power_button_slot], VM_INPUT_KEY_POWER);
}

/* What sits in virtio-mmio slot i: disks and NICs take the slots from the top in command-line
 * order (QEMU fills them so, in -device creation order), the power button slot 0 if left. */
static const struct vm_virtio_dev *slot_device(struct vm_virt *vm, const struct vm_virt_config *cfg, int i,
					       int *rc)
{
	int k = VM_VIRT_VIRTIO_SLOTS - 1 - i, disk = 0, nic = 0;
	*rc = 0;
	for (int pos = 0; pos < cfg->ndisks + cfg->nnics; pos++) {
		bool is_nic = nic < cfg->nnics && cfg->nics[nic].after_disks <= disk;
		if (pos == k && is_nic) {
			const struct vm_virt_nic *n = &cfg->nics[nic];
			*rc = vm_virtio_net_init(&vm->net[i], n->name, n->mac, n->mrg_rxbuf, !n->no_offloads, n->netdev);
			vm->net[i].dev.features &= ~n->drop_features;
			return *rc ? NULL : &vm->net[i].dev;
		}
		if (pos == k) {
			const struct vm_virt_disk *d = &cfg->disks[disk];
			*rc = vm_virtio_blk_init(&vm->blk[i], d->img, d->readonly, d->discard, d->writethrough);
			return *rc ? NULL : &vm->blk[i].dev;
		}
		if (is_nic)
			nic++;
		else
			disk++;
	}
	return i == vm->power_button_slot ? &vm->power_button.dev : NULL;
}

/* Eight virtio-mmio slots, listed from the highest slot down, as QEMU's device tree lists them. */
static int add_virtio(struct vm_virt *vm, const struct vm_virt_config *cfg)
{
	int rc;
	vm->power_button_slot = -1;
	if (!cfg->no_power_button && cfg->ndisks + cfg->nnics < VM_VIRT_VIRTIO_SLOTS) {
		vm->power_button_slot = 0;
		vm_virtio_input_init_power_button(&vm->power_button);
		vm->powerdown_hook = press_power_button;
		vm->powerdown_opaque = vm;
	}
	for (int i = VM_VIRT_VIRTIO_SLOTS - 1; i >= 0; i--) {
		uint64_t base = VM_VIRT_VIRTIO_BASE + 0x1000ull * (unsigned)i;
		const struct vm_virtio_dev *dev = slot_device(vm, cfg, i, &rc);
		if (rc)
			return rc;
		rc = vm_virtio_mmio_init(&vm->virtio[i], &vm->bus, base, !cfg->virtio_modern, dev);
		if (rc)
			return rc;
		if (dev && dev == &vm->net[i].dev)
			vm_virtio_net_plug(&vm->net[i], &vm->virtio[i]);
		vm->virtio[i].dma_written = dma_written;
		vm->virtio[i].dma_opaque = &vm->cpu;
		struct vm_device d = { .type = "virtio-mmio", .base = base, .size = 0x1000, .irq = (unsigned)i + 1,
				       .opaque = &vm->virtio[i], .irq_level = virtio_irq, .reset = virtio_reset,
				       .fdt_node = virtio_node, .state_version = VM_VIRTIO_STATE_VERSION,
				       .save = vm_virtio_state_save, .load = vm_virtio_state_load };
		snprintf(d.name, sizeof(d.name), "virtio-mmio@%llx", (unsigned long long)base);
		if ((rc = vm_virt_add_device(vm, &d)))
			return rc;
	}
	return 0;
}

/* The board's devices in device-tree order (QEMU's): CLINT, virtio slots, PLIC, UART, test. */
static int add_devices(struct vm_virt *vm, const struct vm_virt_config *cfg)
{
	int rc;
	struct vm_device clint = { .type = "riscv.aclint.swi", .name = "clint", .base = VM_VIRT_CLINT_BASE,
				   .size = 0x10000, .opaque = &vm->clint, .reset = clint_reset, .fdt_node = clint_node,
				   .state_version = VM_CLINT_STATE_VERSION, .save = vm_clint_state_save,
				   .load = vm_clint_state_load };
	struct vm_device plic = { .type = "riscv.sifive.plic", .name = "plic", .base = VM_VIRT_PLIC_BASE,
				  .size = VM_PLIC_SIZE, .opaque = &vm->plic, .reset = plic_reset, .fdt_node = plic_node,
				  .state_version = VM_PLIC_STATE_VERSION, .save = vm_plic_state_save,
				  .load = vm_plic_state_load };
	struct vm_device uart = { .type = "serial", .name = "serial0", .base = VM_VIRT_UART_BASE, .size = 0x100,
				  .irq = VM_VIRT_UART_IRQ, .opaque = &vm->uart, .irq_level = uart_irq,
				  .reset = uart_reset, .fdt_node = uart_node, .state_version = VM_UART_STATE_VERSION,
				  .save = vm_uart_state_save, .load = vm_uart_state_load };
	struct vm_device test = { .type = "riscv.sifive.test", .name = "test", .base = VM_VIRT_TEST_BASE,
				  .size = 0x1000, .opaque = &vm->exit, .fdt_node = test_node,
				  .state_version = VM_TEST_STATE_VERSION, .save = vm_test_state_save,
				  .load = vm_test_state_load };
	if ((rc = vm_clint_init(&vm->clint, &vm->bus, VM_VIRT_CLINT_BASE, &vm->clock, vm->nharts)) ||
	    (rc = vm_virt_add_device(vm, &clint)) || (rc = add_virtio(vm, cfg)) ||
	    (rc = vm_plic_init(&vm->plic, &vm->bus, VM_VIRT_PLIC_BASE, vm->nharts)) || (rc = vm_virt_add_device(vm, &plic)) ||
	    (rc = vm_uart_init(&vm->uart, &vm->bus, VM_VIRT_UART_BASE, cfg->serial)) ||
	    (rc = vm_virt_add_device(vm, &uart)) ||
	    (rc = vm_sifive_test_init(&vm->exit, &vm->bus, VM_VIRT_TEST_BASE)) || (rc = vm_virt_add_device(vm, &test)))
		return rc;
	return 0;
}

static void destroy_harts(struct vm_virt *vm)
{
	for (unsigned i = 0; i < vm->nharts; i++) {
		if (!vm->harts[i] || !vm->harts[i]->dpages)
			continue;
		rv_cpu_destroy(vm->harts[i]);
		if (i)
			free(vm->harts[i]);
		vm->harts[i] = i ? NULL : &vm->cpu;
	}
}

/* Hart i has mhartid i; all share one decoded-code map (rv_cpu_share_code). */
static int create_harts(struct vm_virt *vm, const struct vm_virt_config *cfg)
{
	for (unsigned i = 0; i < vm->nharts; i++) {
		struct rv_cpu *c = i ? calloc(1, sizeof(*c)) : &vm->cpu;
		if (!c)
			return -ENOMEM;
		vm->harts[i] = c;
		int rc = rv_cpu_init(c, &vm->bus);
		if (rc) {
			if (i)
				free(c);
			vm->harts[i] = NULL;
			return rc;
		}
		c->mhartid = i;
		c->ext = rv_ext_select(cfg->cpu_ext_on, cfg->cpu_ext_off);
		c->read_time = read_mtime;
		c->time_opaque = &vm->clock;
	}
	if (vm->nharts > 1)
		rv_cpu_share_code(vm->harts, vm->nharts);
	return 0;
}

int vm_virt_create(struct vm_virt *vm, const struct vm_virt_config *cfg, struct vm_loop *loop, char *err,
		   size_t errlen)
{
	int rc;
	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->loop = loop;
	vm->state = VM_RUN_RUNNING;
	rc = vm_bus_init(&vm->bus, VM_VIRT_RAM_BASE, cfg->ram_size);
	if (rc) {
		snprintf(err, errlen, "cannot allocate %llu bytes of guest RAM: %s", (unsigned long long)cfg->ram_size,
			 strerror(-rc));
		return rc;
	}
	rc = vm_bus_add_rom(&vm->bus, "riscv_virt_board.mrom", VM_MROM_BASE, VM_MROM_SIZE);
	if (rc) {
		snprintf(err, errlen, "cannot allocate the mask ROM: %s", strerror(-rc));
		goto out_bus;
	}
	vm->nharts = cfg->harts ? cfg->harts : 1;
	vm->harts[0] = &vm->cpu;
	vm_clock_init(&vm->clock);
	if ((rc = add_devices(vm, cfg))) {
		snprintf(err, errlen, "cannot set up devices: %s", strerror(-rc));
		goto out_bus;
	}
	if ((rc = create_harts(vm, cfg))) {
		snprintf(err, errlen, "cannot set up the CPU: %s", strerror(-rc));
		goto out_cpu;
	}
	rc = load_images(vm, cfg, err, errlen);
	if (rc)
		goto out_cpu;
	bool mt = cfg->accel_thread == VM_THREAD_MULTI ||
		  (cfg->accel_thread == VM_THREAD_DEFAULT && vm->nharts > 1);
	if (mt && !cfg->dumpdtb && (rc = vm_mt_create(vm))) {
		snprintf(err, errlen, "cannot start the hart threads: %s", strerror(-rc));
		goto out_cpu;
	}
	return 0;

out_cpu:
	destroy_harts(vm);
out_bus:
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++) {
		vm_virtio_blk_destroy(&vm->blk[i]);
		vm_virtio_net_destroy(&vm->net[i]);
	}
	vm_bus_destroy(&vm->bus);
	return rc;
}

void vm_virt_destroy(struct vm_virt *vm)
{
	vm_mt_destroy(vm);
	destroy_harts(vm);
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++) {
		vm_virtio_blk_destroy(&vm->blk[i]);
		vm_virtio_net_destroy(&vm->net[i]);
	}
	vm_bus_destroy(&vm->bus);
}

int vm_virt_reset_now(struct vm_virt *vm, char *err, size_t errlen)
{
	vm_mt_quiesce(vm);
	for (int i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].reset)
			vm->devs[i].reset(vm->devs[i].opaque);
	vm->exit = (struct vm_exit_state){ 0 };
	vm_bus_clear_ram(&vm->bus); /* as at power-on; the images are then loaded again */
	for (unsigned i = 0; i < vm->nharts; i++)
		rv_cpu_flush_code(vm->harts[i]);
	return load_images(vm, &vm->cfg, err, errlen);
}

void vm_virt_replace_image(struct vm_virt *vm, struct bc_image *old, struct bc_image *img)
{
	for (int i = 0; i < vm->cfg.ndisks; i++)
		if (vm->cfg.disks[i].img == old)
			vm->cfg.disks[i].img = img;
	for (int i = 0; i < VM_VIRT_VIRTIO_SLOTS; i++)
		if (vm->blk[i].img == old)
			vm->blk[i].img = img;
	/* the drive list belongs to the caller of vm_virt_create, which gave it for this use */
	struct vm_virt_drive *drives = (struct vm_virt_drive *)vm->cfg.drives;
	for (int i = 0; i < vm->cfg.ndrives; i++)
		if (drives[i].img == old)
			drives[i].img = img;
}
