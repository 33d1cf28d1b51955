/* virt.h - the QEMU-compatible "virt" board: mask ROM at 0x1000 (the reset vector, mrom.h),
 * RAM at 0x80000000, sifive_test at 0x100000,
 * CLINT at 0x2000000, PLIC at 0xc000000, 16550 UART at 0x10000000 (PLIC source 10), eight
 * virtio-mmio slots from 0x10001000; HTIF when the program defines tohost. Beyond QEMU: a
 * virtio-input power button in the lowest slot no disk takes (slot 0 unless there are eight
 * disks) that system_powerdown presses; -M virt,powerbutton=off leaves the slot empty.
 *
 * The board keeps a list of its devices (emulator/bus/device.h) and drives them only through
 * it: interrupt lines, reset, savevm sections, device-tree nodes, monitor listings. It runs on
 * one host event loop (emulator/host/loop.h) that it services between instruction batches and
 * sleeps in while the guest waits for an interrupt or the VM is stopped. */
#ifndef STRATA_EMULATOR_MACHINE_VIRT_H
#define STRATA_EMULATOR_MACHINE_VIRT_H

#include "emulator/bus/bus.h"
#include "emulator/bus/device.h"
#include "emulator/cpu/cpu.h"
#include "emulator/devices/devices.h"
#include "emulator/devices/virtio_blk.h"
#include "emulator/devices/virtio_input.h"
#include "emulator/devices/virtio_mmio.h"
#include "emulator/devices/virtio_net.h"

#include <stdio.h>

#define VM_VIRT_RAM_BASE 0x80000000ULL
#define VM_VIRT_TEST_BASE 0x100000ULL
#define VM_VIRT_CLINT_BASE 0x2000000ULL
#define VM_VIRT_UART_BASE 0x10000000ULL
#define VM_VIRT_PLIC_BASE 0x0c000000ULL
#define VM_VIRT_UART_IRQ 10
#define VM_VIRT_VIRTIO_BASE 0x10001000ULL /* slot i at + 0x1000 * i, PLIC source i + 1 */
#define VM_VIRT_VIRTIO_SLOTS 8
#define VM_VIRT_MAX_DEVICES 32

struct bc_image;
struct vm_loop;
struct vm_chardev;

/* A disk on a virtio-blk device; the image stays owned by the caller. */
struct vm_virt_disk {
	struct bc_image *img;
	bool readonly, discard, writethrough;
};

/* A virtio-net NIC on a netdev (NULL: no peer). `after_disks`: how many disks were attached
 * before it on the command line; the slots follow that order, as QEMU's -device order. */
struct vm_virt_nic {
	struct vm_netdev *netdev;
	uint8_t mac[6];
	bool mrg_rxbuf;
	bool no_offloads; /* csum=off */
	uint64_t drop_features; /* guest_csum=off, guest_tso4=off: virtio-net feature bits not offered */
	int after_disks;
	char name[64];    /* as the monitor names it: id= or virtio-net-device.N */
};

/* A -drive image as savevm sees it (QEMU's block backends): name = the drive id, or
 * "virtioN" for an if=virtio drive without one. */
struct vm_virt_drive {
	const char *name;
	struct bc_image *img;
	bool readonly;
};

struct vm_virt_config {
	uint64_t ram_size;
	const char *bios;   /* firmware (ELF or raw binary at RAM start); NULL = none */
	const char *kernel; /* ELF, RISC-V Linux Image (gzip or not), or raw binary */
	const char *append; /* kernel command line (device tree /chosen/bootargs) */
	const char *initrd; /* -initrd: placed as QEMU 7.2 does, announced in /chosen */
	struct vm_chardev *serial; /* serial0's back end (the UART attaches to it); NULL: none */
	/* virtio-blk disks in command-line order; as on QEMU the first takes the highest slot */
	struct vm_virt_disk disks[VM_VIRT_VIRTIO_SLOTS];
	int ndisks;
	struct vm_virt_nic nics[VM_VIRT_VIRTIO_SLOTS];
	int nnics;
	bool virtio_modern; /* -global virtio-mmio.force-legacy=false: version 2 transports */
	const char *dumpdtb; /* -M virt,dumpdtb=FILE: write the device tree there and stop */
	bool no_shutdown;    /* guest power-off stops the VM instead of ending the process */
	bool no_reboot;      /* guest reset ends the process (exit 0) instead of rebooting */
	const char *name;    /* -name: `info name`, query-name; NULL when not given */
	bool no_power_button; /* -M virt,powerbutton=off: no virtio-input power button */
	uint32_t cpu_ext_on, cpu_ext_off; /* -cpu: RV_EXT_* changed from the defaults (cpu/isa.h) */
	unsigned harts; /* -smp: 1..VM_MAX_HARTS (0 counts as 1) */
	/* -accel tcg,thread=: a host thread per hart (multi, mttcg.h) or all harts taking turns
	 * on one (single); not given: multi with several harts, as QEMU 7.2's MTTCG default */
	enum { VM_THREAD_DEFAULT, VM_THREAD_SINGLE, VM_THREAD_MULTI } accel_thread;
	/* savevm/loadvm: every -drive in command-line order, attached or not (if=none drives
	 * count, as in QEMU). ndrives 0: the virtio disks above, named virtio0, virtio1, ... */
	const struct vm_virt_drive *drives;
	int ndrives;
};

/* What the board put into guest memory at reset (`info roms`), by address. */
#define VM_VIRT_MAX_ROMS 24
struct vm_virt_rom {
	char name[320];
	uint64_t addr, size;
	bool in_rom; /* in the mask ROM (mem=rom), else in RAM */
};

/* QEMU's run states, as `info status` and query-status name them */
enum vm_runstate {
	VM_RUN_PRELAUNCH, /* -S: not started yet */
	VM_RUN_RUNNING,
	VM_RUN_PAUSED,    /* stop */
	VM_RUN_SHUTDOWN,  /* guest powered off under -no-shutdown */
	VM_RUN_DEBUG,     /* held by the GDB stub */
	VM_RUN_SAVE_VM,
	VM_RUN_RESTORE_VM,
	VM_RUN_INTERNAL_ERROR,
};
const char *vm_runstate_name(enum vm_runstate s);

/* Something the monitor reports as a QMP event: name ("STOP", "RESUME", "SHUTDOWN", "RESET",
 * "POWERDOWN", ...) and its "data" object as JSON text ("{}" when it has none). */
typedef void (*vm_event_cb)(void *opaque, const char *name, const char *data_json);

struct vm_virt {
	struct vm_bus bus;
	struct rv_cpu cpu; /* hart 0 (the monitor's and the GDB stub's hart) */
	/* every hart, harts[0] == &cpu; the others are allocated. With several, they run in
	 * turn on this thread, QUANTUM instructions each (run.c). */
	struct rv_cpu *harts[VM_MAX_HARTS];
	unsigned nharts;
	struct vm_clock clock;
	struct vm_uart uart;
	struct vm_clint clint;
	struct vm_plic plic;
	struct vm_exit_state exit;
	struct vm_htif htif;
	struct vm_virtio_mmio virtio[VM_VIRT_VIRTIO_SLOTS];
	struct vm_virtio_blk blk[VM_VIRT_VIRTIO_SLOTS];
	struct vm_virtio_net net[VM_VIRT_VIRTIO_SLOTS];
	struct vm_virtio_input power_button;
	int power_button_slot; /* -1: none */
	struct vm_device devs[VM_VIRT_MAX_DEVICES];
	int ndevs;
	struct vm_virt_rom roms[VM_VIRT_MAX_ROMS];
	int nroms;

	struct vm_virt_config cfg; /* what the board was built from (reset reloads the images) */
	struct vm_loop *loop;      /* host events; owned by the caller */
	struct vm_mt *mt;          /* thread=multi (mttcg.h); NULL: the harts take turns here */
	enum vm_runstate state;
	uint64_t last_poll_ns;
	/* requests taken by the main loop at the next batch boundary */
	bool reset_req, powerdown_req, quit_req;
	int quit_code;
	/* set asynchronously (gdb stub, signals) to stop vm_virt_run at the next batch */
	volatile bool stop_requested;
	vm_event_cb event_cb[4];
	void *event_opaque[4];
	int nevents;
	void (*powerdown_hook)(void *opaque); /* a device that tells the guest (power button) */
	void *powerdown_opaque;
	/* set by the GDB stub while it needs instruction steps (breakpoints, stepi): the main loop
	 * runs the guest through it instead of vm_virt_run; returns 1 when the guest exited */
	int (*debug_run)(struct vm_virt *vm, void *opaque);
	void *debug_opaque;
};

/* Builds the board; `loop` (may be NULL for dumpdtb) serves its host events. */
int vm_virt_create(struct vm_virt *vm, const struct vm_virt_config *cfg, struct vm_loop *loop, char *err,
		   size_t errlen);
void vm_virt_destroy(struct vm_virt *vm);
/* Registers a device (copied); -ENOSPC when the list is full. */
int vm_virt_add_device(struct vm_virt *vm, const struct vm_device *d);

/* The main loop: runs the guest (or waits while it is stopped) until the guest powers off or
 * resets under -no-reboot, or quit is requested. Returns the process exit code. */
int vm_virt_main(struct vm_virt *vm);
/* Runs until the guest exits (returns 1, exit code in vm->exit.code) or a stop is requested
 * (returns 0) or `max_insns` instructions ran (0 = unlimited; returns 0). For the GDB stub. */
int vm_virt_run(struct vm_virt *vm, uint64_t max_insns);
/* Executes one instruction (or takes one trap/interrupt) on hart `hart`, or on every hart
 * when it is negative; sleeps until an event when those all wait in WFI. Returns 1 if the
 * guest exited. For the GDB stub. */
int vm_virt_step(struct vm_virt *vm, int hart);

/* ---- control (the monitor's verbs); events go to every listener ---- */
int vm_virt_on_event(struct vm_virt *vm, vm_event_cb cb, void *opaque);
void vm_virt_emit(struct vm_virt *vm, const char *name, const char *data_json);
void vm_virt_stop(struct vm_virt *vm);   /* STOP; the guest clock stands still */
/* The same into another stopped state (VM_RUN_DEBUG: the GDB stub's breakpoint or step). */
void vm_virt_stop_as(struct vm_virt *vm, enum vm_runstate s);
void vm_virt_cont(struct vm_virt *vm);   /* RESUME */
bool vm_virt_running(const struct vm_virt *vm);
void vm_virt_set_state(struct vm_virt *vm, enum vm_runstate s);
void vm_virt_system_reset(struct vm_virt *vm);     /* taken at the next batch boundary */
void vm_virt_system_powerdown(struct vm_virt *vm); /* POWERDOWN: asks the guest to power off */
void vm_virt_quit(struct vm_virt *vm, int code);   /* ends vm_virt_main with `code` */
/* Every reference the board holds to image `old` now points to `img` (a -snapshot drive's
 * overlay replaced by commit). */
void vm_virt_replace_image(struct vm_virt *vm, struct bc_image *old, struct bc_image *img);
/* Full reset now: devices, CPU, RAM cleared, firmware/kernel/device tree reloaded. */
int vm_virt_reset_now(struct vm_virt *vm, char *err, size_t errlen);

#endif
