# Guest test programs for strata-vm (issue 6). Every .c/.S file in tests/riscv/<dir>/ (not common/)
# that defines `main` or `_start` is one program; the other .c/.S files of that directory are linked
# into each of its programs. Files defining `_start` bring their own start-up code (no crt0).
# A line `/* cflags: FLAGS */` in a program adds compiler flags (e.g. a -march with Zba/Zbb).
# Programs are built with Debian's bare-metal cross compiler at `make check` time into
# $(BUILD)/riscv/<dir>/<name>.elf; tests/riscv/run-guests.sh runs each on strata-vm and on QEMU.
RV_CC      := riscv64-unknown-elf-gcc
RV_CFLAGS  := -march=rv64imafdc_zicsr_zifencei -mabi=lp64d -mcmodel=medany -O2 -g -ffreestanding \
              -fno-builtin -nostdlib -Wall -Wextra -Werror -Wno-unused-parameter -Itests/riscv/common
RV_LDFLAGS := -T tests/riscv/common/link.ld -Wl,--no-warn-rwx-segments -lgcc
RV_COMMON  := tests/riscv/common/rvtest.c tests/riscv/common/trap.S
RV_CRT0    := tests/riscv/common/crt0.S
RV_DEFS_RE := '(^|[^A-Za-z0-9_])(main|_start)[[:space:]]*(\(|:)'

RV_ALL_SRCS := $(filter-out tests/riscv/common/%,$(wildcard tests/riscv/*/*.c tests/riscv/*/*.S))
RV_PROG_SRCS := $(if $(RV_ALL_SRCS),$(shell grep -lE $(RV_DEFS_RE) $(RV_ALL_SRCS)))
RV_START_SRCS := $(if $(RV_PROG_SRCS),$(shell grep -lE '(^|[^A-Za-z0-9_])_start[[:space:]]*:' $(RV_PROG_SRCS)))
RV_ELFS := $(foreach s,$(RV_PROG_SRCS),$(BUILD)/riscv/$(patsubst tests/riscv/%,%,$(basename $(s))).elf)

# $(1) = program source. Helpers = the directory's non-program sources.
define RV_PROG_RULE
$(BUILD)/riscv/$(patsubst tests/riscv/%,%,$(basename $(1))).elf: $(1) \
    $(filter-out $(RV_PROG_SRCS),$(filter $(dir $(1))%,$(RV_ALL_SRCS))) \
    $(RV_COMMON) $(RV_CRT0) tests/riscv/common/rvtest.h tests/riscv/common/vdisk.h tests/riscv/common/link.ld
	@mkdir -p $$(@D)
	$(RV_CC) $(RV_CFLAGS) $(shell sed -n 's|^/\* cflags: \(.*\) \*/|\1|p' $(1)) -I$(dir $(1)) -o $$@ $(if $(filter $(1),$(RV_START_SRCS)),,$(RV_CRT0)) \
	    $(1) $(filter-out $(RV_PROG_SRCS),$(filter $(dir $(1))%,$(RV_ALL_SRCS))) $(RV_COMMON) $(RV_LDFLAGS)
endef
$(foreach s,$(RV_PROG_SRCS),$(eval $(call RV_PROG_RULE,$(s))))

TESTS     += tests/riscv/run-guests.sh tests/riscv/tools.sh tests/riscv/isa.sh
TEST_DEPS += $(RV_ELFS) $(BUILD)/strata-vm

# `make riscv-check`: only the emulator and its guest programs (quicker than `make check`).
.PHONY: riscv-check
riscv-check: $(BUILD)/strata-vm $(RV_ELFS)
	@STRATA_VM=$(abspath $(BUILD))/strata-vm BUILD_DIR=$(abspath $(BUILD)) SRC_DIR=$(CURDIR) \
	 SANITIZE=$(SANITIZE) sh tests/harness.sh tests/riscv/run-guests.sh tests/riscv/tools.sh tests/riscv/isa.sh
