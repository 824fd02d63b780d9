#!/bin/sh
# autogen.sh - install missing build dependencies (Debian/Ubuntu), then generate ./configure.
#
# When run as root (or with passwordless sudo) it installs what is missing with apt-get;
# otherwise it prints the exact package list and stops. Set INCIDENTD_NO_APT=1 to skip the
# dependency step entirely (e.g. on other distributions).
set -eu
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config
libevent-dev libnanomsg-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev
libyaml-dev libssl-dev libpcre2-dev libcmocka-dev libmimalloc-dev python3 sqlite3"

if [ "${INCIDENTD_NO_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null 2>&1; then
	missing=""
	for p in $PKGS; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"ok installed"*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	if [ -n "$missing" ]; then
		if [ "$(id -u)" = 0 ]; then
			SUDO=""
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			SUDO="sudo -n"
		else
			echo "autogen.sh: missing packages:$missing" >&2
			echo "autogen.sh: install them with: sudo apt-get install$missing" >&2
			exit 1
		fi
		echo "autogen.sh: installing:$missing"
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
	fi
fi

autoreconf --install --force --warnings=all
echo "autogen.sh: now run ./configure && make"
