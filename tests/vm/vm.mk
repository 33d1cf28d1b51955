# Guest programs of the host-driven strata-vm tests (tests/vm/*.sh): tests/vm/guest/*.c, built
# like tests/riscv's programs (crt0, rvtest) into $(BUILD)/vm/guest/NAME.elf but not compared
# with QEMU by run-guests.sh (they reset, idle or wait for the monitor).
VM_GUEST_SRCS := $(wildcard tests/vm/guest/*.c)
VM_GUEST_ELFS := $(VM_GUEST_SRCS:tests/vm/guest/%.c=$(BUILD)/vm/guest/%.elf)
$(BUILD)/vm/guest/%.elf: tests/vm/guest/%.c $(RV_COMMON) $(RV_CRT0) tests/riscv/common/rvtest.h tests/riscv/common/vdisk.h tests/riscv/common/link.ld
	@mkdir -p $(@D)
	$(RV_CC) $(RV_CFLAGS) -o $@ $(RV_CRT0) $< $(RV_COMMON) $(RV_LDFLAGS)
TEST_DEPS += $(VM_GUEST_ELFS) $(BUILD)/strata-vm
