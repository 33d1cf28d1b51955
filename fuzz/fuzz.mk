# Fuzz harnesses: every fuzz/<name>.c (other than replay-main.c) defines LLVMFuzzerTestOneInput.
# Each becomes two binaries — a corpus replayer built like the rest of the project, and a
# libFuzzer build with clang (ASan+UBSan, engine sources compiled in) — and one test.
FUZZ_NAMES   := $(filter-out replay-main,$(basename $(notdir $(wildcard fuzz/*.c))))
FUZZ_CLANG   := $(shell command -v clang 2>/dev/null)
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -I. -Iblockcore \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIBS    := $(PKG_LIBS) -lm

# Harnesses named vm_* exercise strata-vm's parsers and link the emulator (main.c aside).
FUZZ_VM_SRCS := $(filter-out emulator/main.c,$(VM_SRCS))

$(BUILD)/fuzz/vm_%-replay: $(BUILD)/fuzz/vm_%.o $(BUILD)/fuzz/replay-main.o $(VM_TEST_OBJS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(VM_LIBS) -lm -lpthread
$(BUILD)/fuzz/%-replay: $(BUILD)/fuzz/%.o $(BUILD)/fuzz/replay-main.o $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/fuzz/vm_%-libfuzzer: fuzz/vm_%.c $(FUZZ_VM_SRCS) $(BC_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_VM_SRCS) $(BC_SRCS) $(FUZZ_LIBS) $(VM_LIBS) -lpthread
$(BUILD)/fuzz/%-libfuzzer: fuzz/%.c $(BC_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_FLAGS) -o $@ $< $(BC_SRCS) $(FUZZ_LIBS)

$(BUILD)/fuzz/%.test: fuzz/run-fuzz.sh
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec sh "$$SRC_DIR/fuzz/run-fuzz.sh" %s "%s" "%s"\n' $* \
		$(abspath $(BUILD)/fuzz/$*-replay) \
		$(if $(FUZZ_CLANG),$(abspath $(BUILD)/fuzz/$*-libfuzzer)) >$@
	chmod +x $@

TESTS     += $(FUZZ_NAMES:%=$(BUILD)/fuzz/%.test)
TEST_DEPS += $(FUZZ_NAMES:%=$(BUILD)/fuzz/%.test) $(FUZZ_NAMES:%=$(BUILD)/fuzz/%-replay) \
             $(if $(FUZZ_CLANG),$(FUZZ_NAMES:%=$(BUILD)/fuzz/%-libfuzzer))
