#!/bin/sh
# tests/fuzz/run.sh — runs the libFuzzer harnesses built by `make fuzz-build` (docs/fuzzing.md).
# Usage: run.sh SECONDS HARNESS...   Each harness first replays tests/fuzz/regressions/<h>/ (every file must
# pass), then fuzzes for SECONDS from the committed seeds (tests/fuzz/corpus/<h>/, read only) plus a work
# corpus in build/fuzz/corpus/<h>/ (new inputs go there). Crashing inputs land in build/fuzz/artifacts/<h>/.
# Prints one line of figures per harness; exits non-zero when any harness crashed.
set -u
secs=$1; shift
out=build/fuzz
status=0
summary=""
for h in "$@"; do
    bin=$out/fuzz_$h
    [ -x "$bin" ] || { echo "fuzz: $bin is not built" >&2; exit 2; }
    mkdir -p "$out/corpus/$h" "$out/artifacts/$h" "$out/logs" "tests/fuzz/corpus/$h"
    log=$out/logs/$h.log
    : > "$log"
    reg=tests/fuzz/regressions/$h
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
        if ! "$bin" -runs=1 "$reg"/* </dev/null >>"$log" 2>&1; then
            echo "fuzz: $h: a regression input crashes again (see $log)" >&2
            status=1
            summary="$summary$(printf '%-10s REGRESSION FAILED' "$h")\n"
            continue
        fi
    fi
    "$bin" -max_total_time="$secs" -seed="${FUZZ_SEED:-0}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$h/" "$out/corpus/$h" "tests/fuzz/corpus/$h" </dev/null >>"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    crashes=0
    if [ $rc -ne 0 ]; then
        crashes=1
        status=1
        echo "fuzz: $h crashed (exit $rc); last lines of $log:" >&2
        tail -n 30 "$log" >&2
    fi
    line=$(printf '%-10s %4ss  execs=%-10s cov=%-6s crashes=%s' "$h" "$secs" "${execs:-?}" "${cov:-?}" "$crashes")
    echo "$line"
    summary="$summary$line\n"
done
printf "\n== fuzz summary\n$summary"
exit $status
