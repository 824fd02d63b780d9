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
libyaml-dev libssl-dev libpcre2-dev libcmocka-dev python3 sqlite3"
# Optional: configure links the daemon with it when it is there (a faster malloc for the
# release build); without it the build uses the C library's.
OPTIONAL="libmimalloc-dev"

# the packages of the list $1 that are not installed
not_installed() {
	for p in $1; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"ok installed"*) ;;
		*) printf ' %s' "$p" ;;
		esac
	done
}

if [ "${INCIDENTD_NO_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null 2>&1; then
	missing=$(not_installed "$PKGS")
	optional=$(not_installed "$OPTIONAL")
	SUDO=none
	if [ "$(id -u)" = 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	fi
	if [ -n "$missing$optional" ] && [ "$SUDO" = none ]; then
		if [ -n "$missing" ]; then
			echo "autogen.sh: missing packages:$missing" >&2
			echo "autogen.sh: install them with: sudo apt-get install$missing$optional" >&2
			exit 1
		fi
		echo "autogen.sh: optional, not installed:$optional (configure then uses the C library's malloc)"
	elif [ -n "$missing$optional" ]; then
		echo "autogen.sh: installing:$missing$optional"
		$SUDO apt-get update -qq
		if [ -n "$missing" ]; then
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
		fi
		if [ -n "$optional" ] &&
		    ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $optional; then
			echo "autogen.sh: optional packages not available:$optional (configure then uses the C library's malloc)"
		fi
	fi
fi

autoreconf --install --force --warnings=all
echo "autogen.sh: now run ./configure && make"
