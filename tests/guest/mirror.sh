# Sourced by the guest build scripts: guest_mirror sets $uri to the host apt's first non-security
# Debian URI and $host to its host name (for masking it in logs). The URI is read at run time and
# never written into the tree, a commit or a log. STRATA_APT_SOURCES names deb822 .sources file(s)
# to read instead of the host's (tests use an unreachable one).
guest_mirror() {
	_srcs=${STRATA_APT_SOURCES:-/etc/apt/sources.list.d/*.sources}
	# shellcheck disable=SC2086 # a glob
	uri=$(sed -n 's/^URIs:[[:space:]]*//p' $_srcs 2>/dev/null | tr ' ' '\n' |
		grep -v -- '-security' | grep . | head -n 1 || true)
	[ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }' |
		grep -v -- '-security' | head -n 1 || true)
	[ -n "$uri" ] || return 1
	host=$(echo "$uri" | sed 's|^[a-z+]*://\([^/]*\).*|\1|')
}
