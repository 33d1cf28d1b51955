# F/D floating-point unit tests (issue 6). Included from the root Makefile.
# The unit test links the FPU and the suites of fpcases.c (built for the host here; the guest
# programs tests/riscv/fp/fp_*.c are built by tests/riscv/riscv.mk with fpcases.c and fpguest.c).
$(BUILD)/tests/unit/test_rv_fpu: $(BUILD)/emulator/cpu/fpu.o $(BUILD)/tests/riscv/fp/fpcases.o

# The same test on the portable software tier alone (fpu.c built with RV_FPU_SOFT_ONLY).
$(BUILD)/tests/riscv/fp/fpu-soft.o: emulator/cpu/fpu.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DRV_FPU_SOFT_ONLY -c -o $@ $<
$(BUILD)/tests/riscv/fp/test_rv_fpu_soft: $(BUILD)/tests/unit/test_rv_fpu.o $(BUILD)/tests/unit/tap.o \
    $(BUILD)/tests/riscv/fp/fpu-soft.o $(BUILD)/tests/riscv/fp/fpcases.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm

# Host replay (both builds) versus QEMU, before and independently of strata-vm.
TESTS     += $(BUILD)/tests/riscv/fp/test_rv_fpu_soft tests/riscv/fp/check-host.sh
TEST_DEPS += $(BUILD)/tests/unit/test_rv_fpu $(BUILD)/tests/riscv/fp/test_rv_fpu_soft
