# F/D floating-point unit tests (issue 6). Included from the root Makefile.
# The unit test links the FPU and the suites of fpcases.c (built for the host here; the guest
# programs tests/riscv/fp/fp_*.c are built by tests/riscv/riscv.mk with fpcases.c and fpguest.c).
$(BUILD)/tests/unit/test_rv_fpu: $(BUILD)/emulator/cpu/fpu.o $(BUILD)/tests/riscv/fp/fpcases.o

# Host replay versus QEMU, before and independently of strata-vm.
TESTS     += tests/riscv/fp/check-host.sh
TEST_DEPS += $(BUILD)/tests/unit/test_rv_fpu
