#!/usr/bin/env bash
# End-to-end benchmark of `bylaw check` on generated Kubernetes corpora.
#
#   bash bench/run.sh [N…]        # default: 1000 10000
#
# Builds the release binary once, generates bench/corpus-N (seed 42) when it
# is missing, then per N: one JSON run for the counts, one warm-up run and
# BENCH_RUNS (default 3) timed runs under /usr/bin/time. Prints a Markdown
# table: files, documents, findings, median wall time, median CPU time
# (user + sys) and the highest peak RSS. Peers (conftest, checkov, trivy) are
# timed on the same corpus when they are installed; they are never installed
# by this script. See bench/README.md.
#
# bylaw is timed in every format of BENCH_FORMATS (default: text json sarif)
# with the 30-rule policy, then with bench/policy-noisy.yaml added (five rules
# firing on every document: over 100,000 findings on 10,000 files), so the
# cost per finding shows too (BENCH_NOISY=0 skips those rows).
#
# Environment: BENCH_RUNS (3), BENCH_SEED (42), BENCH_PEERS (1; 0 skips peers),
# BENCH_FORMATS, BENCH_NOISY (1). bench/peers.sh compares with the PyPI peers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then
  SIZES=(1000 10000)
fi
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-42}
PEERS=${BENCH_PEERS:-1}
POLICY=bench/policy.yaml
NOISY=bench/policy-noisy.yaml
read -r -a FORMATS <<<"${BENCH_FORMATS:-text json sarif}"
BIN=target/release/bylaw
TIME=/usr/bin/time

for n in "${SIZES[@]}"; do
  case "$n" in
    '' | *[!0-9]*) echo "bench/run.sh: not a file count: '$n' (usage: bash bench/run.sh [N…])" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TIME" ]; then
  echo "bench/run.sh: $TIME (GNU time) is required (apt-get install time)" >&2
  exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "==> cargo build --release -p bylaw-cli" >&2
cargo build --release -p bylaw-cli >&2

# measure LABEL OK_CODES CMD…: a warm-up run, then $RUNS timed runs.
# Prints "median_wall median_cpu max_rss_mb". OK_CODES is a space-separated
# list of exit codes that mean the tool ran (peers exit 1 on findings).
measure() {
  local label=$1 ok=$2
  shift 2
  local i rc
  for i in $(seq 0 "$RUNS"); do
    rc=0
    "$TIME" -f '%e %U %S %M' -o "$TMP/time.$i" "$@" >/dev/null 2>"$TMP/stderr" || rc=$?
    if [[ " $ok " != *" $rc "* ]]; then
      echo "bench/run.sh: $label exited with $rc:" >&2
      tail -5 "$TMP/stderr" >&2
      return 1
    fi
  done
  python3 - "$TMP" "$RUNS" <<'PY'
import statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
walls, cpus, rss = [], [], []
for i in range(1, runs + 1):  # run 0 is the warm-up
    # GNU time prepends "Command exited with non-zero status N" on failure.
    last = open(f"{tmp}/time.{i}").read().strip().splitlines()[-1]
    e, u, s, m = last.split()
    walls.append(float(e)); cpus.append(float(u) + float(s)); rss.append(int(m))
print(f"{statistics.median(walls):.2f} {statistics.median(cpus):.2f} {max(rss) / 1024:.0f}")
PY
}

cpu_model=$(bench_cpu_model)
echo
echo "bylaw $(git rev-parse --short HEAD 2>/dev/null || echo '(no git)') · $(nproc) CPUs${cpu_model:+ ($cpu_model)} · $(date -u +%Y-%m-%d) · policy $POLICY ($(grep -c '^ *- id:' "$POLICY") rules) · median of $RUNS runs after 1 warm-up"
echo
echo "| tool | format | files | documents | findings | wall s | CPU s | peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"

for n in "${SIZES[@]}"; do
  bench_corpus "$n" "$SEED"

  policy_sets=("-p $POLICY")
  [ "${BENCH_NOISY:-1}" = "0" ] || policy_sets+=("-p $POLICY -p $NOISY")
  for set in "${policy_sets[@]}"; do
    read -r -a pargs <<<"$set"
    label="bylaw"
    [[ "$set" == *"$NOISY"* ]] && label="bylaw + noisy rules"
    # Counts come from a JSON report of the same run the timings repeat.
    "$BIN" check "$corpus" "${pargs[@]}" --format json --fail-on never >"$TMP/report.json"
    read -r documents findings < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(s["documents"], s["findings"])' "$TMP/report.json")
    for format in "${FORMATS[@]}"; do
      stats=$(measure "bylaw" "0" "$BIN" check "$corpus" "${pargs[@]}" --format "$format" --fail-on never)
      read -r wall cpu rss <<<"$stats"
      echo "| $label | $format | $files | $documents | $findings | $wall | $cpu | $rss |"
    done
  done

  [ "$PEERS" = "0" ] && continue

  if command -v conftest >/dev/null 2>&1; then
    if stats=$(measure "conftest" "0 1" conftest test "$corpus" --policy bench/peers/conftest --all-namespaces --output json --no-color); then
      read -r wall cpu rss <<<"$stats"
      echo "| conftest $(conftest --version 2>/dev/null | head -1 | awk '{print $2}') | json | $files | | | $wall | $cpu | $rss |"
    fi
  else
    echo "    (conftest not installed: skipped)" >&2
  fi
  if command -v checkov >/dev/null 2>&1; then
    # Checkov runs its own built-in Kubernetes checks: not the same rule set.
    if stats=$(measure "checkov" "0 1" checkov -d "$corpus" --framework kubernetes --quiet --compact --output json); then
      read -r wall cpu rss <<<"$stats"
      echo "| checkov $(checkov --version 2>/dev/null) (built-in checks) | json | $files | | | $wall | $cpu | $rss |"
    fi
  else
    echo "    (checkov not installed: skipped)" >&2
  fi
  if command -v trivy >/dev/null 2>&1; then
    # Trivy's misconfiguration scanner with its built-in checks; --skip-check-update keeps it offline.
    if stats=$(measure "trivy" "0 1" trivy config --quiet --format json --exit-code 0 --skip-check-update "$corpus"); then
      read -r wall cpu rss <<<"$stats"
      echo "| trivy $(trivy --version 2>/dev/null | awk 'NR==1{print $2}') (built-in checks) | json | $files | | | $wall | $cpu | $rss |"
    fi
  else
    echo "    (trivy not installed: skipped)" >&2
  fi
done
