#!/bin/sh
# Installs every Debian package listed in deps/*.txt. Idempotent: apt-get skips what is present,
# and the package index is refreshed only when something is missing.
set -e
cd "$(dirname "$0")"
pkgs=$(cat ./*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo "$pkgs" | wc -l) packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
