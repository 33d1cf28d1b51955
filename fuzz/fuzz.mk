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

# The engine and emulator sources are compiled once, instrumented (fuzzer-no-link), and every
# libFuzzer binary links those objects: compiling them into each harness took most of a
# fresh `make check`'s build time.
FUZZ_OBJ_FLAGS := $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_FLAGS))
FUZZ_BC_OBJS   := $(BC_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_VM_OBJS   := $(FUZZ_VM_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
$(FUZZ_BC_OBJS) $(FUZZ_VM_OBJS): $(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_OBJ_FLAGS) -MMD -MP -c -o $@ $<
# (their .d files are read by the top Makefile's `find build -name '*.d'`)

$(BUILD)/fuzz/vm_%-libfuzzer: fuzz/vm_%.c $(FUZZ_VM_OBJS) $(FUZZ_BC_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_VM_OBJS) $(FUZZ_BC_OBJS) $(FUZZ_LIBS) $(VM_LIBS) -lpthread
$(BUILD)/fuzz/%-libfuzzer: fuzz/%.c $(FUZZ_BC_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_BC_OBJS) $(FUZZ_LIBS)

$(BUILD)/fuzz/%.test: fuzz/run-fuzz.sh
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec sh "$$SRC_DIR/fuzz/run-fuzz.sh" %s "%s" "%s"\n' $* \
		$(abspath $(BUILD)/fuzz/$*-replay) \
		$(if $(FUZZ_CLANG),$(abspath $(BUILD)/fuzz/$*-libfuzzer)) >$@
	chmod +x $@

TESTS     += $(FUZZ_NAMES:%=$(BUILD)/fuzz/%.test)
TEST_DEPS += $(FUZZ_NAMES:%=$(BUILD)/fuzz/%.test) $(FUZZ_NAMES:%=$(BUILD)/fuzz/%-replay) \
             $(if $(FUZZ_CLANG),$(FUZZ_NAMES:%=$(BUILD)/fuzz/%-libfuzzer))
