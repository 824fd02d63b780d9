#!/usr/bin/env bash
# run.sh: the ingest benchmark (`make bench`; issue 13). Builds a release incidentd out of
# tree, measures it against bare204 (libevent answering 204) and Prometheus Alertmanager
# on this machine, prints one block of figures and appends it to bench/RESULTS.md.
# See bench/README.md for what each figure means and how much it varies.
#
# Environment (durations in seconds):
#   DURATION=10       each wrk run at full speed (bare204, incidentd)
#   THREADS=2 CONNS=64  wrk -t / -c of those runs (the issue's load)
#   LAT_DURATION=10   the fixed-rate latency run (half the measured maximum)
#   AM_DURATION=10    each run of the Alertmanager comparison
#   AM_CONNS=8        wrk -c of those runs (100 alerts per request)
#   CG_N=200          callgrind: N (two daemons get N and 2N requests)
#   CG_WARMUP=1000    callgrind: requests that fill the ledger both start from (one per
#                     app: every incident exists, the counted requests are the steady state)
#   FSYNC_DURATION=3  the wrk run under strace that counts fsync/fdatasync
#   AM=0 CG=0 FSYNC=0 skip the Alertmanager comparison, callgrind, the fsync count
#   PG=1              also measure 1 and 3 replicas on a throwaway PostgreSQL (tests/pg.py;
#                     needs Debian's postgresql): same load, spread over the replicas
#   REV=COMMIT        measure that commit (git archive, autogen.sh, a release build) with
#                     this bench/: e.g. REV=main, to compare before and after in one sitting
#   BUILD=DIR         use this release build dir instead of building one
#   RESULTS=FILE      append the block there (default bench/RESULTS.md; RESULTS= : nowhere)
#   NOTE=TEXT         a line of your own in the block (what this run is about)
#   KEEP=1            keep the temporary directory (build, ledgers, logs, callgrind files)
#   TMPDIR            where that directory goes (its file system is the ledger's)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$SRC/bench
PAYLOAD=$SRC/tests/samples/argocd/seed-aks-store-degraded.client_payload.json

secs() { # "10" or "10s" -> 10; anything else is an error
	case "${1%s}" in
	'' | *[!0-9]*) die "$2 must be a whole number of seconds, not '$1'" ;;
	esac
	[ "${1%s}" -gt 0 ] || die "$2 must be at least 1 second"
	echo "${1%s}"
}
die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

DURATION=$(secs "${DURATION:-10}" DURATION)
LAT_DURATION=$(secs "${LAT_DURATION:-10}" LAT_DURATION)
AM_DURATION=$(secs "${AM_DURATION:-10}" AM_DURATION)
FSYNC_DURATION=$(secs "${FSYNC_DURATION:-3}" FSYNC_DURATION)
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
AM_CONNS=${AM_CONNS:-8}
CG_N=${CG_N:-200}
CG_WARMUP=${CG_WARMUP:-1000}
AM=${AM:-1}
CG=${CG:-1}
FSYNC=${FSYNC:-1}
PG=${PG:-0}
RESULTS=${RESULTS-$BENCH/RESULTS.md}
for v in THREADS CONNS AM_CONNS CG_N CG_WARMUP; do
	case "${!v}" in '' | *[!0-9]*) die "$v must be a number" ;; esac
done
[ "$CG_N" -gt 0 ] || die "CG_N must be at least 1"

# --- what it needs ------------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required$2"; }
need wrk " (apt-get install wrk)"
need curl " (apt-get install curl)"
need sqlite3 " (apt-get install sqlite3)"
need make ""
need cc ""
need pkg-config ""
need setsid " (util-linux)"
[ "$CG" = 0 ] || need valgrind " for the instruction count (apt-get install valgrind; or CG=0)"
[ "$FSYNC" = 0 ] || need strace " for the fsync count (apt-get install strace; or FSYNC=0)"
ALERTMANAGER=
if [ "$AM" != 0 ]; then
	ALERTMANAGER=$(command -v prometheus-alertmanager || command -v alertmanager || true)
	[ -n "$ALERTMANAGER" ] || die "Prometheus Alertmanager is required for the comparison" \
	    "(apt-get install prometheus-alertmanager; or AM=0)"
fi
[ -r "$PAYLOAD" ] || die "missing sample $PAYLOAD"
[ -z "$RESULTS" ] || touch "$RESULTS" 2>/dev/null || die "cannot write $RESULTS"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/incidentd-bench.XXXXXX")
PIDS=""

# Every background process is started with setsid: stopping its process group also stops
# what it started (strace's and valgrind's daemon).
cleanup() {
	for p in $PIDS; do
		kill -TERM -- "-$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL -- "-$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID [SECONDS]: SIGTERM to the process (incidentd drains), SIGKILL to its group after
# SECONDS (default 30); returns once it is gone.
stop() {
	local i=0 max=$((${2:-30} * 10))
	kill -TERM "$1" 2>/dev/null || true
	while kill -0 "$1" 2>/dev/null && [ $i -lt $max ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

# wait_log FILE REGEX SECONDS PID: until a line of FILE matches, or PID died
wait_log() {
	local i=0
	while [ $i -lt $(($3 * 10)) ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
sq() { sqlite3 -cmd ".timeout 5000" "$@"; }

# --- 1. a release build, out of tree ----------------------------------------------------------
# make's variables (a `make bench CFLAGS=...`) must not reach the release build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
TARGETS="broker/incidentd sinks/log.la"
HEAD_COMMIT=
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	HEAD_COMMIT=$(git -C "$SRC" rev-parse --short=12 HEAD)
fi
if [ -n "${BUILD:-}" ]; then
	[ -z "${REV:-}" ] || die "BUILD and REV exclude each other"
	B=$(cd "$BUILD" && pwd) || die "no build dir $BUILD"
	note "building $TARGETS in $B"
	make -C "$B" -j2 $TARGETS >"$TMP/make.log" 2>&1 ||
	    die "make failed in $B: $(tail -20 "$TMP/make.log")"
	S=$(sed -n 's/^abs_top_srcdir = //p' "$B/Makefile")
else
	B=$TMP/build
	S=$TMP/src
	if [ -n "${REV:-}" ]; then
		[ -n "$HEAD_COMMIT" ] || die "REV needs a git checkout"
		git -C "$SRC" rev-parse --verify -q "$REV^{commit}" >/dev/null ||
		    die "REV=$REV is not a commit"
		note "exporting $REV (git archive) to $S and running its autogen.sh"
		mkdir -p "$S"
		git -C "$SRC" archive "$REV" | tar -x -C "$S" ||
		    die "git archive $REV failed"
		(cd "$S" && INCIDENTD_NO_APT=1 ./autogen.sh >autogen.log 2>&1) ||
		    die "autogen.sh of $REV failed: $(tail -20 "$S/autogen.log")"
	elif [ -f "$SRC/config.status" ]; then
		# configured in the source tree: configure refuses another build of it, so
		# build a copy of what `make dist` would ship (uncommitted changes included)
		note "copying the sources (make distdir) to $S"
		make -C "$SRC" distdir distdir="$S" >"$TMP/distdir.log" 2>&1 ||
		    die "make distdir failed: $(tail -20 "$TMP/distdir.log")"
	else
		[ -x "$SRC/configure" ] || die "no $SRC/configure: run ./autogen.sh first"
		S=$SRC
	fi
	mkdir -p "$B"
	note "building a release incidentd in $B (a minute or two)"
	(cd "$B" && "$S/configure" --disable-debug --disable-werror --disable-sanitizers \
	    CFLAGS="-g -O2" >configure.log 2>&1) ||
	    die "configure failed: $(tail -20 "$B/configure.log")"
	make -C "$B" -j2 $TARGETS >"$B/make.log" 2>&1 ||
	    die "make failed: $(tail -20 "$B/make.log")"
fi
# the measured tree's default configuration
CONFD=$S/conf.d
[ -r "$CONFD/00-defaults.yaml" ] || die "no $CONFD/00-defaults.yaml"
# the benchmark's own programs, from this bench/ whatever incidentd is measured
mkdir -p "$TMP/tools"
cc -std=c11 -D_GNU_SOURCE -O2 -o "$TMP/tools/loadgen" "$BENCH/loadgen.c" \
    >"$TMP/tools/cc.log" 2>&1 &&
    cc -std=c11 -D_GNU_SOURCE -O2 -o "$TMP/tools/bare204" "$BENCH/bare204.c" \
    $(pkg-config --cflags --libs libevent) >>"$TMP/tools/cc.log" 2>&1 ||
    die "cannot build loadgen and bare204: $(cat "$TMP/tools/cc.log")"
LOADGEN=$TMP/tools/loadgen
INCIDENTD=$B/broker/incidentd
VERSION=$("$INCIDENTD" --version 2>&1 | head -1)
case "$VERSION" in
*"release build"*) ;;
*) die "$INCIDENTD is not a release build ($VERSION)" ;;
esac
case "$VERSION" in
*ASan* | *UBSan*) die "$INCIDENTD has sanitizers ($VERSION)" ;;
esac
[ -f "$B/sinks/.libs/log.so" ] || die "no $B/sinks/.libs/log.so"

# --- 2. the machine and the tree ----------------------------------------------------------------
WHEN=$(date -u '+%Y-%m-%d %H:%M UTC')
if [ -n "${REV:-}" ]; then
	COMMIT="$REV $(git -C "$SRC" rev-parse --short=12 "$REV^{commit}") (bench/ of $HEAD_COMMIT)"
elif [ -n "${BUILD:-}" ]; then
	COMMIT="the build in $B (bench/ of ${HEAD_COMMIT:-a tree outside git})"
elif [ -n "$HEAD_COMMIT" ]; then
	COMMIT="$(git -C "$SRC" rev-parse --abbrev-ref HEAD) $HEAD_COMMIT"
	if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		COMMIT="$COMMIT + uncommitted changes"
	fi
else
	COMMIT="unknown (not a git checkout)"
fi
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
grep -qw hypervisor /proc/cpuinfo && CPU="$CPU (virtual machine)"
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
FS=$(findmnt -n -o FSTYPE,SOURCE -T "$TMP" 2>/dev/null | awk '{ print $1 " on " $2 }' ||
    df -T "$TMP" | awk 'NR == 2 { print $2 " on " $1 }')
MACHINE="$CPU, $(nproc) cores, $MEM RAM, $(uname -sr), ledger on $FS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WRK_VERSION=$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')

# --- 3. the programs ------------------------------------------------------------------------------
NONCE=$(( $(date +%s) % 1000000 ))
mkdir -p "$TMP/conf.d"
cp "$CONFD/00-defaults.yaml" "$TMP/conf.d/"

# start_incidentd NAME [WRAPPER...]: a daemon with the default conf.d, a fresh ledger and
# working directory $TMP/NAME, on a free port; sets INC_PID, INC_PORT, INC_DIR.
start_incidentd() {
	local name=$1 limit=20
	shift
	INC_DIR=$TMP/$name
	mkdir -p "$INC_DIR"
	[ $# -eq 0 ] || limit=180              # valgrind starts slowly
	# its own runtime directory (the tail socket), where the daemon has the option: two
	# daemons run at once under callgrind
	local dirs=()
	"$INCIDENTD" --help 2>&1 | grep -q -- --runtime-dir &&
	    dirs=(--state-dir "$INC_DIR" --runtime-dir "$INC_DIR")
	(cd "$INC_DIR" && exec setsid "$@" "$INCIDENTD" --config "$TMP/conf.d" \
	    --db "${INC_DB:-$INC_DIR/ledger.db}" --listen 127.0.0.1:0 --plugin-dir "$B/sinks/.libs" \
	    "${dirs[@]}" >"$INC_DIR/incidentd.log" 2>&1) &
	INC_PID=$!
	PIDS="$PIDS $INC_PID"
	wait_log "$INC_DIR/incidentd.log" ' ready: ' $limit $INC_PID ||
	    die "incidentd does not start: $(tail -5 "$INC_DIR/incidentd.log")"
	INC_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' \
	    "$INC_DIR/incidentd.log" | head -1)
	[ -n "$INC_PORT" ] || die "incidentd's port: not in its log"
}

# the daemon's own pid (under strace it is strace's child)
daemon_pid() {
	local c
	c=$(pgrep -P "$1" -x incidentd 2>/dev/null | head -1 || true)
	echo "${c:-$1}"
}

# run_wrk NAME URL CONNS SECONDS TIMEOUT ARGS...: wrk with wrk.lua; prints its "bench:" line
run_wrk() {
	local name=$1 url=$2 conns=$3 d=$4 to=$5
	shift 5
	timeout $((d + to + 60)) wrk -t"$THREADS" -c"$conns" -d"${d}s" --timeout "${to}s" \
	    -s "$BENCH/wrk.lua" "$url" -- "$@" >"$TMP/$name.wrk" 2>&1 ||
	    die "wrk failed ($name): $(tail -5 "$TMP/$name.wrk")"
	grep '^bench:' "$TMP/$name.wrk" || die "no result from wrk ($name): $(cat "$TMP/$name.wrk")"
}

# cpu_ms PID: user+system CPU time the process (all its threads) has used, in ms
cpu_ms() {
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" \
	    '{ printf "%d", ($12 + $13) * 1000 / hz }'
}

# cpu_per_request MS0 MS1 LINE: CPU ms per answered request of a wrk run
cpu_per_request() {
	awk -v a="$1" -v b="$2" -v n="$(field "$3" requests)" \
	    'BEGIN { printf "%.3f", (n > 0 ? (b - a) / n : 0) }'
}

# deliveries not finished yet (pending or running) in a ledger
backlog() { sq "$1" "SELECT count(*) FROM deliveries WHERE state IN ('pending','running')"; }

# wait_backlog DB SECONDS: until the dispatcher has caught up; prints how long it took
wait_backlog() {
	local t0=$SECONDS
	while [ "$(backlog "$1")" != 0 ]; do
		[ $((SECONDS - t0)) -lt "$2" ] || break
		sleep 0.2
	done
	echo $((SECONDS - t0))
}

WARN=""
warn() { WARN="$WARN
- warning: $*"; note "warning: $*"; }

# check NAME LINE: the run's answers were all accepted and none was a duplicate
check() {
	local what=$1 line=$2
	[ "$(field "$line" non2xx)" = 0 ] || warn "$what: $(field "$line" non2xx) answers not 2xx"
	[ "$(field "$line" errors)" = 0 ] || warn "$what: $(field "$line" errors) socket errors/timeouts"
	[ "$(field "$line" duplicates)" = 0 ] ||
	    warn "$what: $(field "$line" duplicates) duplicates"
}

# --- 4. throughput: bare204 and incidentd under the same wrk load -------------------------------
note "machine: $MACHINE; load average $LOAD_START"
(exec setsid "$TMP/tools/bare204" 0 >"$TMP/bare204.log" 2>&1) &
BARE_PID=$!
PIDS="$PIDS $BARE_PID"
wait_log "$TMP/bare204.log" 'listening on' 10 $BARE_PID ||
    die "bare204 does not start: $(cat "$TMP/bare204.log")"
BARE_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/bare204.log")
note "bare204: wrk -t$THREADS -c$CONNS -d${DURATION}s"
C0=$(cpu_ms "$BARE_PID")
BARE=$(run_wrk bare204 "http://127.0.0.1:$BARE_PORT" "$CONNS" "$DURATION" 10 \
    argocd "$PAYLOAD" "$NONCE")
BARE_CPU=$(cpu_per_request "$C0" "$(cpu_ms "$BARE_PID")" "$BARE")
stop "$BARE_PID"
[ "$(field "$BARE" non2xx)" = 0 ] && [ "$(field "$BARE" errors)" = 0 ] ||
    warn "bare204: $(field "$BARE" non2xx) not 2xx, $(field "$BARE" errors) errors"

start_incidentd main
note "incidentd: wrk -t$THREADS -c$CONNS -d${DURATION}s"
C0=$(cpu_ms "$INC_PID")
INC=$(run_wrk incidentd "http://127.0.0.1:$INC_PORT" "$CONNS" "$DURATION" 10 \
    argocd "$PAYLOAD" "$NONCE")
INC_CPU=$(cpu_per_request "$C0" "$(cpu_ms "$INC_PID")" "$INC")
check "incidentd (wrk)" "$INC"
HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$INC_PID/status")
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$INC_PID/status")
# the grouped commits of that run, from incidentd's own metrics: how many requests a commit
# pass took, and how long its transaction lasted (the fsync after it not included)
PASSES=$(curl -sf "http://127.0.0.1:$INC_PORT/metrics" | awk '
	/^incidentd_ledger_commit_seconds_count / { n = $2 }
	/^incidentd_ledger_commit_seconds_sum / { s = $2 }
	/^incidentd_events_accepted_total\{source="argocd"\} / { e = $2 }
	END { if (n > 0) printf "%d passes, %.1f events per pass, %.2f ms per pass", n, e / n, 1000 * s / n;
	      else print "unknown (no commit metrics)" }')
BACKLOG=$(backlog "$INC_DIR/ledger.db")
DRAIN=$(wait_backlog "$INC_DIR/ledger.db" 120)
[ "$(backlog "$INC_DIR/ledger.db")" = 0 ] || warn "the dispatcher did not catch up in 120 s"

# --- 5. latency at half the maximum rate, open loop ---------------------------------------------
RATE=$(awk -v r="$(field "$INC" rps)" 'BEGIN { r = int(r / 2); print (r < 1 ? 1 : r) }')
note "incidentd: $RATE requests/s for ${LAT_DURATION}s over $CONNS connections (open loop)"
timeout $((LAT_DURATION + 120)) "$LOADGEN" -s "$PAYLOAD" -c "$CONNS" -r "$RATE" \
    -d "$LAT_DURATION" -k "$NONCE" -g 4096 "127.0.0.1:$INC_PORT" /v1/events/argocd \
    >"$TMP/latency.out" 2>&1 || true
LAT=$(grep '^loadgen:' "$TMP/latency.out") || die "loadgen failed: $(cat "$TMP/latency.out")"
[ "$(field "$LAT" ok)" = "$(field "$LAT" requests)" ] ||
    warn "latency run: $(field "$LAT" ok) of $(field "$LAT" requests) accepted: $(grep -v '^loadgen:' "$TMP/latency.out")"
[ "$(field "$LAT" duplicates)" = 0 ] || warn "latency run: $(field "$LAT" duplicates) duplicates"
# requests sent late with a connection free: the generator did not run in time
awk -v l="$(field "$LAT" late)" -v q="$(field "$LAT" queued)" -v n="$(field "$LAT" requests)" \
    'BEGIN { exit !(l - q > n / 100) }' &&
    warn "latency run: loadgen itself sent $(( $(field "$LAT" late) - $(field "$LAT" queued) )) requests more than 1 ms late (a busy machine): the latencies include that"
EVENTS=$(sq "$INC_DIR/ledger.db" "SELECT count(*) FROM events")
LEDGER_MB=$(du -ck "$INC_DIR"/ledger.db* | awk 'END { printf "%.1f", $1 / 1024 }')
stop "$INC_PID"

# --- 6. fsyncs per request ------------------------------------------------------------------------
FSYNCS="skipped (FSYNC=0)"
if [ "$FSYNC" != 0 ]; then
	SECCOMP=
	strace --seccomp-bpf -f -e trace=fsync true >/dev/null 2>&1 && SECCOMP=--seccomp-bpf
	start_incidentd fsync strace $SECCOMP -f -c -e trace=fsync,fdatasync -o "$TMP/strace.out"
	note "incidentd under strace: wrk -t$THREADS -c$CONNS -d${FSYNC_DURATION}s"
	FS=$(run_wrk fsync "http://127.0.0.1:$INC_PORT" "$CONNS" "$FSYNC_DURATION" 10 \
	    argocd "$PAYLOAD" "$NONCE")
	check "incidentd under strace" "$FS"
	stop "$(daemon_pid "$INC_PID")"     # the daemon; strace then writes its table
	stop "$INC_PID"
	FSYNCS=$(awk -v r="$(field "$FS" ok)" '
	    $NF == "fsync" || $NF == "fdatasync" { c += $4 }
	    END { printf "%.3f (%d calls for %d requests)", (r > 0 ? c / r : 0), c, r }' \
	    "$TMP/strace.out")
fi

# --- 7. Alertmanager: 100 alerts per request, incidentd and Alertmanager ------------------------
AMLINE="skipped (AM=0)"
if [ "$AM" != 0 ]; then
	AM_VERSION=$("$ALERTMANAGER" --version 2>&1 | head -1 | awk '{ print $3 }')
	mkdir -p "$TMP/am"
	# one aggregation group that waits an hour: nothing is sent during the run (and a
	# receiver pointing at the discard port if something were)
	cat >"$TMP/am/alertmanager.yml" <<-EOF
	route:
	  receiver: drop
	  group_by: [alertname]
	  group_wait: 1h
	  group_interval: 1h
	  repeat_interval: 24h
	receivers:
	  - name: drop
	    webhook_configs:
	      - url: http://127.0.0.1:9/
	EOF
	n=0
	while :; do
		AM_PORT=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
		(exec setsid "$ALERTMANAGER" --config.file="$TMP/am/alertmanager.yml" \
		    --storage.path="$TMP/am/data" --web.listen-address="127.0.0.1:$AM_PORT" \
		    --cluster.listen-address= >"$TMP/am/alertmanager.log" 2>&1) &
		AM_PID=$!
		PIDS="$PIDS $AM_PID"
		i=0
		while [ $i -lt 150 ] && kill -0 $AM_PID 2>/dev/null &&
		    ! curl -sf -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready"; do
			sleep 0.2
			i=$((i + 1))
		done
		curl -sf -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready" && break
		stop "$AM_PID"
		n=$((n + 1))
		[ $n -lt 3 ] || die "alertmanager does not start: $(tail -5 "$TMP/am/alertmanager.log")"
	done
	note "alertmanager $AM_VERSION: wrk -t$THREADS -c$AM_CONNS -d${AM_DURATION}s, 100 alerts per request"
	AMW=$(run_wrk am "http://127.0.0.1:$AM_PORT" "$AM_CONNS" "$AM_DURATION" 60 am-api "$NONCE")
	[ "$(field "$AMW" non2xx)" = 0 ] && [ "$(field "$AMW" errors)" = 0 ] ||
	    warn "alertmanager: $(field "$AMW" non2xx) not 2xx, $(field "$AMW" errors) errors"
	AM_RECEIVED=$(curl -sf "http://127.0.0.1:$AM_PORT/metrics" |
	    awk '/^alertmanager_alerts_received_total\{.*status="firing"/ { s += $2 } END { print s + 0 }')
	stop "$AM_PID"

	start_incidentd alerts
	note "incidentd: wrk -t$THREADS -c$AM_CONNS -d${AM_DURATION}s, 100 alerts per request"
	INCW=$(run_wrk incidentd-alerts "http://127.0.0.1:$INC_PORT" "$AM_CONNS" \
	    "$AM_DURATION" 60 alertmanager "$NONCE")
	check "incidentd (alerts)" "$INCW"
	INC_ALERTS=$(sq "$INC_DIR/ledger.db" "SELECT count(*) FROM events")
	stop "$INC_PID"
	AM_APS=$(awk -v ok="$(field "$AMW" ok)" -v s="$(field "$AMW" seconds)" \
	    'BEGIN { printf "%.0f", ok * 100 / s }')
	INC_APS=$(awk -v ok="$(field "$INCW" ok)" -v s="$(field "$INCW" seconds)" \
	    'BEGIN { printf "%.0f", ok * 100 / s }')
	[ "$AM_RECEIVED" -ge $(($(field "$AMW" ok) * 100)) ] ||
	    warn "alertmanager counted $AM_RECEIVED alerts received for $(field "$AMW" ok) requests"
	[ "$INC_ALERTS" -ge $(($(field "$INCW" ok) * 100)) ] ||
	    warn "incidentd stored $INC_ALERTS events for $(field "$INCW" ok) requests"
	AMLINE=$(awk -v i="$INC_APS" -v a="$AM_APS" -v v="$AM_VERSION" 'BEGIN {
	    printf "incidentd %d, Alertmanager %s %d; ratio incidentd/Alertmanager %.3f", i, v, a,
	        (a > 0 ? i / a : 0) }')
fi

# --- 7b. replicas on PostgreSQL ---------------------------------------------------------------------
PGLINE="skipped (PG=0)"
if [ "$PG" != 0 ]; then
	# a throwaway server for as long as this python runs (SIGTERM stops it); the file of
	# its URIs exists before the wait reads it (the background job opens it later)
	: >"$TMP/pg.uris"
	setsid python3 -c '
import signal, sys, time
sys.path.insert(0, sys.argv[1])
import pg
s = pg.start(sys.argv[2])
for name in ("one", "three"):
    s.create_db(name)
    print(s.uri(name), flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(1)
' "$SRC/tests" "$TMP" >"$TMP/pg.uris" 2>"$TMP/pg.log" &
	PG_PID=$!
	PIDS="$PIDS $PG_PID"
	i=0
	while [ "$(wc -l <"$TMP/pg.uris")" -lt 2 ] && kill -0 "$PG_PID" 2>/dev/null &&
	    [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(wc -l <"$TMP/pg.uris")" -ge 2 ] || die "PostgreSQL did not start: $(tail -5 "$TMP/pg.log")"
	INC_DB=$(sed -n 1p "$TMP/pg.uris")
	start_incidentd pg1
	note "incidentd, 1 replica on PostgreSQL: wrk -t$THREADS -c$CONNS -d${DURATION}s"
	PG1=$(run_wrk pg1 "http://127.0.0.1:$INC_PORT" "$CONNS" "$DURATION" 10 argocd \
	    "$PAYLOAD" "$((NONCE + 1))")
	check "1 replica on PostgreSQL" "$PG1"
	stop "$INC_PID"
	INC_DB=$(sed -n 2p "$TMP/pg.uris")
	PG3_PIDS="" PG3_PORTS=""
	for r in 1 2 3; do
		start_incidentd "pg3-$r"
		PG3_PIDS="$PG3_PIDS $INC_PID"
		PG3_PORTS="$PG3_PORTS $INC_PORT"
	done
	unset INC_DB
	note "incidentd, 3 replicas on PostgreSQL: 3 x wrk -t1 -c$((CONNS / 3)) -d${DURATION}s"
	r=0 WRKS=""
	for port in $PG3_PORTS; do
		r=$((r + 1))
		THREADS=1 run_wrk "pg3-$r" "http://127.0.0.1:$port" $((CONNS / 3)) "$DURATION" 10 \
		    argocd "$PAYLOAD" "$((NONCE + 1 + r))" >"$TMP/pg3-$r.line" &
		WRKS="$WRKS $!"
	done
	for w in $WRKS; do
		wait "$w" || die "wrk failed on a replica: $(cat "$TMP"/pg3-*.wrk | tail -5)"
	done
	PG3=0
	for r in 1 2 3; do
		line=$(cat "$TMP/pg3-$r.line")
		check "replica $r of 3 on PostgreSQL" "$line"
		PG3=$(awk -v a="$PG3" -v b="$(field "$line" rps)" 'BEGIN { printf "%.1f", a + b }')
	done
	for p in $PG3_PIDS; do
		stop "$p"
	done
	stop "$PG_PID"
	PGLINE="1 replica $(field "$PG1" rps) (p50 / p99 $(field "$PG1" p50_ms) / $(field "$PG1" p99_ms) ms); 3 replicas $PG3 in all; SQLite $(field "$INC" rps) in this run"
fi

# --- 8. instructions per accepted event (callgrind) ----------------------------------------------
# A ledger warmed up natively with CG_WARMUP requests (every app's incident exists), copied
# for two daemons under callgrind that then get N and 2N requests:
# (Ir(2N) - Ir(N)) / (events(2N) - events(N)); start-up and shutdown cancel. Both run at
# once (one core each): instruction counts do not depend on the machine's speed. User-space
# instructions only: the kernel's work (syscalls, the disk) is not counted.
IPE="skipped (CG=0)"
if [ "$CG" != 0 ]; then
	lg() { # lg PORT ARGS...: loadgen's Argo CD load, all 202 or it fails
		local port=$1
		shift
		timeout 3600 "$LOADGEN" -s "$PAYLOAD" -c "$CONNS" -k "$NONCE" -t 300 "$@" \
		    "127.0.0.1:$port" /v1/events/argocd
	}
	start_incidentd warm
	if [ "$CG_WARMUP" -gt 0 ]; then
		note "callgrind: warming a ledger up with $CG_WARMUP requests"
		lg "$INC_PORT" -n "$CG_WARMUP" -g 8192 >"$TMP/warm/loadgen.out" 2>&1 ||
		    die "warm-up: not every request was accepted: $(cat "$TMP/warm/loadgen.out")"
	fi
	wait_backlog "$INC_DIR/ledger.db" 120 >/dev/null
	stop "$INC_PID"
	note "callgrind: $CG_N and $((2 * CG_N)) requests (a minute or more)"
	declare -A CGPID CGPORT CGDIR CGLG CGEV0 CGEV CGIR
	for k in 1 2; do
		mkdir -p "$TMP/cg$k"
		cp "$TMP/warm/"ledger.db* "$TMP/cg$k/"
		start_incidentd "cg$k" valgrind --tool=callgrind \
		    --callgrind-out-file="$TMP/cg$k/callgrind.out"
		CGPID[$k]=$INC_PID CGPORT[$k]=$INC_PORT CGDIR[$k]=$INC_DIR
		CGEV0[$k]=$(sq "$INC_DIR/ledger.db" "SELECT count(*) FROM events")
	done
	for k in 1 2; do
		lg "${CGPORT[$k]}" -n $((k * CG_N)) -g 8193 >"$TMP/cg$k/loadgen.out" 2>&1 &
		CGLG[$k]=$!
	done
	for k in 1 2; do
		wait "${CGLG[$k]}" ||
		    die "callgrind run $k: not every request was accepted: $(cat "$TMP/cg$k/loadgen.out")"
	done
	for k in 1 2; do
		wait_backlog "${CGDIR[$k]}/ledger.db" 600 >/dev/null
		CGEV[$k]=$(( $(sq "${CGDIR[$k]}/ledger.db" "SELECT count(*) FROM events") - CGEV0[$k] ))
		stop "${CGPID[$k]}" 300
		CGIR[$k]=$(sed -n 's/^summary: //p' "$TMP/cg$k/callgrind.out")
		[ -n "${CGIR[$k]}" ] || die "no callgrind summary in $TMP/cg$k/callgrind.out"
	done
	[ "${CGEV[2]}" -gt "${CGEV[1]}" ] || die "callgrind: no more events in the 2N run"
	IPE=$(awk -v a="${CGIR[1]}" -v b="${CGIR[2]}" -v ea="${CGEV[1]}" -v eb="${CGEV[2]}" \
	    'BEGIN { printf "%.0f", (b - a) / (eb - ea) }')
	IPE_DETAIL="N=$CG_N after $CG_WARMUP: Ir ${CGIR[1]} for ${CGEV[1]} events, ${CGIR[2]} for ${CGEV[2]}"
fi

# --- 9. the block -------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
RATIO=$(awk -v a="$(field "$INC" rps)" -v b="$(field "$BARE" rps)" \
    'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
BLOCK=$(cat <<EOF

## $WHEN — $COMMIT

- machine: $MACHINE; load average ${LOAD_START// /, } at the start, ${LOAD_END// /, } at the end
- build: $VERSION (-g -O2); wrk $WRK_VERSION
- load: wrk -t$THREADS -c$CONNS ${DURATION}s, POST /v1/events/argocd, $(basename "$PAYLOAD") ($(wc -c <"$PAYLOAD") bytes) with app 1 of 1000 and a unique revision per request; the default conf.d${NOTE:+
- note: $NOTE}

| figure | value |
|---|---|
| incidentd requests/s (wrk) | $(field "$INC" rps) |
| bare204 requests/s (wrk) | $(field "$BARE" rps) |
| ratio incidentd/bare204 | $RATIO |
| CPU time per request at full speed (user+sys, all threads): incidentd; bare204 | $INC_CPU ms; $BARE_CPU ms |
| p50 / p99 at full speed, wrk (closed loop): incidentd; bare204 | $(field "$INC" p50_ms) / $(field "$INC" p99_ms) ms; $(field "$BARE" p50_ms) / $(field "$BARE" p99_ms) ms |
| latency at $RATE requests/s (half), open loop, ${LAT_DURATION}s: p50 / p99 / max | $(field "$LAT" p50_ms) / $(field "$LAT" p99_ms) / $(field "$LAT" max_ms) ms |
| instructions per accepted event (callgrind) | $IPE${IPE_DETAIL:+ ($IPE_DETAIL)} |
| peak RSS under load (VmHWM) | $(mib "$HWM_KB") MiB (VmRSS $(mib "$RSS_KB") MiB after the wrk run; $EVENTS events, ledger $LEDGER_MB MiB) |
| deliveries pending after the wrk run | $BACKLOG (done ${DRAIN}s later) |
| grouped commits in the wrk run (/metrics) | $PASSES |
| fsync+fdatasync per request (strace, ${FSYNC_DURATION}s) | $FSYNCS |
| accepted alerts/s, 100 per request, wrk -c$AM_CONNS ${AM_DURATION}s | $AMLINE |
| requests/s on PostgreSQL (same load; 3 replicas: the connections split over 3 wrk) | $PGLINE |$WARN
EOF
)
echo "$BLOCK"
if [ -n "$RESULTS" ]; then
	echo "$BLOCK" >>"$RESULTS"
	note "appended to $RESULTS"
fi
