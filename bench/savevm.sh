#!/bin/sh
# savevm/loadvm benchmark: a 512 MiB guest that touched 64 MiB (tests/riscv/savevm/counter.c
# plus 64 MiB of data loaded as its initrd: a quarter random pages, half text-like pages, a
# quarter sparse pages), saved into and loaded from a qcow2 internal snapshot. Prints the savevm and
# loadvm times and the VM-state size for strata-vm and qemu-system-riscv64 7.2 and the ratios
# strata-vm / QEMU (lower is better): the median of RUNS runs each (default 5), wall-clock and the
# emulator's own CPU time (user+system, /proc/PID/stat) over the command. On a loaded host the
# wall times mostly measure waiting for a core; the CPU times are the steadier comparison.
# Both emulators run the same command line and are driven the same way: HMP on a unix socket,
# the time from sending the command to the next prompt. Not part of `make check`.
# usage: bench/savevm.sh [RAM_MIB] [TOUCH_MIB]   (default 512 64)
set -eu
cd "$(dirname "$0")/.."
RAM=${1:-512}
TOUCH=${2:-64}
BUILD=${BUILD:-build/rel}
[ -n "${STRATA_VM:-}" ] || make -s "$BUILD/strata-vm" >/dev/null
make -s "$BUILD/riscv/savevm/counter.elf" >/dev/null
VM=${STRATA_VM:-$BUILD/strata-vm}
ELF=$BUILD/riscv/savevm/counter.elf
OUT=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT INT TERM

python3 - "$OUT/blob" "$TOUCH" <<'EOF'
import random, sys
r = random.Random(1)
words = [b"the", b"page", b"cache", b"holds", b"files", b"strata", b"kernel", b"0x81000000", b"\n"]
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2]) * 256):
        k = i % 4
        if k == 0:
            page = r.randbytes(4096)
        elif k == 3:
            page = bytearray(4096)
            for _ in range(16):
                page[r.randrange(0, 4096, 8)] = r.randrange(256)
            page = bytes(page)
        else:
            page = b" ".join(r.choice(words) for _ in range(900))[:4096].ljust(4096, b".")
        f.write(page)
EOF

once() { # EMULATOR: one savevm + loadvm through the HMP monitor -> "savevm_s=.. loadvm_s=.. vmstate_bytes=.."
	rm -f "$OUT/i.qcow2" "$OUT/mon"
	qemu-img create -q -f qcow2 "$OUT/i.qcow2" 64M
	python3 - "$1" "$OUT" "$ELF" "$RAM" <<'EOF'
import json, os, socket, subprocess, sys, time
emu, out, elf, ram = sys.argv[1:5]
sock = out + "/mon"
# the same command line for both emulators: the data is the initrd (at 0x88000000 in a 512 MiB
# guest, placed identically by both); the guest counts, writes its disk and powers off
# (-no-shutdown keeps the VM) while it is saved and loaded
q = subprocess.Popen([emu, "-M", "virt", "-m", ram + "M", "-bios", "none", "-display", "none",
                      "-kernel", elf, "-initrd", out + "/blob", "-no-shutdown", "-serial", "null",
                      "-monitor", "unix:%s,server=on,wait=off" % sock,
                      "-drive", "file=%s/i.qcow2,if=none,id=d0,format=qcow2" % out,
                      "-device", "virtio-blk-device,drive=d0"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(out + "/err", "w"))
for _ in range(200):
    if os.path.exists(sock):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.settimeout(120)
def until_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        d = s.recv(65536)
        if not d:
            raise EOFError(buf)
        buf += d
    return buf
until_prompt()
time.sleep(0.3)  # the guest runs a little first
def cpu():
    f = open("/proc/%d/stat" % q.pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
times, cpus = [], []
for cmd in (b"savevm bench\n", b"loadvm bench\n"):
    c0 = cpu()
    t0 = time.monotonic()
    s.sendall(cmd)
    r = until_prompt()
    times.append(time.monotonic() - t0)
    cpus.append(cpu() - c0)
    if b"rror" in r:
        raise SystemExit("%s: %s" % (emu, r))
s.sendall(b"quit\n")
q.wait(timeout=30)
info = subprocess.run(["qemu-img", "info", "--output=json", out + "/i.qcow2"], capture_output=True, text=True).stdout
vm = [x["vm-state-size"] for x in json.loads(info).get("snapshots", []) if x["name"] == "bench"]
print("savevm_s=%.3f loadvm_s=%.3f savevm_cpu=%.2f loadvm_cpu=%.2f vmstate_bytes=%d" %
      (times[0], times[1], cpus[0], cpus[1], vm[0] if vm else 0))
EOF
	rc=$?
	if [ $rc != 0 ]; then
		echo "$1 failed ($rc); its stderr:" >&2
		cat "$OUT/err" >&2
		exit 1
	fi
}
strata_once() { once "$VM"; }
qemu_once() { once qemu-system-riscv64; }

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
RUNS=${RUNS:-5}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
medians() { # RUNS runs of $1: "savevm_s loadvm_s savevm_cpu loadvm_cpu bytes" (medians)
	: >"$OUT/runs"
	i=0
	while [ $i -lt "$RUNS" ]; do
		line=$($1) || exit 1
		echo "$line" >>"$OUT/runs"
		i=$((i + 1))
	done
	for f in savevm_s loadvm_s savevm_cpu loadvm_cpu vmstate_bytes; do
		while read -r line; do field "$line" $f; done <"$OUT/runs" | median
	done | tr '\n' ' '
}

set -- $(medians strata_once)
[ $# = 5 ] || exit 1
ss=$1 sl=$2 sc=$3 lc=$4 sz=$5
set -- $(medians qemu_once)
[ $# = 5 ] || exit 1
qs=$1 ql=$2 qsc=$3 qlc=$4 qz=$5
ratio() { if [ "$(echo "$2 == 0" | bc)" = 1 ]; then echo -; else echo "scale=2; $1 / $2" | bc; fi; }
echo "savevm/loadvm through HMP: ${RAM} MiB guest, ${TOUCH} MiB touched, qcow2 internal snapshot (median of $RUNS; load: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-22s %12s %12s %8s\n' "" "strata-vm" "QEMU 7.2" "ratio"
printf '%-22s %12s %12s %8s\n' "savevm (s)" "$ss" "$qs" "$(ratio "$ss" "$qs")"
printf '%-22s %12s %12s %8s\n' "loadvm (s)" "$sl" "$ql" "$(ratio "$sl" "$ql")"
printf '%-22s %12s %12s %8s\n' "savevm CPU (s)" "$sc" "$qsc" "$(ratio "$sc" "$qsc")"
printf '%-22s %12s %12s %8s\n' "loadvm CPU (s)" "$lc" "$qlc" "$(ratio "$lc" "$qlc")"
printf '%-22s %12s %12s %8s\n' "VM state (MiB)" "$(echo "scale=1; $sz / 1048576" | bc)" \
	"$(echo "scale=1; $qz / 1048576" | bc)" "$(ratio "$sz" "$qz")"
