#!/bin/sh
# Runs every guest program (same rule as riscv.mk: tests/riscv/<dir>/*.{c,S} defining main or
# _start) on strata-vm and on qemu-system-riscv64, the oracle, and compares UART output and exit
# status byte for byte. strata-vm runs each program three times: interpreter only
# (--jit=off), the default, and with every jump target compiled at once (--jit=eager), so the
# interpreter and the JIT are both held to QEMU's output. One TAP line per program.
# STRATA_GUEST_FILTER=substring limits the run (debugging).
#
# A program may declare a disk with a line `/* disk: FORMAT SIZE [readonly] [modern] */`: every
# run then gets its own fresh copy of one image (made with qemu-img, a few sectors written with
# qemu-io) on a virtio-blk device in the same virtio-mmio slot on both emulators
# (`-drive if=none,id=d0 -device virtio-blk-device,drive=d0`: QEMU's if=virtio would put it on
# PCI); `modern` adds -global virtio-mmio.force-legacy=false. Afterwards every strata-vm image
# must equal QEMU's (qemu-img compare) and pass qemu-img check (formats that have one).
# A line `/* cpu: MODEL */` (e.g. `/* cpu: rv64,zbkb=true */`) runs the program with -cpu MODEL
# on both emulators (`/* smp: N */` runs it with -smp N on both); `/* vm-cpu: MODEL */` on strata-vm only, for extensions QEMU 7.2 lacks (the
# program then emulates them in its trap handler on QEMU, and the outputs must still agree).
# strata-vm runs with -M virt,powerbutton=off: QEMU's virt has no power button, and the
# programs that list the virtio-mmio slots must see the same board on both.
SRC_DIR=${SRC_DIR:-.}
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
QEMU=qemu-system-riscv64
# Sanitizer builds are several times slower; give them more room before calling it a hang.
LIMIT=30
[ "${SANITIZE:-}" = 1 ] && LIMIT=120

cd "$SRC_DIR" || exit 1
if ! command -v $QEMU >/dev/null 2>&1; then
	echo "ok 1 - riscv guests # SKIP $QEMU not installed"
	exit 0
fi
progs=$(grep -lE '(^|[^A-Za-z0-9_])(main|_start)[[:space:]]*(\(|:)' tests/riscv/*/*.c tests/riscv/*/*.S 2>/dev/null |
	grep -v '^tests/riscv/common/' | sort)
[ -n "${STRATA_GUEST_FILTER:-}" ] && progs=$(echo "$progs" | grep -F "$STRATA_GUEST_FILTER")

n=0
for src in $progs; do
	n=$((n + 1))
	rel=${src#tests/riscv/}
	name=${rel%.*}
	elf=$BUILD_DIR/riscv/$name.elf
	out=$TMP/$(echo "$name" | tr / _)
	if [ ! -f "$elf" ]; then
		echo "not ok $n - $name # ELF missing: $elf"
		continue
	fi
	disk=$(sed -n 's|^/\* disk: \(.*\) \*/$|\1|p' "$src" | head -n 1)
	cpu=$(sed -n 's|^/\* cpu: \(.*\) \*/$|\1|p' "$src" | head -n 1)
	vmcpu=$(sed -n 's|^/\* vm-cpu: \(.*\) \*/$|\1|p' "$src" | head -n 1)
	vmcpu=${vmcpu:-$cpu}
	smp=$(sed -n 's|^/\* smp: \([0-9]*\) \*/$|\1|p' "$src" | head -n 1)
	set -- $disk
	dfmt=${1:-}
	dsize=${2:-}
	dopts=""
	dglobal=""
	case " $disk " in *" readonly "*) dopts=",readonly=on" ;; esac
	case " $disk " in *" modern "*) dglobal="-global virtio-mmio.force-legacy=false" ;; esac
	if [ -n "$disk" ]; then
		qemu-img create -q -f "$dfmt" "$out.base.img" "$dsize" &&
			qemu-io -f "$dfmt" -c 'write -P 0x11 0 512' -c 'write -P 0x22 3584 512' \
				-c 'write -P 0x33 51200 4096' "$out.base.img" >/dev/null || echo "# cannot create $disk" >>"$out.diag"
	fi
	# the drive options for a run whose image is $1 (a fresh copy of the base image)
	drive() {
		[ -n "$disk" ] || return 0
		cp "$out.base.img" "$1"
		echo "-drive file=$1,if=none,format=$dfmt,id=d0$dopts -device virtio-blk-device,drive=d0 $dglobal"
	}
	timeout $LIMIT $QEMU -M virt -bios none ${cpu:+-cpu $cpu} ${smp:+-smp $smp} -kernel "$elf" -nographic $(drive "$out.qemu.img") \
		</dev/null >"$out.qemu" 2>"$out.qemu.err" &
	qpid=$!
	# several harts: also on a host thread each (thread=multi), with each JIT mode
	modes="off on eager"
	[ -n "$smp" ] && modes="$modes mt-off mt-on mt-eager"
	for mode in $modes; do
		accel=tcg,thread=single
		case $mode in mt-*) accel=tcg,thread=multi ;; esac
		timeout $LIMIT "$VM" --jit=${mode#mt-} -accel $accel -M virt,powerbutton=off -bios none ${vmcpu:+-cpu $vmcpu} ${smp:+-smp $smp} -kernel "$elf" -nographic $(drive "$out.vm.$mode.img") \
			</dev/null >"$out.vm.$mode" 2>"$out.vm.$mode.err"
		echo $? >"$out.vm.$mode.rc"
	done
	wait $qpid
	qrc=$?
	bad=""
	if [ -n "$disk" ]; then
		for mode in off on eager; do
			if ! qemu-img compare -q -f "$dfmt" -F "$dfmt" "$out.qemu.img" "$out.vm.$mode.img" >>"$out.diag" 2>&1; then
				bad="$bad $mode(image)"
				echo "# --jit=$mode: the disk differs from QEMU's" >>"$out.diag"
			fi
			case $dfmt in raw) ;; *)
				if ! qemu-img check -q -f "$dfmt" "$out.vm.$mode.img" >>"$out.diag" 2>&1; then
					bad="$bad $mode(check)"
					echo "# --jit=$mode: qemu-img check fails on the disk" >>"$out.diag"
				fi ;;
			esac
		done
		rm -f "$out".*img
	fi
	for mode in $modes; do
		vrc=$(cat "$out.vm.$mode.rc")
		if [ "$vrc" -ne $qrc ] || ! cmp -s "$out.qemu" "$out.vm.$mode"; then
			bad="$bad $mode"
			echo "# --jit=$mode: strata-vm exit $vrc, qemu exit $qrc" >>"$out.diag"
			diff "$out.qemu" "$out.vm.$mode" | head -n 20 | sed 's/^/# /' >>"$out.diag"
			head -n 5 "$out.vm.$mode.err" | sed 's/^/# vm: /' >>"$out.diag"
		fi
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $name (exit $qrc)"
	else
		echo "not ok $n - $name (differs from qemu with --jit=$(echo $bad | tr ' ' ','))"
		cat "$out.diag"
	fi
done
[ $n -gt 0 ] || echo "ok 1 - riscv guests # SKIP no programs"
exit 0
