#!/bin/sh
# Durability and cache modes: with -t writethrough (or directsync) a write that completed
# survives a SIGKILL right after it (qcow2 with lazy_refcounts on and off), as with qemu-io;
# every tool takes the same five cache modes with qemu's meanings and refuses others with
# qemu's text and exit status.
. "$SRC_DIR/tests/lib/tap.sh"

# 1. A completed write survives the kill in write-through modes.
for lazy in off on; do
	for mode in writethrough directsync; do
		name="-t $mode, lazy_refcounts=$lazy"
		rm -f d.qcow2
		qemu-img create -q -f qcow2 -o lazy_refcounts=$lazy d.qcow2 4M
		"$IO" -t $mode -c 'write -P 0x5a 0 512' -c 'write -P 0x6b 1M 64k' \
			-c 'write -c -P 0x7c 2M 64k' -c 'sigraise 9' d.qcow2 >/dev/null 2>&1
		qemu-io -r -c 'read -P 0x5a 0 512' -c 'read -P 0x6b 1M 64k' -c 'read -P 0x7c 2M 64k' \
			d.qcow2 >r.out 2>&1
		! grep -q 'failed\|error' r.out
		tap_result $? "$name: writes done before SIGKILL read back" || sed 's/^/# /' r.out
		qemu-img check -r all d.qcow2 >c.out 2>&1
		tap_result $? "$name: qemu-img check -r all succeeds afterwards" || sed 's/^/# /' c.out
		if [ $lazy = off ]; then
			check "$name: image clean without repair" qemu-img check d.qcow2
		fi
	done
	# the same through 'open -t' inside strata-io
	rm -f d.qcow2
	qemu-img create -q -f qcow2 -o lazy_refcounts=$lazy d.qcow2 4M
	"$IO" -c 'open -t writethrough d.qcow2' -c 'write -P 0x5a 0 512' -c 'sigraise 9' \
		>/dev/null 2>&1
	check "open -t writethrough, lazy_refcounts=$lazy: write survives SIGKILL" \
		qemu-io -r -c 'read -P 0x5a 0 512' d.qcow2
	qemu-io -r -c 'read -P 0x5a 0 512' d.qcow2 | grep -q 'verification failed' &&
		echo "# pattern lost"
done
# write-through flushes every write: one fdatasync per write (the host's view)
if command -v strace >/dev/null; then
	rm -f d.qcow2
	qemu-img create -q -f qcow2 d.qcow2 4M
	strace -f -e trace=fdatasync,fsync -o st.log "$IO" -t writethrough \
		-c 'write 0 4k' -c 'write 1M 4k' -c 'write 2M 4k' d.qcow2 >/dev/null 2>&1
	n=$(grep -c 'sync(' st.log)
	[ "$n" -ge 3 ]
	tap_result $? "writethrough: a flush per write ($n syncs for 3 writes)"
	strace -f -e trace=fdatasync,fsync -o st.log "$IO" -t unsafe \
		-c 'write 0 4k' -c 'write 1M 4k' -c 'flush' d.qcow2 >/dev/null 2>&1
	n=$(grep -c 'sync(' st.log)
	[ "$n" -eq 0 ]
	tap_result $? "unsafe: flushes ignored ($n syncs)"
fi

# 2. One cache-mode parser: qemu's messages and statuses for a bad mode, in every tool.
qemu-img create -q -f qcow2 base.qcow2 4M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
for c in "convert -t foo -O raw top.qcow2 x.raw" "convert -T foo -O raw top.qcow2 x.raw" \
	 "bench -t foo -c 1 top.qcow2" "amend -t foo -o lazy_refcounts=on top.qcow2" \
	 "commit -t foo top.qcow2" "rebase -t foo -b base.qcow2 -F qcow2 top.qcow2" \
	 "rebase -T foo -b base.qcow2 -F qcow2 top.qcow2" "check -T foo top.qcow2" \
	 "compare -T foo top.qcow2 base.qcow2"; do
	compare_img "bad cache mode: $c" $c
done
for c in "-t foo -c quit top.qcow2" "-c 'open -t foo top.qcow2'" "-c 'reopen -c foo' top.qcow2"; do
	eval "\"$IO\" $c" >o.out 2>&1; echo "rc=$?" >>o.out
	eval "qemu-io $c" >r.out 2>&1; echo "rc=$?" >>r.out
	normalize r.out >r.n
	same_file "bad cache mode: strata-io $c" o.out r.n
done
# every mode accepted by every tool that takes one
for m in writeback none off writethrough directsync unsafe; do
	rm -f top.qcow2 x.qcow2
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
	ok=0
	"$IO" -t $m -c 'write -P 3 0 64k' top.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" convert -t $m -T $m -O qcow2 top.qcow2 x.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" amend -t $m -o lazy_refcounts=on top.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" rebase -t $m -T $m -b base.qcow2 -F qcow2 top.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" bench -t $m -c 1 top.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" check -T $m top.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" compare -T $m top.qcow2 x.qcow2 >/dev/null 2>&1 || ok=1
	"$IMG" commit -t $m top.qcow2 >/dev/null 2>&1 || ok=1
	qemu-io -r -c 'read -P 3 0 64k' base.qcow2 | grep -q 'verification failed' && ok=1
	tap_result $ok "cache=$m accepted by strata-io, convert, amend, rebase, bench, check, compare, commit"
done
# and honoured: -t none opens the image with O_DIRECT in commit, amend and rebase too
if command -v strace >/dev/null; then
	for c in "commit -t none top.qcow2" "amend -t none -o lazy_refcounts=off top.qcow2" \
		 "rebase -t none -u -b base.qcow2 -F qcow2 top.qcow2"; do
		rm -f top.qcow2
		qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
		strace -f -e trace=openat -o st.log "$IMG" $c >/dev/null 2>&1
		grep 'top.qcow2' st.log | grep -q O_DIRECT
		tap_result $? "$c: the image opened with O_DIRECT" || grep top.qcow2 st.log | sed 's/^/# /'
	done
fi
if [ -x "${STRATA_VM:-}" ]; then
	"$STRATA_VM" -M virt -display none -drive file=top.qcow2,cache=foo,if=none >o.out 2>&1
	echo "rc=$?" >>o.out
	grep -q -- '-drive file=top.qcow2,cache=foo,if=none: invalid cache option$' o.out
	tap_result $? "strata-vm: cache=foo refused with qemu's text" || sed 's/^/# /' o.out
fi

tap_end
