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

# the monitor tests' guest (tests/vm/guests/*.S: bare metal, own _start) and the JSON unit test
$(BUILD)/vm-guests/%.elf: tests/vm/guests/%.S tests/riscv/common/link.ld
	@mkdir -p $(@D)
	riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -mcmodel=medany -nostdlib \
	    -T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -o $@ $<
$(BUILD)/tests/vm/test_json: $(BUILD)/tests/vm/test_json.o $(BUILD)/emulator/monitor/json.o $(BUILD)/tests/unit/tap.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm
TESTS     += $(BUILD)/tests/vm/test_json
TEST_DEPS += $(BUILD)/vm-guests/counter.elf $(BUILD)/tests/vm/test_json $(BUILD)/strata-vm
