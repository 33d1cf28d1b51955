#!/bin/sh
# -object filter-dump (issue 11): the bare-metal network guest of tests/vm/net.sh (DHCP, ARP,
# UDP echo, TCP both ways, hostfwd) on a user netdev with a dump filter, on strata-vm and on
# qemu-system-riscv64. The pcap files are read by tests/vm/net_dump.py (libpcap's format, as
# tcpdump -r reads it; tcpdump itself is used too when installed): header, well-formed records
# from both ends of the link, the same UDP frames (DHCP, echo) as QEMU's in the same order;
# maxlen= cuts records; option errors with QEMU's text and exit 1.
BUILD_DIR=${BUILD_DIR:-build/rel}
SRC_DIR=${SRC_DIR:-.}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
ELF=$BUILD_DIR/vm/guest/net.elf
PY="timeout 150 python3 $SRC_DIR/tests/vm/net.py"
QEMU=qemu-system-riscv64
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
for f in "$VM" "$ELF"; do
	[ -f "$f" ] || { echo "not ok 1 - $f not built"; exit 1; }
done
have_qemu=0
command -v $QEMU >/dev/null 2>&1 && have_qemu=1

# dump NAME EMULATOR [MAXLEN]
dump() {
	ml=${3:+,maxlen=$3}
	$PY "$2" "$ELF" 1 2048 20000 -netdev "user,id=n0,@N0@" -device virtio-net-device,netdev=n0 \
		-object "filter-dump,id=f0,netdev=n0,file=$TMP/$1.pcap$ml" >"$TMP/$1.run" 2>&1
	python3 "$SRC_DIR/tests/vm/net_dump.py" "$TMP/$1.pcap" >"$TMP/$1.txt" 2>&1
	sed 's/^/# /' "$TMP/$1.txt" | cut -c 1-160 | head -8
}
dump strata "$VM"
check "the guest's run with a dump filter works as without (exit 0)" "grep -q '^exit: 0\$' '$TMP/strata.run'"
check "pcap header: magic a1b2c3d4, version 2.4, snaplen 65536, Ethernet" \
	"grep -q '^header magic=a1b2c3d4 version=2.4 snaplen=65536 link=1\$' '$TMP/strata.txt'"
check "every record well formed and whole, TCP frames among them" \
	"grep -q '^records [0-9]* well-formed=True cut=0 tcp=[1-9]' '$TMP/strata.txt'"
check "both directions: the guest's MAC and slirp's as sources" \
	"grep -q '^sources .*52:54:00:12:34:56' '$TMP/strata.txt' && grep -q '^sources .*52:55:0a:00:02:02' '$TMP/strata.txt'"
check "DHCP (68>67 and 67>68) in the dump" \
	"grep -q '^udp 68>67 ' '$TMP/strata.txt' && grep -q '^udp 67>68 ' '$TMP/strata.txt'"
if command -v tcpdump >/dev/null 2>&1; then
	check "tcpdump -r reads it" "tcpdump -n -r '$TMP/strata.pcap' >/dev/null 2>&1"
fi
if [ $have_qemu = 1 ]; then
	dump qemu "$QEMU"
	check "the same UDP frames as QEMU's dump, in the same order" \
		"[ -n \"\$(grep '^udp ' '$TMP/qemu.txt')\" ] && [ \"\$(grep '^udp ' '$TMP/strata.txt')\" = \"\$(grep '^udp ' '$TMP/qemu.txt')\" ] &&
		 [ \"\$(grep '^header' '$TMP/strata.txt')\" = \"\$(grep '^header' '$TMP/qemu.txt')\" ]"
else
	skip "the same UDP frames as QEMU's dump" "no $QEMU"
fi
dump cut "$VM" 64
check "maxlen=64: snaplen 64, records cut to 64 bytes" \
	"grep -q '^header magic=a1b2c3d4 version=2.4 snaplen=64 link=1\$' '$TMP/cut.txt' &&
	 grep -q '^records [0-9]* well-formed=True cut=[1-9]' '$TMP/cut.txt'"

errcase() {
	got=$(timeout 5 "$VM" -M virt -display none -bios none -S -netdev user,id=n0 -device virtio-net-device,netdev=n0 \
		-object "$1" </dev/null 2>&1)
	rc=$?
	got=$(printf '%s\n' "$got" | sed 's/^strata-vm:/X:/')
	if [ $have_qemu = 1 ]; then
		want=$(timeout 5 $QEMU -M virt -display none -bios none -S -serial none -monitor none -netdev user,id=n0 \
			-device virtio-net-device,netdev=n0 -object "$1" </dev/null 2>&1 | sed 's/^qemu-system-riscv64:/X:/')
		check "error: -object $1 (QEMU's message, exit 1)" "[ $rc = 1 ] && [ \"\$got\" = \"\$want\" ]"
		[ "$got" = "$want" ] || printf '# got:  %s\n# want: %s\n' "$got" "$want"
	else
		check "error: -object $1 (exit 1)" "[ $rc = 1 ] && [ -n \"\$got\" ]"
	fi
}
errcase "filter-dump,id=f0,file=$TMP/e.pcap"
errcase "filter-dump,id=f0,netdev=n0"
errcase "filter-dump,netdev=n0,file=$TMP/e.pcap"
errcase "filter-dump,id=f0,netdev=nx,file=$TMP/e.pcap"
errcase "filter-dump,id=f0,netdev=n0,file=/nonexistent/e.pcap"
errcase "filter-dump,id=f0,netdev=n0,file=$TMP/e.pcap,maxlen=0"
errcase "filter-dump,id=f0,netdev=n0,file=$TMP/e.pcap,foo=1"
errcase "bogus,id=f0"
exit 0
