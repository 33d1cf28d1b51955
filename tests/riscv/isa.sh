#!/bin/sh
# -cpu rv64,<ext>=on|off against qemu-system-riscv64 7.2: the same error texts, the same
# riscv,isa in the device tree (strata-vm has no H extension: QEMU runs with h=false), and
# disabled extensions trap while enabled ones (Zicond, which QEMU lacks) run natively. Also the
# interpreter and the JIT retire the same number of bit-manipulation instructions.
SRC_DIR=${SRC_DIR:-.}
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
QEMU=qemu-system-riscv64
cd "$SRC_DIR" || exit 1
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# riscv,isa out of a dumped device tree (the only string starting with rv64)
isa_of() { grep -a -o 'rv64[a-z_]*' "$1" | head -n 1; }

if command -v $QEMU >/dev/null 2>&1; then
	for model in rv64 rv64,zba=false,zbs=off rv64,zbkb=on,zbkx=on,svinval=true rv64,zbb=false,zbkc=true,zbc=n \
		rv64,zbkb=yes,zbkb=no rv64,Zicsr=true,h=false,svinval=on rv64,Zfhmin=on,zbkx=on rv64,Zfh=on rv64,Zfh=on,Zfhmin=on \
		rv64,svpbmt=true rv64,svnapot=on,svinval=on rv64,svnapot=on,svpbmt=on,zba=off rv64,debug=false \
		rv64,debug=true,svpbmt=on; do
		rm -f "$TMP/q.dtb" "$TMP/v.dtb"
		timeout 30 $QEMU -M virt,dumpdtb="$TMP/q.dtb" -cpu "$model,h=false" -nographic >/dev/null 2>&1
		timeout 30 "$VM" -M virt,dumpdtb="$TMP/v.dtb" -cpu "$model" -nographic >/dev/null 2>&1
		q=$(isa_of "$TMP/q.dtb")
		v=$(isa_of "$TMP/v.dtb")
		check "-cpu $model: riscv,isa as QEMU's ($v)" '[ -n "$q" ] && [ "$q" = "$v" ]'
	done
	for model in rv64,foo=true rv64,zba=maybe rv64,zba rv64,Zawrs=on bogus,zba=true rv64,Zfh; do
		timeout 30 $QEMU -M virt -bios none -cpu "$model" -nographic </dev/null >/dev/null 2>"$TMP/q.err"
		qrc=$?
		timeout 30 "$VM" -M virt -bios none -cpu "$model" -nographic </dev/null >/dev/null 2>"$TMP/v.err"
		vrc=$?
		q=$(grep -v "module ui" "$TMP/q.err" | sed 's/^qemu-system-riscv64: //')
		v=$(sed 's/^strata-vm: //' "$TMP/v.err")
		check "-cpu $model: QEMU's error ($v)" '[ $qrc -eq 1 ] && [ $vrc -eq 1 ] && [ "$q" = "$v" ]'
	done
else
	skip "-cpu models against QEMU" "$QEMU not installed"
fi

# extensions QEMU 7.2 lacks or strata-vm does not implement: strata-vm's own errors
"$VM" -M virt -bios none -cpu rv64,v=true -nographic </dev/null >/dev/null 2>"$TMP/v.err"
check "-cpu rv64,v=true: not implemented" '[ $? -eq 1 ] && grep -q "rv64,v=true: strata-vm does not implement" "$TMP/v.err"'
"$VM" -M virt -bios none -cpu rv64,c=off -nographic </dev/null >/dev/null 2>&1
check "-cpu rv64,c=off: cannot be disabled" '[ $? -eq 1 ]'
rm -f "$TMP/v.dtb"
"$VM" -M virt,dumpdtb="$TMP/v.dtb" -cpu max -nographic >/dev/null 2>&1
check "-cpu max: every extension in riscv,isa" \
	'[ "$(isa_of "$TMP/v.dtb")" = rv64imafdc_zicbom_zicbop_zicboz_zicond_zicsr_zifencei_zihintntl_zihintpause_zfa_zfh_zfhmin_zba_zbb_zbc_zbkb_zbkc_zbkx_zbs_sstc_svinval_svnapot_svpbmt ]'

# riscv,isa-extensions (QEMU 7.2 has none): exactly the enabled extensions, the same names as
# riscv,isa plus the ones it leaves out as QEMU 7.2 does (zicntr, zihpm, sdtrig)
exts_of() { # the stringlist, one name a line
	dtc -I dtb -O dts "$1" 2>/dev/null | sed -n 's/.*riscv,isa-extensions = "\(.*\)";/\1/p' | sed 's/\\0/\n/g'
}
if command -v dtc >/dev/null 2>&1; then
	for model in rv64 max rv64,debug=false,zbc=false rv64,zfa=on,zicbop=on,zihintntl=on,svpbmt=on; do
		rm -f "$TMP/v.dtb"
		"$VM" -M virt,dumpdtb="$TMP/v.dtb" -cpu "$model" -nographic >/dev/null 2>&1
		want=$(isa_of "$TMP/v.dtb" | sed 's/^rv64imafdc/i_m_a_f_d_c/' | tr _ '\n')
		case $model in *debug=false*) extra="zicntr zihpm" ;; *) extra="zicntr zihpm sdtrig" ;; esac
		want=$(printf '%s\n' $want $extra | sort)
		got=$(exts_of "$TMP/v.dtb" | sort)
		check "-cpu $model: riscv,isa-extensions lists exactly the enabled extensions" '[ -n "$got" ] && [ "$got" = "$want" ]'
	done
else
	skip "riscv,isa-extensions" "dtc not installed"
fi

# Zicond: natively with zicond=true (no trap in the -d int log), trapped without
ZI=$BUILD_DIR/riscv/bext/zicond.elf
for mode in off eager; do
	timeout 60 "$VM" --jit=$mode -M virt -bios none -cpu rv64,zicond=true -kernel "$ZI" -nographic -d int -D "$TMP/zi.log" \
		</dev/null >"$TMP/zi.out" 2>&1
	check "zicond=true --jit=$mode: czero.* run without a trap" '[ $? -eq 0 ] && [ ! -s "$TMP/zi.log" ] && [ -s "$TMP/zi.out" ]'
done
timeout 60 "$VM" -M virt -bios none -kernel "$ZI" -nographic -d int -D "$TMP/zi.log" </dev/null >/dev/null 2>&1
check "zicond off by default: czero.* trap" '[ $? -eq 0 ] && [ "$(grep -c "cause" "$TMP/zi.log")" -gt 0 ]'

# the disassembler of -d in_asm names the new instructions
timeout 60 "$VM" -M virt -bios none -cpu max -kernel "$BUILD_DIR/riscv/bext/bitmanip.elf" -nographic -d in_asm \
	-D "$TMP/asm.log" </dev/null >/dev/null 2>&1
for want in "sh1add.uw a0,a0,a1" "clz a0,s0" "bseti a0,s0,63" "rori a0,s0,1" "zext.h a0,s0" "xperm8 a0,a0,a1" \
	"rev8 a0,s0"; do
	check "-d in_asm: $want" 'grep -q "insn=[0-9a-f]* $want\$" "$TMP/asm.log"'
done

# the JIT retires exactly what the interpreter does
stats() {
	timeout 60 "$VM" --jit="$1" --stats -M virt -bios none -cpu rv64,zbkb=on,zbkc=on,zbkx=on -kernel "$2" -nographic \
		</dev/null 2>&1 >/dev/null | sed -n 's/.*\(instret=[0-9]*\).*/\1/p'
}
for prog in bext/bitmanip int/jitfuzz; do
	a=$(stats off "$BUILD_DIR/riscv/$prog.elf")
	b=$(stats eager "$BUILD_DIR/riscv/$prog.elf")
	check "$prog: --jit=eager retires as many instructions as --jit=off ($a)" '[ -n "$a" ] && [ "$a" = "$b" ]'
done
exit 0
