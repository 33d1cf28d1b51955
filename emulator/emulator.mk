# strata-vm: the RISC-V emulator (issue 6). Sources: every .c under emulator/, including the
# FPU module (emulator/cpu/fpu.c) once it exists; without it F/D arithmetic is compiled out.
VM_SRCS := $(shell find emulator -name '*.c')
VM_OBJS := $(VM_SRCS:%.c=$(BUILD)/%.o)
ifeq ($(wildcard emulator/cpu/fpu.c),)
$(VM_OBJS): ALL_CFLAGS += -DRV_NO_FPU
endif

# virtio-blk disks are libblockcore images
$(BUILD)/strata-vm: $(VM_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread
BINS += $(BUILD)/strata-vm

# strata-vm tests driven from the host side (consoles, monitor, savevm): tests/vm/*.sh
TESTS     += $(sort $(wildcard tests/vm/*.sh))

# savevm driven in-process: the emulator's objects without main.o (tests/vm/test_savevm.c),
# run by tests/vm/savevm.sh on the guest tests/riscv/savevm/counter.c
VM_LIB_OBJS := $(filter-out $(BUILD)/emulator/main.o,$(VM_OBJS))
$(BUILD)/tests/vm/test_savevm: $(BUILD)/tests/vm/test_savevm.o $(VM_LIB_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread
TEST_DEPS += $(BUILD)/tests/vm/test_savevm $(BUILD)/riscv/savevm/counter.elf
