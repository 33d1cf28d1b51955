/* devstate.h - savevm sections of the virt board's devices (the save/load hooks of their
 * struct vm_device entries). Kept beside the stream format, out of the device files, so
 * devices stay free of machine/ headers; each works on its device's struct fields only. */
#ifndef STRATA_EMULATOR_MACHINE_DEVSTATE_H
#define STRATA_EMULATOR_MACHINE_DEVSTATE_H

struct vm_state;

#define VM_CLINT_STATE_VERSION 2
int vm_clint_state_save(void *clint, struct vm_state *s);
int vm_clint_state_load(void *clint, struct vm_state *s, unsigned version);

#define VM_PLIC_STATE_VERSION 2
int vm_plic_state_save(void *plic, struct vm_state *s);
int vm_plic_state_load(void *plic, struct vm_state *s, unsigned version);

#define VM_UART_STATE_VERSION 1
int vm_uart_state_save(void *uart, struct vm_state *s);
int vm_uart_state_load(void *uart, struct vm_state *s, unsigned version);

#define VM_TEST_STATE_VERSION 1
int vm_test_state_save(void *exit_state, struct vm_state *s);
int vm_test_state_load(void *exit_state, struct vm_state *s, unsigned version);

/* a virtio-mmio slot: transport, virtqueues, and the plugged device's config space */
#define VM_VIRTIO_STATE_VERSION 3 /* 2: + virtio-input's queued events; 3: + virtio-net's state */
int vm_virtio_state_save(void *mmio, struct vm_state *s);
int vm_virtio_state_load(void *mmio, struct vm_state *s, unsigned version);

#endif
