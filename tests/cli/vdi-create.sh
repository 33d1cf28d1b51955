#!/bin/sh
# vdi create and info against qemu-img 7.2: the "Formatting" line and errors, the file layout
# (byte-identical but for the two random UUIDs), and info (human and JSON) on images made by
# either tool.
command -v qemu-img >/dev/null 2>&1 || { echo "1..0 # SKIP qemu-img not installed"; exit 77; }
: "${STRATA_IMG:?}" "${TEST_TMPDIR:?}"
set -u
T=$TEST_TMPDIR
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }

# Runs a tool in directory $1 (so both see the same file name); output with the program name
# normalised, then the exit status.
run_in() {
	dir=$1
	shift
	(cd "$dir" && "$@" 2>&1; echo "exit $?") | sed -e 's/^qemu-img: /IMG: /' -e 's/^strata-img: /IMG: /'
}

# Bytes that differ, ignoring the image and last-snapshot UUIDs (offsets 0x188..0x1a7).
diff_but_uuids() {
	cmp -l "$1" "$2" 2>&1 | awk '$1 ~ /^[0-9]+$/ && ($1 < 393 || $1 > 424) { bad++ } /EOF/ { bad++ }
		END { exit bad ? 1 : 0 }'
}

mkdir -p "$T/q" "$T/s"
i=0
for args in "1G" "-o static=on 5M" "1000" "0" "1500K" "-o static=on 1536K" \
	"-o preallocation=full,nocow=on,extent_size_hint=2M 3M" "-o static=on,preallocation=falloc 3M" \
	"-o static=true 2M" "-o size=4M"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	qo=$(run_in "$T/q" qemu-img create -f vdi img$i.vdi $args)
	# shellcheck disable=SC2086
	so=$(run_in "$T/s" "$STRATA_IMG" create -f vdi img$i.vdi $args)
	if [ "$qo" = "$so" ]; then ok "create $args: same output"; else
		not_ok "create $args: same output"
		echo "# qemu:   $qo" | head -5
		echo "# strata: $so" | head -5
	fi
	diff_but_uuids "$T/q/img$i.vdi" "$T/s/img$i.vdi"
	check $? "create $args: same bytes but for the UUIDs"
	# info: strata-img on qemu's file and on its own, against qemu-img on qemu's file.
	case $i in 1 | 2 | 3 | 6) ;; *) continue ;; esac
	for fmt in human json; do
		a=$(run_in "$T/q" qemu-img info --output=$fmt img$i.vdi)
		for f in q s; do
			b=$(run_in "$T/$f" "$STRATA_IMG" info --output=$fmt img$i.vdi)
			if [ "$a" = "$b" ]; then ok "info $fmt on $f-made '$args'"; else
				not_ok "info $fmt on $f-made '$args'"
				printf '%s\n---\n%s\n' "$a" "$b" | sed 's/^/# /'
			fi
		done
	done
done

# Errors, in qemu-img's words and exit status.
for args in "10P" "-o static=on 4095T" "-o preallocation=metadata 1M" "-o preallocation=bogus 1M" \
	"-o static=maybe 1M" "-o foo=1 1M" "-b base.vdi -F vdi 1M" "" "-o size=1M 1M"; do
	rm -f "$T/q/err.vdi" "$T/s/err.vdi"
	# shellcheck disable=SC2086
	qo=$(run_in "$T/q" qemu-img create -f vdi err.vdi $args)
	# shellcheck disable=SC2086
	so=$(run_in "$T/s" "$STRATA_IMG" create -f vdi err.vdi $args)
	if [ "$qo" = "$so" ]; then ok "create error '$args': same output"; else
		not_ok "create error '$args': same output"
		echo "# qemu:   $qo" | head -5
		echo "# strata: $so" | head -5
	fi
done
echo "1..$n"
