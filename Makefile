# Strata — top-level build. `make deps`, `make`, `make check`, `make install PREFIX=...`, `make clean`.
# SANITIZE=1 builds everything with ASan+UBSan into build/san instead of build/rel.
# Sub-projects add themselves through fragments (*.mk) that append to BINS, TESTS and TEST_DEPS.

CC       ?= cc
PREFIX   ?= /usr/local
PKGS     := zlib libzstd libcrypto liburing libisal
SANITIZE ?=

ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT      := -O1
else
BUILD    := build/rel
SANFLAGS :=
OPT      := -O2
endif

WARN     := -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP -I. -Iblockcore
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# librbd (Ceph RBD, blockcore/file-rbd.c) where installed (deps/ceph.txt). Debian's librbd-dev
# ships no librbd.pc, so its header stands in for pkg-config there. Without it rbd: names
# fail with a clear message. It is built against the headers but not linked: rbd-lib.c loads
# it when the first rbd: image opens.
ifeq ($(shell pkg-config --exists librbd && echo y),y)
BC_RBD_FLAGS := -DBC_HAVE_RBD $(shell pkg-config --cflags librbd)
else ifneq ($(wildcard /usr/include/rbd/librbd.h),)
BC_RBD_FLAGS := -DBC_HAVE_RBD
endif
LDFLAGS  ?=
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

BINS      :=
TESTS     :=
TEST_DEPS :=

.PHONY: all deps check install clean
.SECONDARY:
all: build-all

deps:
	sh deps/install.sh

# --- block engine and drivers -> libblockcore.a --------------------------------------------
FORMATS ?= $(notdir $(wildcard formats/*))
BC_SRCS := $(wildcard blockcore/*.c) $(foreach f,$(FORMATS),$(wildcard formats/$(f)/*.c))
BC_OBJS := $(BC_SRCS:%.c=$(BUILD)/%.o)
LIBBC   := $(BUILD)/libblockcore.a

$(BUILD)/blockcore/%.o $(BUILD)/formats/%.o: ALL_CFLAGS += $(PKG_CFLAGS) $(BC_RBD_FLAGS)

$(LIBBC): $(BC_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --- front ends -------------------------------------------------------------------------------
TOOL_COMMON := $(filter-out img-tool/strata-img.c img-tool/strata-io.c img-tool/strata-nbd.c img-tool/img-%.c img-tool/io-%.c,$(wildcard img-tool/*.c))
IMG_SRCS := img-tool/strata-img.c $(wildcard img-tool/img-*.c) $(TOOL_COMMON)
IO_SRCS  := img-tool/strata-io.c $(wildcard img-tool/io-*.c) $(TOOL_COMMON)

$(BUILD)/strata-img: $(IMG_SRCS:%.c=$(BUILD)/%.o) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(BUILD)/strata-io: $(IO_SRCS:%.c=$(BUILD)/%.o) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
BINS += $(BUILD)/strata-img $(BUILD)/strata-io
NBD_SRCS := img-tool/strata-nbd.c $(TOOL_COMMON)
$(BUILD)/strata-nbd: $(NBD_SRCS:%.c=$(BUILD)/%.o) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread
BINS += $(BUILD)/strata-nbd

# --- tests ------------------------------------------------------------------------------------
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:%.c=$(BUILD)/%)
UNIT_LIBS  := $(BUILD)/tests/unit/tap.o $(BUILD)/tests/unit/crash-lib.o
$(BUILD)/tests/unit/test_%: $(BUILD)/tests/unit/test_%.o $(UNIT_LIBS) $(LIBBC)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
TESTS     += $(UNIT_BINS) $(sort $(wildcard tests/cli/*.sh))
TEST_DEPS += $(UNIT_BINS)

-include emulator/emulator.mk
-include fuzz/fuzz.mk
-include tests/riscv/riscv.mk
-include tests/riscv/fp/fp.mk
-include tests/vm/vm.mk
-include bench/bench.mk
-include tests/guest/guest.mk

build-all: $(BINS) $(LIBBC)

check: build-all $(TEST_DEPS)
	@STRATA_IMG=$(abspath $(BUILD))/strata-img STRATA_IO=$(abspath $(BUILD))/strata-io \
	 STRATA_VM=$(abspath $(BUILD))/strata-vm BUILD_DIR=$(abspath $(BUILD)) STRATA_NBD=$(abspath $(BUILD))/strata-nbd SRC_DIR=$(CURDIR) \
	 SANITIZE=$(SANITIZE) sh tests/harness.sh $(TESTS)

install: build-all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/strata
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBBC) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 blockcore/bc.h $(DESTDIR)$(PREFIX)/include/strata/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
