#!/usr/bin/env bash
# run.sh: the ingest benchmark. Compares incidentd's POST /v1/events/argocd throughput
# with bare204 (libevent answering 204, nothing else), using the same wrk script and so
# the same request bytes. See bench/README.md.
#
# Environment:
#   DURATION=10s      wrk duration of each measured run
#   THREADS=2 CONNS=32  wrk -t / -c
#   FSYNC=1           also count fsync/fdatasync with strace on a short separate run
#                     (FSYNC=0 to skip; skipped anyway without strace)
#   FSYNC_DURATION=3s duration of that run
#   BUILD=DIR         use an existing incidentd build dir instead of building one
#   KEEP=1            keep the temporary directory (build, ledger, logs)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$SRC/bench
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
FSYNC=${FSYNC:-1}
FSYNC_DURATION=${FSYNC_DURATION:-3s}
PAYLOAD=$SRC/tests/samples/argocd/seed-aks-store-degraded.client_payload.json

die() { echo "run.sh: $*" >&2; exit 1; }

for tool in cc make wrk pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[ -r "$PAYLOAD" ] || die "missing sample $PAYLOAD"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/incidentd-bench.XXXXXX")
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nothing listens on (checked by a failed connect; the server's bind is
# the real test, and start_server retries on failure).
free_port() {
	while :; do
		p=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
}

# wait_http PID URL: wait (10 s at most) until URL answers, or the process died.
wait_http() {
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$1" 2>/dev/null || return 1
		if curl -s -o /dev/null --max-time 1 "$2"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop PID: SIGTERM (incidentd drains), SIGKILL after 30 s.
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

# bench NAME URL: run wrk, keep its output in $TMP/NAME.wrk, print its "bench:" line.
bench() {
	timeout 600 wrk -t"$THREADS" -c"$CONNS" -d"$3" --timeout 5s -s "$BENCH/post.lua" \
	    "$2" -- "$PAYLOAD" >"$TMP/$1.wrk" 2>&1 || die "wrk failed: $(cat "$TMP/$1.wrk")"
	grep '^bench:' "$TMP/$1.wrk" || die "no result from wrk: $(cat "$TMP/$1.wrk")"
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- 1. an optimized, non-sanitized incidentd ------------------------------------------------
if [ -n "${BUILD:-}" ]; then
	B=$(cd "$BUILD" && pwd)
else
	B=$TMP/build
	mkdir -p "$B"
	echo "building incidentd (-O2, no sanitizers) in $B ..."
	(cd "$B" && "$SRC/configure" --disable-sanitizers --disable-werror CFLAGS=-O2 \
	    >configure.log 2>&1) || die "configure failed, see $B/configure.log (KEEP=1)"
	# what the benchmark needs first (the log sink is the only one the default routes use)
	(cd "$B" && make -j2 broker/incidentd ctl/incidentctl sinks/log.la >make.log 2>&1) ||
	    die "make failed: $(tail -20 "$B/make.log")"
	# then the rest (the other sinks); a failure there does not stop the benchmark
	(cd "$B" && make -j2 >make-all.log 2>&1) ||
	    echo "note: a full 'make' failed (see make-all.log with KEEP=1); not needed here"
fi
[ -x "$B/broker/incidentd" ] || die "no $B/broker/incidentd"
[ -f "$B/sinks/.libs/log.so" ] || die "no $B/sinks/.libs/log.so"

# --- 2. bare204 ------------------------------------------------------------------------------
cc -O2 -o "$TMP/bare204" "$BENCH/bare204.c" $(pkg-config --cflags --libs libevent) ||
    die "cannot build bare204"

# --- 3. start both -----------------------------------------------------------------------------
mkdir -p "$TMP/conf.d"
cp "$SRC/conf.d/00-defaults.yaml" "$TMP/conf.d/"

start_bare() {
	BARE_PORT=$(free_port)
	"$TMP/bare204" "$BARE_PORT" 2>"$TMP/bare204.log" &
	BARE_PID=$!
	PIDS="$PIDS $BARE_PID"
	wait_http "$BARE_PID" "http://127.0.0.1:$BARE_PORT/"
}

# start_incidentd DB [WRAPPER...]: the daemon on a fresh port; its stderr (including the
# log sink's lines) goes to $TMP/incidentd.log.
start_incidentd() {
	db=$1
	shift
	INC_PORT=$(free_port)
	"$@" "$B/broker/incidentd" --config "$TMP/conf.d" --db "$db" \
	    --listen "127.0.0.1:$INC_PORT" --plugin-dir "$B/sinks/.libs" \
	    >>"$TMP/incidentd.log" 2>&1 &
	INC_PID=$!
	PIDS="$PIDS $INC_PID"
	wait_http "$INC_PID" "http://127.0.0.1:$INC_PORT/readyz"
}

n=0
until start_bare; do
	n=$((n + 1))
	[ $n -lt 3 ] || die "bare204 does not start: $(cat "$TMP/bare204.log")"
done
n=0
until start_incidentd "$TMP/ledger.db"; do
	n=$((n + 1))
	[ $n -lt 3 ] || die "incidentd does not start: $(tail -5 "$TMP/incidentd.log")"
	rm -f "$TMP"/ledger.db*
done

# --- 4. measure --------------------------------------------------------------------------------
echo "wrk -t$THREADS -c$CONNS -d$DURATION, body $(wc -c <"$PAYLOAD") bytes (varied app/timestamp)"
BARE=$(bench bare204 "http://127.0.0.1:$BARE_PORT" "$DURATION")
stop "$BARE_PID"
INC=$(bench incidentd "http://127.0.0.1:$INC_PORT" "$DURATION")
stop "$INC_PID"

# --- 5. report ---------------------------------------------------------------------------------
printf '%-10s %12s %10s %10s %8s %7s %6s\n' "" "requests/s" "p50 ms" "p99 ms" "non-2xx" \
    "errors" "dups"
for name in bare204 incidentd; do
	if [ $name = bare204 ]; then line=$BARE; else line=$INC; fi
	printf '%-10s %12s %10s %10s %8s %7s %6s\n' "$name" "$(field "$line" rps)" \
	    "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" \
	    "$(field "$line" non2xx)" "$(field "$line" errors)" "$(field "$line" duplicates)"
done
awk -v a="$(field "$INC" rps)" -v b="$(field "$BARE" rps)" \
    'BEGIN { if (b > 0) printf "ratio incidentd/bare204: %.3f\n", a / b }'

if command -v sqlite3 >/dev/null 2>&1; then
	for t in events incidents deliveries; do
		printf 'ledger %s rows: %s\n' "$t" \
		    "$(sqlite3 "$TMP/ledger.db" "SELECT count(*) FROM $t" 2>&1)"
	done
	printf 'ledger size: %s bytes\n' "$(wc -c <"$TMP/ledger.db")"
else
	echo "ledger rows: (no sqlite3 CLI)"
fi

# optional: fsyncs per request on a short separate run under strace (slows the daemon:
# its requests/s there are not a figure to quote)
if [ "$FSYNC" = 1 ] && command -v strace >/dev/null 2>&1; then
	if start_incidentd "$TMP/fsync.db" strace -f -c -e trace=fsync,fdatasync \
	    -o "$TMP/strace.out"; then
		FS=$(bench fsync "http://127.0.0.1:$INC_PORT" "$FSYNC_DURATION")
		# stop the daemon (strace's child), then strace exits and writes its table
		for c in $(pgrep -P "$INC_PID" || true); do
			stop "$c"
		done
		stop "$INC_PID"
		calls=$(awk '$NF == "fsync" || $NF == "fdatasync" { s += $4 } END { print s + 0 }' \
		    "$TMP/strace.out")
		awk -v c="$calls" -v r="$(field "$FS" requests)" 'BEGIN {
			printf "fsync+fdatasync: %d calls for %d requests (%.3f per request)\n",
			    c, r, (r > 0 ? c / r : 0) }'
	else
		echo "fsync count: incidentd did not start under strace (ptrace not allowed?)"
	fi
fi
