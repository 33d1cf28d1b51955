# The Linux test guest (tests/guest/build.sh: Debian trixie riscv64 kernel, busybox initramfs,
# ext4 root disk; cached in ~/.cache/strata/guest-<hash>) and its boot tests (linux.sh,
# powerbutton.sh, savevm.sh, smp.sh (-smp 2 and 4) and crash-kill.sh (SIGKILL while the guest writes), part of `make check`, which builds the guest on first use). `make guest`
# builds it alone; `make guest-check` runs only the boot tests.
.PHONY: guest guest-check
guest: $(BUILD)/strata-img
	@STRATA_IMG=$(abspath $(BUILD))/strata-img sh tests/guest/build.sh
guest-check: $(BUILD)/strata-vm $(BUILD)/strata-img
	@STRATA_IMG=$(abspath $(BUILD))/strata-img STRATA_VM=$(abspath $(BUILD))/strata-vm \
	 BUILD_DIR=$(abspath $(BUILD)) SRC_DIR=$(CURDIR) sh tests/harness.sh tests/guest/linux.sh tests/guest/powerbutton.sh tests/guest/savevm.sh tests/guest/smp.sh tests/guest/encrypted.sh tests/guest/crash-kill.sh
TESTS += tests/guest/linux.sh tests/guest/powerbutton.sh tests/guest/savevm.sh tests/guest/nbd.sh tests/guest/smp.sh tests/guest/encrypted.sh tests/guest/crash-kill.sh

# The Debian 13 riscv64 system (tests/guest/debian-image.sh: mmdebstrap with qemu-user-static,
# root only, about 15 minutes; cached in ~/.cache/strata/debian-<hash>) and its boot tests
# (tests/guest/debian-check.sh, several minutes of emulated boots). Neither is part of make check.
.PHONY: debian-image debian-check
debian-image: $(BUILD)/strata-img
	@STRATA_IMG=$(abspath $(BUILD))/strata-img sh tests/guest/debian-image.sh
debian-check: $(BUILD)/strata-vm $(BUILD)/strata-img
	@STRATA_IMG=$(abspath $(BUILD))/strata-img STRATA_VM=$(abspath $(BUILD))/strata-vm \
	 BUILD_DIR=$(abspath $(BUILD)) SRC_DIR=$(CURDIR) sh tests/harness.sh tests/guest/debian-check.sh
