#!/bin/sh
# QMP on stdio (`-qmp stdio`), the way scripts pipe commands into QEMU: the same command
# stream (greeting, capabilities, query-status before and after cont, a wrong member type,
# malformed JSON, human-monitor-command incl. HMP's refusal of extra arguments, quit) gives the same replies and events as
# qemu-system-riscv64 7.2 (timestamps and version masked); SIGTERM ends the VM with QEMU's
# SHUTDOWN event (reason host-signal); without OpenSBI installed the default firmware gives one
# error line naming Debian's opensbi package (checked in a private mount namespace).
BUILD_DIR=${BUILD_DIR:-build/rel}
VM=${STRATA_VM:-$BUILD_DIR/strata-vm}
TMP=${TEST_TMPDIR:-$(mktemp -d)}
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

cat >"$TMP/cmds" <<'EOF'
{"execute":"qmp_capabilities"}
{"execute":"query-status"}
{"execute":"query-name"}
{"execute":"cont"}
{"execute":"query-status"}
{"execute":"stop"}
{"execute":"query-status"}
{"execute":"nonesuch"}
{"execute": 1}
{"execute":"query-status","arguments":{"x":1}}
{]
{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}
{"execute":"human-monitor-command","arguments":{"command-line":"info status extra"}}
{"execute":"human-monitor-command","arguments":{"command-line":"info version x y"}}
{"execute":"quit"}
EOF
# one command every 0.3 s, so events and replies come in the order a script sees them
qmp_session() { # EMULATOR -> its stdout with timestamps and version masked, then rc=N
	(while read -r l; do echo "$l"; sleep 0.3; done <"$TMP/cmds") |
		timeout 60 "$1" -M virt -m 64M -bios none -display none -serial none -monitor none \
			-name qs -S -qmp stdio 2>"$TMP/err"
	echo "rc=$?"
}
mask() { sed 's/"timestamp": {[^}]*}/TS/; s/"qemu": {[^}]*}/V/; s/"package": "[^"]*"/P/'; }

qmp_session "$VM" | mask >"$TMP/vm.out"
check "-qmp stdio: the session ends with quit, exit 0, nothing on stderr" \
	'tail -n 1 "$TMP/vm.out" | grep -qx "rc=0" && [ ! -s "$TMP/err" ]'
check "-qmp stdio: one reply or event per line, 19 lines" '[ "$(grep -c "^{" "$TMP/vm.out")" -eq 19 ]'
if command -v qemu-system-riscv64 >/dev/null; then
	qmp_session qemu-system-riscv64 | mask >"$TMP/qemu.out"
	check "-qmp stdio: replies and events identical to QEMU's" 'diff "$TMP/qemu.out" "$TMP/vm.out" >"$TMP/diff"'
	sed 's/^/# /' "$TMP/diff"
else
	skip "-qmp stdio: replies and events identical to QEMU's" "qemu-system-riscv64 not installed"
fi

# SIGTERM: QMP clients get SHUTDOWN with reason host-signal, then the process ends
mkfifo "$TMP/in"
timeout 60 "$VM" -M virt -m 64M -bios none -display none -serial none -monitor none -S \
	-qmp stdio <"$TMP/in" >"$TMP/term.out" 2>"$TMP/term.err" &
pid=$!
exec 3>"$TMP/in"
echo '{"execute":"qmp_capabilities"}' >&3
i=0
while [ $i -lt 100 ] && ! grep -qs '"return"' "$TMP/term.out"; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
rc=$?
exec 3>&-
check "SIGTERM: the SHUTDOWN event with reason host-signal reaches QMP" \
	'grep -q "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-signal\"}" "$TMP/term.out"'
check "SIGTERM: QEMU's 'terminating on signal 15 from pid' line" \
	'grep -q "^strata-vm: terminating on signal 15 from pid [0-9]*" "$TMP/term.err" && [ $rc -eq 0 ]'

# the firmware package missing: both of its paths hidden in a private mount namespace
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c 'for d in /usr/lib/riscv64-linux-gnu/opensbi /usr/share/qemu; do
		[ -d "$d" ] && mount -t tmpfs none "$d"; done
		timeout 30 "$0" -M virt -display none -serial none -monitor none' "$VM" >/dev/null 2>"$TMP/fw.err"
	rc=$?
	check "no OpenSBI installed: one line naming the opensbi package, exit 1" \
		'[ $rc -eq 1 ] && [ "$(wc -l <"$TMP/fw.err")" -eq 1 ] && grep -q "install Debian.s opensbi package" "$TMP/fw.err"'
else
	skip "no OpenSBI installed: one line naming the opensbi package, exit 1" "needs root and unshare -m"
fi
echo "1..$n"
