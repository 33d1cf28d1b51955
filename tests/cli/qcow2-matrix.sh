#!/bin/sh
# qcow2 interoperability with qemu-img / qemu-io 7.2 over a matrix of cluster sizes, compat
# levels, refcount widths, extended L2 and preallocation modes:
#  - strata-img create prints qemu-img's "Formatting" line and (preallocation off/metadata)
#    makes a byte-identical file; info on it is identical to qemu-img's;
#  - images written by strata-io pass qemu-img check and compare equal to a raw reference
#    written by qemu-io with the same commands;
#  - images written by qemu-io read back as expected through strata-io, and converted to
#    raw by strata-img equal the raw reference byte for byte.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

# ops P0 C S: the write commands (qemu-io syntax), one per line.
ops() {
	p0=$1 c=$2 s=$3 a=$(($2 < 2048 ? $2 / 2 : 700))
	echo "write -P 0x11 1000 5000"
	echo "write -z 1500 1000"
	echo "write -P 0x22 $((p0 + 2 * c)) $((3 * c))"
	echo "write -z $((p0 + 3 * c)) $c"
	echo "discard $((p0 + 4 * c)) $c"
	echo "write -P 0x33 $((p0 + 6 * c - a)) $((c + 2 * a))"
	echo "write -z $((p0 + 6 * c + 100)) 50"
	echo "write -P 0x55 $((p0 + 8 * c + 100)) 200"
	echo "write -P 0x44 $((s - 3000)) 3000"
}

# expect P0 C S: "read -P" commands that verify the result of ops.
expect() {
	p0=$1 c=$2 s=$3 a=$(($2 < 2048 ? $2 / 2 : 700))
	echo "read -P 0 0 1000"
	echo "read -P 0x11 1000 500"
	echo "read -P 0 1500 1000"
	echo "read -P 0x11 2500 3500"
	echo "read -P 0 6000 $((p0 + 2 * c - 6000))"
	echo "read -P 0x22 $((p0 + 2 * c)) $c"
	echo "read -P 0 $((p0 + 3 * c)) $((3 * c - a))"
	echo "read -P 0x33 $((p0 + 6 * c - a)) $((a + 100))"
	echo "read -P 0 $((p0 + 6 * c + 100)) 50"
	echo "read -P 0x33 $((p0 + 6 * c + 150)) $((c + a - 150))"
	echo "read -P 0 $((p0 + 7 * c + a)) $((c - a + 100))"
	echo "read -P 0x55 $((p0 + 8 * c + 100)) 200"
	echo "read -P 0 $((p0 + 8 * c + 300)) $((s - 3000 - p0 - 8 * c - 300))"
	echo "read -P 0x44 $((s - 3000)) 3000"
}

# run_cmds TOOL FILE FMT < commands: one process, every command as -c.
run_cmds() {
	tool=$1 file=$2 fmt=$3
	set --
	while IFS= read -r line; do
		set -- "$@" -c "$line"
	done
	"$tool" -f "$fmt" "$@" "$file"
}

size_of() { case $1 in 512) echo 512 ;; 4k) echo 4096 ;; 64k) echo 65536 ;; 2M) echo 2097152 ;; esac; }

combo=0
for cs in 512 4k 64k 2M; do
	for compat in 0.10 1.1; do
		for rb in 1 16 64; do
			[ "$compat" = 0.10 ] && [ "$rb" != 16 ] && continue
			for el2 in off on; do
				[ "$el2" = on ] && { [ "$compat" = 0.10 ] || [ "$cs" = 512 ] || [ "$cs" = 4k ]; } && continue
				combo=$((combo + 1))
				case $((combo % 4)) in
				0) pre=off ;; 1) pre=metadata ;; 2) pre=falloc ;; 3) pre=full ;;
				esac
				[ "$cs" = 2M ] && [ "$pre" = full ] && pre=falloc
				c=$(size_of $cs)
				if [ "$c" -le 65536 ]; then p0=1048576 s=2097152; else p0=$c s=$((p0 + 11 * c)); fi
				o="cluster_size=$cs,compat=$compat,refcount_bits=$rb,extended_l2=$el2,preallocation=$pre"
				name="cs=$cs compat=$compat rb=$rb el2=$el2 pre=$pre"
				rm -f ours.qcow2 ref.qcow2

				"$IMG" create -f qcow2 -o "$o" ours.qcow2 "$s" >o.out 2>&1
				qemu-img create -f qcow2 -o "$o" ref.qcow2 "$s" >r.out 2>&1
				sed 's/ref.qcow2/ours.qcow2/' r.out >r2.out
				same_file "create line $name" o.out r2.out
				if [ "$pre" = off ] || [ "$pre" = metadata ]; then
					same_file "create byte-identical $name" ours.qcow2 ref.qcow2
				fi
				"$IMG" info ours.qcow2 >o.info 2>&1
				qemu-img info ours.qcow2 >r.info 2>&1
				same_file "info $name" o.info r.info

				ops $p0 $c $s | run_cmds "$IO" ours.qcow2 qcow2 >o.io 2>&1
				if [ ! -f "raw-$c.img" ]; then # the raw reference depends on the geometry only
					qemu-img create -q -f raw "raw-$c.img" "$s"
					ops $p0 $c $s | run_cmds qemu-io "raw-$c.img" raw >/dev/null 2>&1
				fi
				! grep -qiE 'error|fail' o.io
				tap_result $? "strata-io writes $name"
				qemu-img check ours.qcow2 >chk.out 2>&1
				tap_result $? "qemu-img check clean $name"
				grep -v '^No errors' chk.out | grep -vE 'allocated|Image end' | sed 's/^/# /'
				qemu-img compare -q ours.qcow2 "raw-$c.img"
				tap_result $? "qemu-img compare $name"
				"$IMG" check ours.qcow2 >o.chk 2>&1
				same_file "check output $name" o.chk chk.out
				# (extended L2 too: unallocated subclusters of allocated clusters
				# with their host offset, as qemu prints them)
				"$IMG" map --output=json ours.qcow2 >o.map 2>&1
				qemu-img map --output=json ours.qcow2 >r.map 2>&1
				same_file "map $name" o.map r.map

				ops $p0 $c $s | run_cmds qemu-io ref.qcow2 qcow2 >/dev/null 2>&1
				expect $p0 $c $s | run_cmds "$IO" ref.qcow2 qcow2 >o.rd 2>&1
				! grep -qiE 'fail|error' o.rd
				tap_result $? "strata-io reads qemu-written $name"
				grep -iE 'fail|error' o.rd | head -3 | sed 's/^/# /'
				rm -f conv.raw
				"$IMG" convert -O raw ref.qcow2 conv.raw >/dev/null 2>&1 &&
					cmp -s conv.raw "raw-$c.img"
				tap_result $? "strata-img convert of qemu-written equals raw reference $name"
			done
		done
	done
done
tap_end
