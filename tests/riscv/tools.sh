#!/bin/sh
# strata-vm features QEMU cannot be compared on: the GDB stub, -d/-D tracing, HTIF
# tohost/fromhost, command-line errors. TAP output; needs the guest ELFs of riscv.mk.
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
ELF=$BUILD_DIR/riscv/priv/traps.elf
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# --- command line ---
"$VM" -M virt -bios none -nographic -bogus >/dev/null 2>&1
check "unknown option is an error" '[ $? -eq 1 ]'
"$VM" -M virt -bios none -kernel "$TMP/missing.elf" -nographic >/dev/null 2>"$TMP/err"
check "missing kernel is reported" '[ $? -eq 1 ] && grep -q missing.elf "$TMP/err"'

"$VM" --jit=fast -M virt -bios none -kernel "$ELF" -nographic >/dev/null 2>"$TMP/err"
check "bad --jit mode is an error" '[ $? -eq 1 ] && grep -q "bad --jit mode .fast." "$TMP/err"'

# --- JIT: the same instruction count as the interpreter (deterministic programs) ---
stats() { # mode elf -> "instret=N"; also leaves the jit_blocks= field in $TMP/blocks
	timeout 60 "$VM" --jit="$1" --stats -M virt -bios none -kernel "$2" -nographic </dev/null 2>"$TMP/stats" >/dev/null
	sed -n 's/.* jit_blocks=\([0-9]*\).*/\1/p' "$TMP/stats" >"$TMP/blocks"
	sed -n 's/.*\(instret=[0-9]*\).*/\1/p' "$TMP/stats"
}
for prog in int/alu int/muldiv int/memory int/selfmod rvc/compressed fp/fp_rand64 mmu/sv39 bench/sha256; do
	elf=$BUILD_DIR/riscv/$prog.elf
	a=$(stats off "$elf")
	b=$(stats eager "$elf")
	check "$prog: --jit=eager retires as many instructions as --jit=off ($a)" '[ -n "$a" ] && [ "$a" = "$b" ]'
done
if [ "$(uname -m)" = x86_64 ]; then
	stats eager "$BUILD_DIR/riscv/bench/sha256.elf" >/dev/null
	check "the JIT compiles blocks on x86-64" '[ "$(cat "$TMP/blocks")" -gt 0 ]'
	stats off "$BUILD_DIR/riscv/bench/sha256.elf" >/dev/null
	check "--jit=off compiles nothing" '[ "$(cat "$TMP/blocks")" -eq 0 ]'
else
	skip "the JIT compiles blocks on x86-64" "host is $(uname -m)"
fi

# --- tracing ---
timeout 60 "$VM" -M virt -bios none -kernel "$ELF" -nographic -d in_asm,int,exec -D "$TMP/trace.log" >/dev/null 2>&1
check "-d int logs traps" 'grep -q "^int M cause=000000000000000b" "$TMP/trace.log"'
check "-d exec logs instructions" 'grep -q "^exec M pc=0000000080000000" "$TMP/trace.log"'
check "-d in_asm logs each pc once" '[ "$(grep -c "^in_asm pc=0000000080000000 " "$TMP/trace.log")" -eq 1 ]'

# --- HTIF: console and exit through tohost/fromhost ---
if command -v riscv64-unknown-elf-gcc >/dev/null 2>&1; then
	cat >"$TMP/htif.S" <<'ASM'
	.option norelax
	.globl _start
_start:
	la	s0, tohost
	la	s1, fromhost
	la	s2, msg
1:	lbu	a0, 0(s2)
	beqz	a0, 3f
	li	t0, 0x0101000000000000	/* device 1 (console), command 1 (putchar) */
	or	a0, a0, t0
	sd	a0, 0(s0)
2:	ld	t1, 0(s1)		/* wait for the acknowledgement */
	beqz	t1, 2b
	sd	zero, 0(s1)
	addi	s2, s2, 1
	j	1b
3:	li	a0, (5 << 1) | 1	/* exit code 5 */
	sd	a0, 0(s0)
4:	j	4b
msg:	.string "htif hello\n"
	.section .tohost, "aw"
	.align 6
	.globl tohost, fromhost
tohost:	.dword 0
	.align 6
fromhost: .dword 0
ASM
	riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -nostdlib -Wl,-N,--no-warn-rwx-segments -Ttext=0x80000000 -o "$TMP/htif.elf" "$TMP/htif.S"
	timeout 30 "$VM" -M virt -bios none -kernel "$TMP/htif.elf" -nographic >"$TMP/htif.out" 2>&1
	rc=$?
	check "HTIF console output" 'grep -qx "htif hello" "$TMP/htif.out"'
	check "HTIF exit code" '[ $rc -eq 5 ]'
else
	skip "HTIF console output" "no cross compiler"
	skip "HTIF exit code" "no cross compiler"
fi

# --- instret is exact (QEMU counts host ticks there, so this is strata-vm only) ---
if command -v riscv64-unknown-elf-gcc >/dev/null 2>&1; then
	cat >"$TMP/instret.S" <<'ASM'
	.option norelax
	.globl _start
_start:
	csrr	t0, minstret
	.rept 100
	addi	t1, t1, 1
	.endr
	pause				/* Zihintpause: retires like any instruction */
	ecall				/* traps: does not retire (handler skips it) */
	csrr	t2, minstret
	sub	t2, t2, t0		/* csrr t0, 100 addi, pause, 4 handler instructions: 106 */
	li	t3, 106
	li	t4, 0x100000
	li	t5, 0x5555
	beq	t2, t3, 1f
	li	t5, (3 << 16) | 0x3333
1:	sw	t5, 0(t4)
2:	j	2b
	.align 2
trap:	csrr	t6, mepc
	addi	t6, t6, 4
	csrw	mepc, t6
	mret
	.section .text.init
ASM
	sed -i 's/^_start:$/_start:\n\tla\tt6, trap\n\tcsrw\tmtvec, t6/' "$TMP/instret.S"
	riscv64-unknown-elf-gcc -march=rv64imac_zicsr_zihintpause -mabi=lp64 -nostdlib -Wl,-N,--no-warn-rwx-segments \
		-Ttext=0x80000000 -o "$TMP/instret.elf" "$TMP/instret.S"
	timeout 30 "$VM" -M virt -bios none -kernel "$TMP/instret.elf" -nographic >/dev/null 2>&1
	check "instret counts exactly the retired instructions" '[ $? -eq 0 ]'
	# a CSR write to minstret/mcycle replaces that instruction's increment (Zicsr): the next
	# instruction reads the value written; the same through compiled blocks (the loop is hot)
	cat >"$TMP/instret_w.S" <<'ASM'
	.option norelax
	.globl _start
_start:
	li	s0, 200			/* iterations; a failure exits with 0x3333 */
	li	t5, 0x5555
1:	li	a0, 1000
	csrw	minstret, a0
	csrr	t0, minstret		/* the value written */
	bne	t0, a0, 9f
	csrw	minstret, a0
	addi	t1, t1, 1
	addi	t1, t1, 1
	csrr	t0, minstret		/* + the two addi */
	addi	a1, a0, 2
	bne	t0, a1, 9f
	csrw	mcycle, a0		/* mcycle = instret + offset here: one cycle per instruction */
	csrr	t0, mcycle
	bne	t0, a0, 9f
	csrrw	t0, minstret, a0	/* the read is the old value, the write replaces the increment */
	csrr	t0, minstret
	bne	t0, a0, 9f
	addi	s0, s0, -1
	bnez	s0, 1b
	j	8f
9:	li	t5, (3 << 16) | 0x3333
8:	li	t4, 0x100000
	sw	t5, 0(t4)
2:	j	2b
ASM
	riscv64-unknown-elf-gcc -march=rv64imac_zicsr -mabi=lp64 -nostdlib -Wl,-N,--no-warn-rwx-segments \
		-Ttext=0x80000000 -o "$TMP/instret_w.elf" "$TMP/instret_w.S"
	for mode in off eager; do
		timeout 30 "$VM" --jit=$mode -M virt -bios none -kernel "$TMP/instret_w.elf" -nographic >/dev/null 2>&1
		check "--jit=$mode: a write to minstret/mcycle is what the next instruction reads" '[ $? -eq 0 ]'
	done
fi

# --- firmware: OpenSBI (fw_dynamic) with a device tree, then an S-mode payload using SBI ---
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
if [ -f "$FW" ] && command -v riscv64-unknown-elf-gcc >/dev/null 2>&1; then
	cat >"$TMP/payload.S" <<'ASM'
	.option norelax
	.globl _start
_start:
	la	s0, msg
1:	lbu	a0, 0(s0)
	beqz	a0, 2f
	li	a7, 1			/* legacy console_putchar */
	ecall
	addi	s0, s0, 1
	j	1b
2:	li	a7, 0x53525354		/* SRST: shutdown */
	li	a6, 0
	li	a0, 0
	li	a1, 0
	ecall
3:	j	3b
msg:	.string "payload: hello from S-mode through SBI\n"
ASM
	riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -nostdlib -Wl,-N,--no-warn-rwx-segments \
		-Ttext=0x80200000 -o "$TMP/payload.elf" "$TMP/payload.S"
	timeout 60 "$VM" -M virt -bios "$FW" -kernel "$TMP/payload.elf" -nographic >"$TMP/sbi.out" 2>&1
	rc=$?
	check "OpenSBI boots (banner, priv 1.12, Sstc)" 'grep -q "^OpenSBI v" "$TMP/sbi.out" &&
		grep -q "Priv Version *: v1.12" "$TMP/sbi.out" && grep -q "ISA Extensions *:.*sstc" "$TMP/sbi.out"'
	check "SBI payload prints and shuts down" '[ $rc -eq 0 ] && grep -q "^payload: hello from S-mode through SBI" "$TMP/sbi.out"'
	if command -v qemu-system-riscv64 >/dev/null 2>&1; then
		timeout 60 qemu-system-riscv64 -M virt -bios "$FW" -kernel "$TMP/payload.elf" -nographic \
			</dev/null >"$TMP/sbi.qemu" 2>&1
		check "SBI payload output as on QEMU" '[ "$(grep "^payload:" "$TMP/sbi.out")" = "$(grep "^payload:" "$TMP/sbi.qemu")" ]'
	fi
else
	skip "OpenSBI boot" "opensbi or the cross compiler is not installed"
fi

# --- kernel loader: RISC-V Linux Image (plain and gzip), -initrd placement and device tree ---
if [ -f "$FW" ] && command -v riscv64-unknown-elf-gcc >/dev/null 2>&1; then
	# an Image with the Linux boot header (64 bytes, magic2 "RSC\x05" at 0x38) that prints, through
	# SBI, a message and then the initrd's first line read from where QEMU 7.2 puts it (256 MiB:
	# 0x80200000 + 128 MiB)
	cat >"$TMP/image.S" <<'ASM'
	.option norelax
	.option norvc
	.globl _start
_start:
	j	real			/* code0 */
	.word	0			/* code1 */
	.dword	0x200000		/* text_offset */
	.dword	_end - _start		/* image_size, bss included */
	.dword	0			/* flags */
	.word	2, 0			/* version, res1 */
	.dword	0			/* res2 */
	.ascii	"RISCV\0\0\0"		/* magic */
	.ascii	"RSC\x05"		/* magic2 */
	.word	0			/* res3 */
real:
	la	s0, msg
	call	puts
	li	s0, 0x88200000
	call	puts
	li	a7, 0x53525354		/* SRST: shutdown */
	li	a6, 0
	li	a0, 0
	li	a1, 0
	ecall
1:	j	1b
puts:	lbu	s1, 0(s0)		/* up to and including the first newline */
	mv	a0, s1
	li	a7, 1
	ecall
	addi	s0, s0, 1
	li	t0, '\n'
	bne	s1, t0, puts
	ret
msg:	.string "image: hello from a RISC-V Linux Image\n"
	.bss
	.space	0x10000
ASM
	riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -nostdlib -Wl,-N,--no-warn-rwx-segments \
		-Ttext=0x80200000 -o "$TMP/image.elf" "$TMP/image.S" &&
		riscv64-unknown-elf-objcopy -O binary "$TMP/image.elf" "$TMP/Image"
	gzip -9c "$TMP/Image" >"$TMP/Image.gz"
	printf 'initrd: first line of the initrd\n' >"$TMP/initrd"
	head -c 100000 /dev/zero >>"$TMP/initrd"
	boot_img() { timeout 60 "$VM" -M virt -m 256M -bios "$FW" -kernel "$1" -initrd "$TMP/initrd" -nographic </dev/null 2>&1 |
		grep -a '^image:\|^initrd:'; }
	boot_img "$TMP/Image" >"$TMP/img.out"
	check "-kernel Image: started by the firmware, reads the initrd where QEMU puts it" \
		'grep -q "^image: hello" "$TMP/img.out" && grep -q "^initrd: first line" "$TMP/img.out"'
	boot_img "$TMP/Image.gz" >"$TMP/imggz.out"
	check "-kernel Image.gz (gzip) boots the same as the plain Image" '[ -s "$TMP/img.out" ] && cmp -s "$TMP/img.out" "$TMP/imggz.out"'
	if command -v qemu-system-riscv64 >/dev/null 2>&1; then
		timeout 60 qemu-system-riscv64 -M virt -m 256M -bios "$FW" -kernel "$TMP/Image" -initrd "$TMP/initrd" \
			-nographic </dev/null 2>&1 | grep -a '^image:\|^initrd:' >"$TMP/img.qemu"
		check "-kernel Image -initrd: output as on QEMU" '[ -s "$TMP/img.qemu" ] && cmp -s "$TMP/img.out" "$TMP/img.qemu"'
	fi
	if command -v dtc >/dev/null 2>&1 && command -v qemu-system-riscv64 >/dev/null 2>&1; then
		initrd_props() { dtc -I dtb -O dts "$1" 2>/dev/null | grep 'linux,initrd-' | sort; }
		for mem in 64M 128M 256M 1G; do
			"$VM" -M virt,dumpdtb="$TMP/vi.dtb" -m $mem -bios "$FW" -kernel "$TMP/Image" -initrd "$TMP/initrd" \
				-nographic >/dev/null 2>&1
			qemu-system-riscv64 -M virt,dumpdtb="$TMP/qi.dtb" -m $mem -bios "$FW" -kernel "$TMP/Image" \
				-initrd "$TMP/initrd" -nographic >/dev/null 2>&1
			check "-initrd with -m $mem: /chosen linux,initrd-start/end as QEMU's ($(initrd_props "$TMP/vi.dtb" | tr -d '\t\n'))" \
				'[ -n "$(initrd_props "$TMP/vi.dtb")" ] && [ "$(initrd_props "$TMP/vi.dtb")" = "$(initrd_props "$TMP/qi.dtb")" ]'
		done
		"$VM" -M virt,dumpdtb="$TMP/vi.dtb" -bios none -kernel "$TMP/Image" -nographic >/dev/null 2>&1
		check "no -initrd: no linux,initrd properties" '[ -f "$TMP/vi.dtb" ] && [ -z "$(initrd_props "$TMP/vi.dtb")" ]'
	fi
	# load errors: exit 1, one line naming the file
	load_err() { # expected-text kernel [options]: true if strata-vm fails with one line containing it
		want=$1
		shift
		"$VM" -M virt -bios "$FW" -nographic -kernel "$@" </dev/null >/dev/null 2>"$TMP/err"
		[ $? -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$want" "$TMP/err"
	}
	: >"$TMP/empty"
	head -c 5000 /dev/urandom | gzip -c >"$TMP/junk.gz"
	cp "$TMP/Image" "$TMP/huge.Image"
	printf '\000\000\000\020' | dd of="$TMP/huge.Image" bs=1 seek=16 conv=notrunc 2>/dev/null # image_size 256 MiB
	truncate -s 40M "$TMP/big.initrd"
	check "-initrd of a missing file names it" 'load_err "nope.initrd: No such file" "$TMP/Image" -initrd "$TMP/nope.initrd"'
	check "an empty -kernel file is not a kernel" 'load_err "empty: empty file, not a kernel" "$TMP/empty"'
	check "gzip data that is not an Image is not a kernel" 'load_err "junk.gz: .*not a kernel" "$TMP/junk.gz"'
	head -c $(($(wc -c <"$TMP/Image.gz") / 2)) "$TMP/Image.gz" >"$TMP/cut.gz"
	check "a truncated gzip kernel is corrupt, not a kernel" 'load_err "cut.gz: corrupt gzip data, not a kernel" "$TMP/cut.gz"'
	cat "$TMP/Image.gz" "$TMP/Image.gz" >"$TMP/two.gz" # members inflate back to back, as gunzip does
	boot_img "$TMP/two.gz" >"$TMP/two.out"
	check "a gzip kernel of two concatenated members loads and boots" '[ -s "$TMP/img.out" ] && cmp -s "$TMP/img.out" "$TMP/two.out"'
	check "an Image whose image_size exceeds RAM does not fit" 'load_err "huge.Image: does not fit in RAM" "$TMP/huge.Image" -m 128M'
	check "an initrd past the device tree is too large" 'load_err "big.initrd: initrd too large" "$TMP/Image" -m 64M -initrd "$TMP/big.initrd"'
else
	skip "kernel loader" "opensbi or the cross compiler is not installed"
fi

# --- -drive: errors worded as qemu-system's (compared when QEMU is there), -snapshot ---
QEMU=qemu-system-riscv64
BLK=$BUILD_DIR/riscv/virtio/blk_raw.elf
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img create -q -f raw "$TMP/disk.raw" 4M
	for spec in "file=$TMP/nope.img,if=none,format=raw" "file=$TMP/disk.raw,if=none,format=bogus" \
		"file=$TMP/disk.raw,if=none,format=raw,frob=1" "file=$TMP/disk.raw,if=none,format=qcow2" \
		"file=$TMP/disk.raw,if=none,format=raw,readonly=maybe" "file=$TMP/disk.raw,if=none,format=raw,cache=fast"; do
		"$VM" -M virt -bios none -kernel "$BLK" -nographic -drive "$spec" </dev/null >/dev/null 2>"$TMP/err"
		vrc=$?
		if command -v $QEMU >/dev/null 2>&1; then
			$QEMU -M virt -bios none -kernel "$BLK" -nographic -drive "$spec" </dev/null 2>&1 >/dev/null |
				sed "s/^$QEMU:/strata-vm:/" >"$TMP/qerr"
			check "-drive $spec: exit 1 and qemu's message" '[ $vrc -eq 1 ] && cmp -s "$TMP/err" "$TMP/qerr"'
		else
			check "-drive $spec: exit 1 with one line" '[ $vrc -eq 1 ] && [ $(wc -l <"$TMP/err") -eq 1 ]'
		fi
	done
	"$VM" -M virt -bios none -kernel "$BLK" -nographic -device virtio-blk-device,drive=nope </dev/null >/dev/null 2>"$TMP/err"
	check "-device naming no drive is an error" '[ $? -eq 1 ] && grep -q "can.t find value .nope." "$TMP/err"'

	# if=virtio alone attaches the disk (QEMU would put it on PCI, so this is strata-vm only)
	qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 4M
	"$VM" -M virt -bios none -kernel "$BLK" -nographic -drive file="$TMP/disk.qcow2",if=virtio,format=qcow2 \
		</dev/null >"$TMP/out" 2>"$TMP/err"
	check "-drive if=virtio: disk in the top slot, writes read back" \
		'[ $? -eq 0 ] && grep -q "^slot 7: .* device=2" "$TMP/out" && grep -A1 "^readback" "$TMP/out" | grep -q "matches=0x0*1$"'
	check "qemu-img check passes on the image strata-vm wrote" 'qemu-img check -q "$TMP/disk.qcow2"'

	# -snapshot and snapshot=on: the guest sees its writes, the image stays as it was
	for how in "-snapshot -drive file=$TMP/disk.raw,if=virtio,format=raw" "-drive file=$TMP/disk.raw,if=virtio,format=raw,snapshot=on"; do
		cp "$TMP/disk.raw" "$TMP/disk.orig"
		mkdir -p "$TMP/snaptmp"
		TMPDIR="$TMP/snaptmp" "$VM" -M virt -bios none -kernel "$BLK" -nographic $how </dev/null >"$TMP/out" 2>"$TMP/err"
		vrc=$?
		check "$how: guest reads its writes" '[ $vrc -eq 0 ] && grep -A1 "^readback" "$TMP/out" | grep -q "matches=0x0*1$"'
		check "$how: image unchanged, no overlay left behind" \
			'cmp -s "$TMP/disk.raw" "$TMP/disk.orig" && [ -z "$(ls -A "$TMP/snaptmp")" ]'
	done
else
	skip "-drive" "qemu-img not installed"
fi

# --- device tree: the virtio-mmio nodes as QEMU's virt lists them (-M virt,dumpdtb=) ---
if command -v dtc >/dev/null 2>&1 && command -v qemu-system-riscv64 >/dev/null 2>&1; then
	"$VM" -M virt,dumpdtb="$TMP/vm.dtb" -bios none -nographic >/dev/null 2>&1
	vrc=$?
	qemu-system-riscv64 -M virt,dumpdtb="$TMP/q.dtb" -bios none -nographic >/dev/null 2>&1
	virtio_nodes() { # dtb -> the virtio_mmio nodes, interrupt-parent left out (phandles differ)
		dtc -I dtb -O dts "$1" 2>/dev/null | sed -n '/virtio_mmio@/,/};/p' | grep -v interrupt-parent
	}
	plic_parent() { # dtb -> "ok" when every virtio node's interrupt-parent is the PLIC's phandle
		dtc -I dtb -O dts "$1" 2>/dev/null | awk '/plic@/ { p = 1 } p && /phandle/ { ph = $3; p = 0 }
			/virtio_mmio@/ { v = 1 } v && /interrupt-parent/ { ip[n++] = $3; v = 0 }
			END { for (i = 0; i < n; i++) if (ip[i] != ph) exit 1; if (n == 8) print "ok" }'
	}
	check "-M virt,dumpdtb: virtio_mmio nodes equal QEMU's" \
		'[ $vrc -eq 0 ] && [ -n "$(virtio_nodes "$TMP/vm.dtb")" ] && [ "$(virtio_nodes "$TMP/vm.dtb")" = "$(virtio_nodes "$TMP/q.dtb")" ]'
	check "virtio_mmio interrupt-parent is the PLIC" '[ "$(plic_parent "$TMP/vm.dtb")" = ok ]'
else
	skip "device tree virtio nodes" "dtc or qemu-system-riscv64 not installed"
fi

# --- GDB stub ---
if command -v gdb-multiarch >/dev/null 2>&1; then
	# a port another process holds makes strata-vm fail at once: try a few
	for try in 1 2 3 4 5; do
		port=$((20000 + ($$ * 7 + try * 7919) % 40000))
		timeout 90 "$VM" -M virt -bios none -kernel "$ELF" -nographic -S -gdb tcp::$port >"$TMP/gdb-vm.out" 2>&1 &
		vm=$!
		sleep 0.3
		kill -0 $vm 2>/dev/null && break
		wait $vm
	done
	timeout 60 gdb-multiarch -batch -nx -ex "set pagination off" -ex "target remote :$port" \
		-ex "break main" -ex "continue" -ex "p/x \$pc == main" -ex "stepi" -ex "p \$pc != main" \
		-ex "p/x \$sp != 0" -ex "x/1xw main" -ex "set var \$a5 = 0x1234" -ex "p/x \$a5" \
		-ex "delete" -ex "continue" "$ELF" >"$TMP/gdb.out" 2>&1
	wait $vm
	vrc=$?
	check "gdb: breakpoint at main" 'grep -q "Breakpoint 1, .*main" "$TMP/gdb.out"'
	check "gdb: registers and stepping" '[ "$(grep -c "= 0x1$\|= true$\|= 1$" "$TMP/gdb.out")" -ge 3 ]'
	check "gdb: register write" 'grep -q "= 0x1234" "$TMP/gdb.out"'
	check "gdb: memory read" 'grep -q "<main>:" "$TMP/gdb.out"'
	check "gdb: guest runs to completion" 'grep -q "exited normally" "$TMP/gdb.out" && [ $vrc -eq 0 ]'
	sed 's/^/# /' "$TMP/gdb.out" | tail -n 12

	# watchpoints (Z2/Z3/Z4) and a hardware breakpoint (Z1): the same session on QEMU and
	# strata-vm must print the same stops, values and pcs (QEMU stops before the accessing
	# instruction and gdb steps over it). Compared from the first breakpoint on: the initial
	# stop (QEMU's reset vector) and the last line (QEMU closes at exit) differ by design.
	WELF=$BUILD_DIR/riscv/int/watch.elf
	gdb_watch() { # emulator-command port
		timeout 90 $1 -M virt -bios none -kernel "$WELF" -nographic -S -gdb tcp::$2 >/dev/null 2>&1 &
		wvm=$!
		sleep 0.5
		timeout 60 gdb-multiarch -batch -nx -ex "set pagination off" -ex "target remote :$2" \
			-ex "break main" -ex "continue" -ex "delete" -ex "watch watched[1]" -ex "continue" -ex 'p/x $pc' \
			-ex "continue" -ex 'p/x $pc' -ex "delete" -ex "rwatch watched[2]" -ex "continue" -ex 'p/x $pc' \
			-ex "delete" -ex "awatch watched[3]" -ex "continue" -ex 'p/x $pc' -ex "delete" -ex "hbreak rv_exit" \
			-ex "continue" -ex 'p/x $pc == rv_exit' -ex "delete" -ex "continue" "$WELF" 2>&1 |
			sed -n '/^Breakpoint 1 at/,$p' | sed '$d'
		wait $wvm
	}
	if command -v qemu-system-riscv64 >/dev/null 2>&1; then
		gdb_watch qemu-system-riscv64 $((port + 1)) >"$TMP/gdbw-q.out"
		gdb_watch "$VM" $((port + 2)) >"$TMP/gdbw-v.out"
		check "gdb: watch/rwatch/awatch and hbreak stop as on QEMU" \
			'grep -q "Hardware access (read/write) watchpoint" "$TMP/gdbw-v.out" && cmp -s "$TMP/gdbw-q.out" "$TMP/gdbw-v.out"'
		diff "$TMP/gdbw-q.out" "$TMP/gdbw-v.out" | sed 's/^/# /' | head -n 20
	else
		skip "gdb watchpoints against QEMU" "qemu-system-riscv64 not installed"
	fi
else
	skip "gdb stub" "gdb-multiarch not installed"
fi
exit 0
