#!/bin/sh
# qemu-img command-line corners (issue 15), each compared with qemu-img 7.2 on the same input:
# stdout, stderr (program name replaced) and exit status. -o help / -o ? lists, "Invalid option
# list", fractional sizes, convert's refusals (-C with -c/-S/--salvage, -n with -o), create -b '',
# sizes whose L1 table passes qemu's limit, measure with extended_l2, convert -p's progress line
# when stdout is a file.
. "$SRC_DIR/tests/lib/tap.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP no qemu-img"; exit 77; }

qemu-img create -q -f qcow2 src.qcow2 1M
qemu-img create -q -f qcow2 big.qcow2 64M
qemu-io -c "write 1M 3M" -c "write 30M 7M" -c "write -z 40M 1M" big.qcow2 >/dev/null

# both: like compare_img, with the files the commands make removed before each run and a
# fresh -n target (n.qcow2) for each
both() {
	name=$1
	shift
	rm -f t.qcow2 t.x x.raw; qemu-img create -q -f qcow2 n.qcow2 1M
	"$IMG" "$@" >o.out 2>o.err; echo "rc=$?" >>o.out
	rm -f t.qcow2 t.x x.raw; qemu-img create -q -f qcow2 n.qcow2 1M
	qemu-img "$@" >r.out 2>r.err; echo "rc=$?" >>r.out
	normalize r.err >r.e
	if cmp -s o.out r.out && cmp -s o.err r.e; then
		tap_result 0 "$name"
	else
		tap_result 1 "$name"
		diff o.out r.out | head -n 20 | sed 's/^/# /'
		diff o.err r.e | head -n 20 | sed 's/^/# /'
	fi
}

# --- -o help / -o ? ---
both "create -o help" create -f qcow2 -o help
both "create -o ?" create -f qcow2 -o '?'
for f in qcow2 raw vdi vmdk luks; do
	both "create -f $f -o help with a file name (host-file options merged)" \
		create -f $f -o help t.x
done
both "convert -o help with a target" convert -O qcow2 -o help src.qcow2 t.qcow2
both "convert -o help, one file name" convert -O qcow2 -o help src.qcow2
both "convert -o help, no file (raw)" convert -o help
both "convert -o ? raw target" convert -O raw -o '?' src.qcow2 x.raw
both "convert -o cluster_size=4k,help" convert -O qcow2 -o cluster_size=4k,help src.qcow2
both "amend -o ?" amend -f qcow2 -o '?' src.qcow2
both "amend -o help (probed format)" amend -o help src.qcow2

# --- option lists and sizes ---
both "create -o 'x,'" create -f qcow2 -o cluster_size=4k, t.qcow2 1M
both "create -o ,," create -f qcow2 -o ,, t.qcow2 1M
both "create -o ''" create -f qcow2 -o '' t.qcow2 1M
both "create -o 'a,,,'" create -f qcow2 -o 'a,,,' t.qcow2 1M
both "measure -o ," measure -O qcow2 -o , --size 1M
both "convert -o 'a,,,'" convert -O qcow2 -o 'a,,,' src.qcow2 t.qcow2
both "amend -o ," amend -o , src.qcow2
for s in 1024.0 1024.0b 1024.00 512.b 1.5k 0.5k 1024.5 .5k 1e3; do
	both "create size $s" create -f raw t.x $s
done

# --- convert refusals ---
for o in "-C -S 0" "-C -c" "-C --salvage" "-C -S 4k" "-C --salvage -c" "-n -o cluster_size=4k" \
	 "-n -o help"; do
	# shellcheck disable=SC2086
	both "convert $o" convert $o -O qcow2 src.qcow2 n.qcow2
done
both "convert -C -S 0, one file name" convert -C -S 0 -O qcow2 src.qcow2
both "convert -n -o x, one file name" convert -n -O qcow2 -o x src.qcow2

# --- create ---
both "create -b ''" create -f qcow2 -b '' t.qcow2
both "create -b '' -F qcow2" create -f qcow2 -b '' -F qcow2 t.qcow2 1M
both "create -o backing_file=" create -f qcow2 -o backing_file= t.qcow2 1M
for s in 2P 2049T 1048576T; do
	both "create qcow2 $s" create -f qcow2 t.qcow2 $s
done
both "create 1048576T with 2M clusters" create -f qcow2 -o cluster_size=2M t.qcow2 1048576T
both "create extended_l2 1P with 32k clusters" create -f qcow2 -o cluster_size=32k,extended_l2=on t.qcow2 1P
both "create extended_l2 128T with 32k clusters" create -f qcow2 -o cluster_size=32k,extended_l2=on t.qcow2 128T

# refcount_bits=64 with 512-byte clusters: runs longer than one refcount block's range, the
# refcount table moving during preallocation (failed: "Cluster allocation does not converge")
both "create refcount_bits=64,cluster_size=512,preallocation=metadata 256M" \
	create -f qcow2 -o refcount_bits=64,cluster_size=512,preallocation=metadata t.qcow2 256M
"$IMG" create -q -f qcow2 -o refcount_bits=64,cluster_size=512,preallocation=metadata p64.qcow2 256M
qemu-img check p64.qcow2 >o.out 2>&1
tap_result $? "refcount_bits=64 preallocated: qemu-img check clean" || sed 's/^/# /' o.out | head -5
qemu-img create -q -f raw z.raw 256M
qemu-img compare -q -f qcow2 -F raw p64.qcow2 z.raw
tap_result $? "refcount_bits=64 preallocated: reads zeros (no stale metadata bytes)"
rm -f p64.qcow2 z.raw

# --- measure with extended_l2 ---
for o in extended_l2=on,cluster_size=4k extended_l2=on,cluster_size=8k extended_l2=on,cluster_size=2M \
	 extended_l2=on; do
	both "measure -o $o" measure -O qcow2 -o $o --size 100G
done

# --- convert -p with stdout a file ---
for f in src.qcow2 big.qcow2; do
	both "convert -p $f (progress line on a non-terminal)" convert -p -O qcow2 $f t.qcow2
done
both "convert -p -q: no progress" convert -p -q -O qcow2 big.qcow2 t.qcow2

# --- strata-io reopen -o lazy-refcounts=on|off: the dirty flag a kill after a flush leaves ---
lazy_state() { # TOOL IMAGE-OPTS SCRIPT...: the header state after TOOL ran SCRIPT then was killed
	tool=$1 opts=$2
	shift 2
	rm -f lz.qcow2
	qemu-img create -q -f qcow2 $opts lz.qcow2 1M
	"$tool" "$@" -c flush -c "sigraise 9" lz.qcow2 >/dev/null 2>&1
	qemu-img info --output=json lz.qcow2 | grep -E '"(dirty-flag|lazy-refcounts)"' | tr -d ' \n'
}
for case in "|-c|reopen -o lazy-refcounts=on" "-o lazy_refcounts=on|-c|reopen -o lazy-refcounts=off" \
	    "|-c|reopen -o lazy-refcounts=on|-c|reopen -o lazy-refcounts=off"; do
	IFS='|' read -r opts a1 a2 a3 a4 <<EOC
$case
EOC
	set -- "$a1" "$a2"
	[ -n "$a3" ] && set -- "$@" "$a3" "$a4"
	o=$(lazy_state "$IO" "$opts" "$@" -c "write 0 4k")
	r=$(lazy_state qemu-io "$opts" "$@" -c "write 0 4k")
	[ "$o" = "$r" ]
	tap_result $? "strata-io $* then write, flush, kill: $r" || echo "# ours: $o"
done
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
for o in lazy-refcounts=on lazy-refcounts=maybe foo=1 lazy-refcounts=off; do
	"$IO" -c "reopen -o $o" -c "read 0 512" v2.qcow2 2>&1 | sed 's/; .*//' >o.out
	qemu-io -c "reopen -o $o" -c "read 0 512" v2.qcow2 2>&1 | sed 's/; .*//' | normalize >r.out
	same_file "strata-io reopen -o $o on a v2 image: message, image still open" o.out r.out
done

# --- qcow2 cache options: qemu's validation at open (strata-io and strata-img info) ---
qemu-img create -q -f qcow2 cs.qcow2 1M
for o in cache-size=1M,l2-cache-size=2M cache-size=1M,refcount-cache-size=2M \
	 cache-size=1M,l2-cache-size=512k,refcount-cache-size=512k l2-cache-size=abc l2-cache-size=-1 \
	 l2-cache-entry-size=1000 l2-cache-entry-size=256 l2-cache-entry-size=128k l2-cache-entry-size=4k \
	 cache-clean-interval=-1 cache-clean-interval=x cache-clean-interval=4294967296 \
	 cache-clean-interval=4294967295 cache-size=1M,l2-cache-size=1M refcount-cache-size=1k; do
	"$IO" -c "read 0 512" --image-opts "driver=qcow2,file.filename=cs.qcow2,$o" 2>&1 |
		sed 's/; .*//' >o.out
	qemu-io -c "read 0 512" --image-opts "driver=qcow2,file.filename=cs.qcow2,$o" 2>&1 |
		sed 's/; .*//' | normalize >r.out
	same_file "strata-io open with $o" o.out r.out
done
both "info --image-opts with a bad cache size" info --image-opts \
	"driver=qcow2,file.filename=cs.qcow2,l2-cache-size=abc"

tap_end
