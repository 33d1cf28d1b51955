#!/bin/sh
# -smp against qemu-system-riscv64 7.2: the option's errors word for word (program name swapped)
# and exit status 1, its deprecation warning, strata-vm's own hart limit (8, QEMU's virt has
# 512) in QEMU's words, -accel tcg,thread= (QEMU's error for a bad value; multi and single
# start and quit, `info cpus` as QEMU's); and the device tree of -smp 1, 2, 4, 8
# (-M virt,dumpdtb): the cpus node with cpu-map, the CLINT's and PLIC's interrupts-extended and
# the phandles equal QEMU's (riscv,isa and mmu-type, which differ by design, left out). TAP output.
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
QEMU=qemu-system-riscv64
TMP=${TEST_TMPDIR:-$(mktemp -d)}
[ -n "${TEST_TMPDIR:-}" ] || trap 'rm -rf "$TMP"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

same_error() { # ARG: both exit 1 with the same text up to the program name
	timeout 30 "$VM" -M virt -bios none -smp "$1" -nographic </dev/null >/dev/null 2>"$TMP/s.err"
	src=$?
	timeout 30 $QEMU -M virt -bios none -smp "$1" -display none </dev/null >/dev/null 2>"$TMP/q.err"
	qrc=$?
	sed -i 's/^qemu-system-riscv64:/strata-vm:/' "$TMP/q.err"
	if [ $src -eq 1 ] && [ $qrc -eq 1 ] && cmp -s "$TMP/s.err" "$TMP/q.err"; then
		ok "-smp '$1': $(cat "$TMP/s.err")"
	else
		notok "-smp '$1'"
		echo "# strata-vm ($src):"; sed 's/^/#   /' "$TMP/s.err"
		echo "# qemu ($qrc):"; sed 's/^/#   /' "$TMP/q.err"
	fi
}
for a in abc x2 "cpus=" "cpus=2,foo=1" "2,3" "2,dies=2" "2,clusters=2" "cpus=2,sockets=2,cores=2" \
	"cpus=4,maxcpus=2" "3,sockets=2" "cpus=4,cores=3" "2,sockets=x"; do
	same_error "$a"
done

# the hart limit: QEMU's message with strata-vm's number
for a in 9 "4,maxcpus=9" "sockets=3,cores=3"; do
	"$VM" -M virt -bios none -smp "$a" -nographic </dev/null >/dev/null 2>"$TMP/s.err"
	rc=$?
	max=$(echo "$a" | sed 's/.*maxcpus=//; s/sockets=3,cores=3/9/')
	if [ $rc -eq 1 ] && [ "$(cat "$TMP/s.err")" = "strata-vm: Invalid SMP CPUs $max. The max CPUs supported by machine 'virt' is 8" ]; then
		ok "-smp $a: more than 8 harts refused in QEMU's words"
	else
		notok "-smp $a: more than 8 harts refused in QEMU's words (exit $rc: $(cat "$TMP/s.err"))"
	fi
done

# a count of 0: QEMU's warning, then one hart
"$VM" -M virt,dumpdtb="$TMP/z.dtb" -smp 0 -nographic </dev/null >/dev/null 2>"$TMP/s.err"
$QEMU -M virt,dumpdtb="$TMP/zq.dtb" -smp 0 -display none </dev/null >/dev/null 2>"$TMP/q.err"
sed -i 's/^qemu-system-riscv64:/strata-vm:/' "$TMP/q.err"
if [ -s "$TMP/s.err" ] && [ "$(head -n 1 "$TMP/s.err")" = "$(head -n 1 "$TMP/q.err")" ]; then
	ok "-smp 0: QEMU's deprecation warning ($(head -n 1 "$TMP/s.err"))"
else
	notok "-smp 0: QEMU's deprecation warning"
	sed 's/^/#   /' "$TMP/s.err" "$TMP/q.err"
fi

# -accel tcg,thread=: QEMU's error for a bad value; multi and single start and quit
timeout 30 "$VM" -accel tcg,thread=foo -smp 2 -M virt -bios none -nographic </dev/null >/dev/null 2>"$TMP/s.err"
src=$?
timeout 30 $QEMU -accel tcg,thread=foo -smp 2 -M virt -bios none -display none </dev/null >/dev/null 2>"$TMP/q.err"
qrc=$?
sed -i 's/^qemu-system-riscv64:/strata-vm:/' "$TMP/q.err"
if [ $src -eq 1 ] && [ $qrc -eq 1 ] && cmp -s "$TMP/s.err" "$TMP/q.err"; then
	ok "-accel tcg,thread=foo: $(cat "$TMP/s.err")"
else
	notok "-accel tcg,thread=foo (exit $src, qemu $qrc)"
	sed 's/^/#   /' "$TMP/s.err" "$TMP/q.err"
fi
# `info cpus` lists every hart as QEMU's: "* CPU #0: thread_id=N" (no pc on riscv in 7.2), a
# thread per hart under thread=multi and under the default with several harts (QEMU 7.2 runs
# riscv64 on x86 with MTTCG by default), one thread for all under thread=single
cpus() { # EMULATOR ACCEL-OPTION: the info cpus lines, thread ids replaced by how many differ
	printf 'info cpus\nquit\n' | timeout 30 "$1" $2 -smp 4 -M virt -bios none -S -display none -serial none \
		-monitor stdio 2>"$TMP/c.err" | tr -d '\r' | grep -a -o '[* ] CPU #[0-9]*: thread_id=[0-9]*' >"$TMP/c.out"
	echo "$(sed 's/thread_id=[0-9]*/thread_id=N/' "$TMP/c.out" | tr '\n' ';') \
$(sed 's/.*thread_id=//' "$TMP/c.out" | sort -u | wc -l) thread(s)"
}
for t in multi single default; do
	a="-accel tcg,thread=$t"
	[ $t = default ] && a=
	echo quit | timeout 30 "$VM" $a -smp 4 -M virt -bios none -S -display none -serial none \
		-monitor stdio >"$TMP/s.out" 2>"$TMP/s.err"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$TMP/s.err" ]; then
		ok "-accel tcg,thread=$t -smp 4 -S: starts and quits (exit 0)"
	else
		notok "-accel tcg,thread=$t -smp 4 -S (exit $rc)"
		sed 's/^/#   /' "$TMP/s.err"
	fi
	s=$(cpus "$VM" "$a")
	q=$(cpus "$QEMU" "$a")
	want=4
	[ $t = single ] && want=1
	if [ "$s" = "$q" ] && [ "${s##* CPU #3: thread_id=N; }" = "$want thread(s)" ]; then
		ok "thread=$t -smp 4: info cpus as QEMU's ($s)"
	else
		notok "thread=$t -smp 4: info cpus as QEMU's"
		echo "#   strata-vm: $s"
		echo "#   qemu:      $q"
	fi
done

# --- device tree ---
# cpus and cpu-map, CLINT and PLIC interrupts, every phandle and interrupt-parent
dt_smp() {
	dtc -I dtb -O dts "$1" 2>/dev/null | awk '
		/^\tcpus \{/ { c = 1 } c { print } c && /^\t\};/ { c = 0 }
		/clint@|plic@/ { d = 1 } d && /interrupts-extended|phandle/ { print } d && /\};/ { d = 0 }
		/interrupt-parent|regmap/ { print }' | grep -v -e 'riscv,isa' -e 'mmu-type' | sort | uniq -c
}
for h in 1 2 4 8; do
	"$VM" -M virt,dumpdtb="$TMP/v$h.dtb" -smp $h -nographic >/dev/null 2>&1
	$QEMU -M virt,dumpdtb="$TMP/q$h.dtb" -smp $h -display none >/dev/null 2>&1
	dt_smp "$TMP/v$h.dtb" | grep -v interrupt-parent >"$TMP/v$h.txt"
	dt_smp "$TMP/q$h.dtb" | grep -v interrupt-parent >"$TMP/q$h.txt"
	# every interrupt-parent of ours is the PLIC (QEMU's extra nodes have more of them)
	parents=$(dtc -I dtb -O dts "$TMP/v$h.dtb" 2>/dev/null | sed -n 's/.*interrupt-parent = <\(.*\)>;/\1/p' | sort -u)
	if [ -s "$TMP/v$h.txt" ] && diff "$TMP/v$h.txt" "$TMP/q$h.txt" >"$TMP/d$h" 2>&1 &&
		[ "$parents" = "$(printf '0x%02x' $((2 * h + 1)))" ]; then
		ok "-smp $h: cpus, cpu-map, CLINT/PLIC interrupts-extended and phandles as QEMU's"
	else
		notok "-smp $h: cpus, cpu-map, CLINT/PLIC interrupts-extended and phandles as QEMU's (parents $parents)"
		sed 's/^/#   /' "$TMP/d$h" | head -n 30
	fi
done
echo "1..$n"
