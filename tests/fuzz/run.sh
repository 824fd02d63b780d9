#!/usr/bin/env bash
# run.sh [SECONDS] - run every built fuzz target for SECONDS (default 60) and report.
#
# Builds nothing: configure with --enable-fuzzing and `make` first (or use `make fuzz`).
# Run it from the build directory, or set FUZZ_BUILDDIR. Each target runs on its corpus
# folder $FUZZ_BUILDDIR/tests/fuzz/corpus/<target> (seeded by make; inputs libFuzzer finds
# are added there and kept) with its dictionary from this folder. Prints, per target, the
# executions per second and the total executions (libFuzzer's -print_final_stats=1), and
# a total line. A crash, leak, timeout or broken contract leaves the input as
# $FUZZ_BUILDDIR/tests/fuzz/artifacts/<target>-crash-<sha1> (or leak-, timeout-, oom-),
# is reported with the command that reproduces it, and makes the script exit 1 after the
# remaining targets ran. FUZZ_TARGETS="argocd flux" limits the run to those targets.
set -uo pipefail

secs=${1:-60}
case $secs in
''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILDDIR:-.}
bin=$build/tests/fuzz
targets=${FUZZ_TARGETS:-argocd alertmanager flux cloudevents native ingest config template jsonread github slack}
artifacts=$bin/artifacts
mkdir -p "$artifacts"

total_execs=0
total_secs=0
failed=()
printf '%-14s %10s %12s %8s  %s\n' target "execs/s" "execs" "corpus" result
for t in $targets; do
	exe=$bin/fuzz_$t
	if [ ! -x "$exe" ]; then
		echo "run.sh: $exe is not built (configure --enable-fuzzing; make)" >&2
		exit 2
	fi
	case $t in
	config) dict=$here/yaml.dict ;;
	template) dict=$here/template.dict ;;
	*) dict=$here/json.dict ;;
	esac
	corpus=$bin/corpus/$t
	mkdir -p "$corpus"
	log=$bin/fuzz_$t.log
	start=$(date +%s)
	# -rss_limit_mb: a 2-core, small CI machine; -timeout: one input may take 10 s at most
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-dict="$dict" -artifact_prefix="$artifacts/$t-" "$corpus" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
	rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -1)
	execs=${execs:-0}
	rate=${rate:-0}
	n=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		result="FAILED (exit $rc): ${crash:-see $log}"
		failed+=("$t")
	fi
	printf '%-14s %10s %12s %8s  %s\n' "$t" "$rate" "$execs" "$n" "$result"
	if [ "$rc" -ne 0 ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: contract broken|.*runtime error)' "$log" |
			head -5 | sed 's/^/    /'
		[ -n "${crash:-}" ] && echo "    reproduce: $exe $crash"
	fi
	total_execs=$((total_execs + execs))
	total_secs=$((total_secs + end - start))
done
echo "total: $total_execs executions in ${total_secs}s"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]} (inputs in $artifacts)"
	exit 1
fi
exit 0
