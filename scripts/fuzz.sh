#!/usr/bin/env bash
# Fuzzes bylaw's parsers and loaders with cargo-fuzz (see fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]
#
# Builds every target, then runs each TARGET (default: all of them) for
# SECONDS_PER_TARGET (default 1800) from its committed seeds
# (fuzz/seeds/TARGET) and its git-ignored working corpus
# (fuzz/corpus/TARGET, where new inputs go), one after the other, niced.
# Appends one line per target to fuzz/RESULTS.md: date, commit, target,
# seconds it ran (build included; less than asked when it stopped at a
# fault), executions, coverage and the outcome (clean, or the crash,
# timeout or OOM file libFuzzer wrote under fuzz/artifacts/TARGET/). The
# full libFuzzer log of each run is kept in fuzz/logs/ (git-ignored).
#
# FUZZ_TIMEOUT (default 30) is the wall time in seconds after which one input
# counts as a hang. The runs are niced, so on a busy machine an input gets
# little CPU: a limit of a few seconds reports hangs that are not (every
# input the targets have met runs in under half a second unloaded).
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz
# --locked`). Not part of .ci/run: a run is far longer than CI's budget.
# Exit status: 0 when every run was clean, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-1800}
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]" >&2
    exit 2
fi
shift || true
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# `nice` only orders processes of one autogroup (one session, on Linux with
# CONFIG_SCHED_AUTOGROUP): lower this session's group too, or a fuzzer
# started with setsid takes a whole core from an interactive build or a
# benchmark.
echo 19 >/proc/self/autogroup 2>/dev/null || true
nice -n 10 cargo +nightly fuzz build

commit=$(git rev-parse --short HEAD)
if ! git diff --quiet HEAD -- .. ':(exclude)RESULTS.md' 2>/dev/null; then
    commit="$commit-dirty"
fi
results=RESULTS.md
if [[ ! -f $results ]]; then
    {
        echo "# Fuzzing results"
        echo
        echo "Appended by \`scripts/fuzz.sh\`, one line per target and run."
        echo
        echo "| date | commit | target | seconds | executions | coverage | outcome |"
        echo "| --- | --- | --- | --- | --- | --- | --- |"
    } >"$results"
fi

mkdir -p logs
# the targets' scratch files (fuzz/src/lib.rs), removed when the script ends
shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=${TMPDIR:-/tmp}
BYLAW_FUZZ_SCRATCH=$(mktemp -d "$shm/bylaw-fuzz.XXXXXX")
export BYLAW_FUZZ_SCRATCH
trap 'rm -rf "$BYLAW_FUZZ_SCRATCH"' EXIT
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    log="logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
    echo "== $target: ${seconds}s (log: fuzz/$log)"
    start=$SECONDS
    set +e
    nice -n 10 cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-30}" -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$((SECONDS - start))
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+$' || true)
    if [[ -z $execs ]]; then
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#' || true)
    fi
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+$' || true)
    if [[ $rc -eq 0 ]]; then
        outcome=clean
    else
        status=1
        artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n1 | sed 's/^Test unit written to //' || true)
        if [[ -n $artifact ]]; then
            rel=${artifact#"$PWD"/}
            outcome="$(basename "$artifact" | cut -d- -f1): fuzz/${rel#./}"
        else
            outcome="failed (exit $rc, see fuzz/$log)"
        fi
    fi
    line="| $(date -u +%Y-%m-%d) | $commit | $target | $elapsed | ${execs:-?} | ${cov:-?} | $outcome |"
    echo "$line" >>"$results"
    echo "$line"
done
exit $status
