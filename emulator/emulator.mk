# strata-vm: the RISC-V emulator (issue 6). Sources: every .c under emulator/, including the
# FPU module (emulator/cpu/fpu.c) once it exists; without it F/D arithmetic is compiled out.
VM_SRCS := $(shell find emulator -name '*.c')
VM_OBJS := $(VM_SRCS:%.c=$(BUILD)/%.o)
ifeq ($(wildcard emulator/cpu/fpu.c),)
$(VM_OBJS): ALL_CFLAGS += -DRV_NO_FPU
endif

# libraries only the emulator links (the engine never does): libslirp for -netdev user. Its
# .pc requires glib-2.0's, which only the library itself needs: without glib's -dev files the
# plain name is used (the header is included as <slirp/libslirp.h>, no -I needed)
VM_LIBS := $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp)

# virtio-blk disks are libblockcore images
$(BUILD)/strata-vm: $(VM_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(VM_LIBS) -lm -lpthread
BINS += $(BUILD)/strata-vm

# strata-vm tests driven from the host side (consoles, monitor, savevm): tests/vm/*.sh
TESTS     += $(sort $(wildcard tests/vm/*.sh))

# the monitor tests' guest (tests/vm/asm/*.S: assembly with its own _start, so registers hold
# known values) and the JSON unit test
$(BUILD)/vm/asm/%.elf: tests/vm/asm/%.S tests/riscv/common/link.ld
	@mkdir -p $(@D)
	riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -mcmodel=medany -nostdlib \
	    -T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -o $@ $<
# the x/i guest holds F/D instructions too (never run)
$(BUILD)/vm/asm/disasm.elf: tests/vm/asm/disasm.S tests/riscv/common/link.ld
	@mkdir -p $(@D)
	riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib \
	    -T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -o $@ $<
$(BUILD)/tests/vm/test_json: $(BUILD)/tests/vm/test_json.o $(BUILD)/emulator/monitor/json.o $(BUILD)/tests/unit/tap.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm
TESTS     += $(BUILD)/tests/vm/test_json
TEST_DEPS += $(BUILD)/vm/asm/counter.elf $(BUILD)/vm/asm/disasm.elf $(BUILD)/tests/vm/test_json $(BUILD)/strata-vm

# tests/vm/powerbutton.sh drives the board from C (emulator objects without main.o): it presses
# the power button at moments the guest program chooses
VM_TEST_OBJS := $(filter-out $(BUILD)/emulator/main.o,$(VM_OBJS))
ifeq ($(wildcard emulator/cpu/fpu.c),)
$(BUILD)/tests/vm/powerbutton.o: ALL_CFLAGS += -DRV_NO_FPU
endif
$(BUILD)/tests/vm/powerbutton: $(BUILD)/tests/vm/powerbutton.o $(VM_TEST_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(VM_LIBS) -lm -lpthread
TEST_DEPS += $(BUILD)/tests/vm/powerbutton

# savevm driven in-process: the emulator's objects without main.o (tests/vm/test_savevm.c),
# run by tests/vm/savevm.sh on the guest tests/riscv/savevm/counter.c
$(BUILD)/tests/vm/test_savevm: $(BUILD)/tests/vm/test_savevm.o $(VM_TEST_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(VM_LIBS) -lm -lpthread
TEST_DEPS += $(BUILD)/tests/vm/test_savevm $(BUILD)/riscv/savevm/counter.elf
# receive coalescing (emulator/net/offload.c) on its own
$(BUILD)/tests/unit/test_net_merge: $(BUILD)/emulator/net/offload.o
# EVENT_IDX of the split virtqueues (emulator/devices/virtqueue.c) on its own
$(BUILD)/tests/unit/test_virtq_event: $(BUILD)/emulator/devices/virtqueue.o $(BUILD)/emulator/devices/virtio_mmio.o \
	$(BUILD)/emulator/bus/bus.o $(BUILD)/emulator/host/hugemem.o
