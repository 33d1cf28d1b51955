# strata-vm: the RISC-V emulator (issue 6). Sources: every .c under emulator/, including the
# FPU module (emulator/cpu/fpu.c) once it exists; without it F/D arithmetic is compiled out.
VM_SRCS := $(shell find emulator -name '*.c')
VM_OBJS := $(VM_SRCS:%.c=$(BUILD)/%.o)
ifeq ($(wildcard emulator/cpu/fpu.c),)
$(VM_OBJS): ALL_CFLAGS += -DRV_NO_FPU
endif

# libraries only the emulator links (the engine never does)
VM_LIBS :=

# virtio-blk disks are libblockcore images
$(BUILD)/strata-vm: $(VM_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(VM_LIBS) -lm -lpthread
BINS += $(BUILD)/strata-vm

# strata-vm tests driven from the host side (consoles, monitor, savevm): tests/vm/*.sh
TESTS     += $(sort $(wildcard tests/vm/*.sh))

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
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread
TEST_DEPS += $(BUILD)/tests/vm/test_savevm $(BUILD)/riscv/savevm/counter.elf
