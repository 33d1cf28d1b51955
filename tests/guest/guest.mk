# `make guest-check`: Linux (kernel, static busybox, ext4 root disk built by tests/guest/build.sh
# and cached in ~/.cache/strata/guest-<hash>) boots to its init from a qcow2 disk on strata-vm and
# on qemu-system-riscv64 (tests/guest/boot.sh). Minutes on a first run (kernel build); not part of
# `make check`.
.PHONY: guest-check
guest-check: $(BUILD)/strata-vm
	@guest=$$(sh tests/guest/build.sh) && \
	 STRATA_VM=$(abspath $(BUILD))/strata-vm sh tests/guest/boot.sh "$$guest"
