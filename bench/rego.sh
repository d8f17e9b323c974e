#!/usr/bin/env bash
# The benchmark policy in its two languages and two Rego engines, on the same
# generated corpus (issue 16):
#
#   (a) bylaw     bench/policy.yaml  (30 rules, CEL)
#   (b) bylaw     bench/policy.rego  (the same 30 rules in Rego, regorus)
#   (c) Go OPA    bench/policy.rego, in process through PyPI's
#                 opa-golib-python-bindings (bench/opa_eval.py): PyYAML parses
#                 each file, one query per document asks every deny/warn rule
#   (d) Python    bench/opa_eval.py --parse-only: the walk and the PyYAML
#                 parsing of (c) alone, so (c) − (d) is OPA's own cost
#
#   bash bench/rego.sh [N]        # corpus size, default 10000
#   BENCH_RUNS=3 bash bench/rego.sh
#
# Builds the release binary once and generates bench/corpus-N (seed 42) when
# it is missing. First checks that the three agree: the findings per rule of
# (a), (b) and (c), and per rule and file, must be equal (a table per rule;
# the script exits 1 at the end if they are not). Then each of (a)–(d) runs
# once as a warm-up and BENCH_RUNS (default 5) times under /usr/bin/time,
# output to /dev/null. Prints a Markdown table: findings, median wall time,
# median CPU time (user + sys) and the highest peak RSS; `uptime` before and
# after, since the machine may be shared.
#
# OPA: opa-golib-python-bindings and PyYAML, at the versions pinned in
# scripts/lib/venv.sh, are installed into a venv (BENCH_VENV, default
# ${TMPDIR:-/tmp}/bylaw-bench-rego-venv) when missing: the bindings' metadata
# asks for Python >= 3.14 but the code runs on 3.11, so pip is told
# --ignore-requires-python. Needs the network the first time only.
#
# Environment: BENCH_RUNS (5), BENCH_SEED (42), BENCH_VENV,
# BENCH_OPA_PER_RULE (0; 1 adds a row for OPA asked one rule per query, as
# conftest and bylaw ask, slow through the bindings: the input is sent again
# with every query). See bench/README.md, "Rego".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
export PEERS_VENV="${BENCH_VENV:-${TMPDIR:-/tmp}/bylaw-bench-rego-venv}"
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh

N=${1:-10000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-42}
YAML_POLICY=bench/policy.yaml
REGO_POLICY=bench/policy.rego
BIN=target/release/bylaw
TIME=/usr/bin/time

for n in "$N" "$RUNS"; do
  case "$n" in
    '' | *[!0-9]* | 0) echo "bench/rego.sh: not a positive count: '$n' (usage: bash bench/rego.sh [N])" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TIME" ]; then
  echo "bench/rego.sh: $TIME (GNU time) is required (apt-get install time)" >&2
  exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
load_before=$(uptime)

echo "==> Go OPA through opa-golib-python-bindings $OPA_GOLIB_PYTHON_BINDINGS_VERSION and PyYAML $PYYAML_VERSION, in the venv $PEERS_VENV (installed there when missing; pip --ignore-requires-python for the bindings)" >&2
peer_install pyyaml
peer_install opa-golib-python-bindings
PY="$PEERS_VENV/bin/python"
if ! "$PY" -c 'import yaml; from opa_bindings import OpaEngine
e = OpaEngine(); e.add_policy("t.rego", "package t\nx := 1"); assert e.eval_document("t.x") == 1' 2>"$TMP/opa.err"; then
  echo "bench/rego.sh: opa-golib-python-bindings does not evaluate Rego in process here:" >&2
  tail -3 "$TMP/opa.err" >&2
  exit 1
fi

echo "==> cargo build --release -p bylaw-cli" >&2
cargo build --release -p bylaw-cli >&2
# The commit the binary was built from (another may be checked out by the end).
built_from="$(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')$(git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo ' with uncommitted changes under crates/')"

bench_corpus "$N" "$SEED"

# ── Do the three agree? ─────────────────────────────────────────────────────
echo "==> equality check: findings per rule and per rule and file" >&2
"$BIN" check --no-config -p "$YAML_POLICY" "$corpus" --format json --fail-on never >"$TMP/yaml.json"
"$BIN" check --no-config -p "$REGO_POLICY" "$corpus" --format json --fail-on never >"$TMP/rego.json"
"$PY" bench/opa_eval.py --details "$TMP/opa-details.json" "$REGO_POLICY" "$corpus" >"$TMP/opa.json"
equal=0
python3 - "$TMP" >"$TMP/equality.md" <<'PY' || equal=$?
import collections, json, sys
tmp = sys.argv[1]

def bylaw(name):
    report = json.load(open(f"{tmp}/{name}.json"))
    pairs = collections.Counter((f["rule_id"], f["location"]["path"]) for f in report["findings"])
    return report, pairs

yaml_report, yaml_pairs = bylaw("yaml")
rego_report, rego_pairs = bylaw("rego")
opa = json.load(open(f"{tmp}/opa.json"))
opa_pairs = collections.Counter(
    {(rule, path): n for rule, files in json.load(open(f"{tmp}/opa-details.json")).items() for path, n in files.items()}
)

def per_rule(pairs):
    out = collections.Counter()
    for (rule, _), n in pairs.items():
        out[rule] += n
    return out

y, r, o = per_rule(yaml_pairs), per_rule(rego_pairs), per_rule(opa_pairs)
rules = sorted({x["id"] for x in yaml_report["rules"]} | set(y) | set(r) | set(o))
print("| rule | bylaw policy.yaml | bylaw policy.rego | OPA policy.rego | equal |")
print("|---|---:|---:|---:|---|")
for rule in rules:
    same = "yes" if y[rule] == r[rule] == o[rule] else "**NO**"
    print(f"| {rule} | {y[rule]} | {r[rule]} | {o[rule]} | {same} |")
print(f"| all | {sum(y.values())} | {sum(r.values())} | {sum(o.values())} | "
      f"{'yes' if y == r == o else '**NO**'} |")
keys = set(yaml_pairs) | set(rego_pairs) | set(opa_pairs)
differ = sorted(k for k in keys if not yaml_pairs[k] == rego_pairs[k] == opa_pairs[k])
print()
print(f"Per rule and file: {len(keys)} (rule, file) pairs, {len(differ)} with different counts"
      f"{'' if not differ else ': ' + ', '.join(f'{a} {b}' for a, b in differ[:10])}."
      f" OPA evaluated {opa['documents']} documents of {opa['files']} files ({opa['errors']} errors).")
sys.exit(0 if not differ and y == r == o and opa["errors"] == 0 else 1)
PY
read -r files_seen documents findings_yaml findings_rego < <(python3 -c '
import json, sys
y, r = (json.load(open(p)) for p in sys.argv[1:3])
print(r["summary"]["files"], r["summary"]["documents"], y["summary"]["findings"], r["summary"]["findings"])' "$TMP/yaml.json" "$TMP/rego.json")
findings_opa=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["findings"])' "$TMP/opa.json")

# measure LABEL CMD…: a warm-up run, then $RUNS timed runs. Prints
# "median_wall median_cpu max_rss_mb load" (the warm-up is not counted; load
# is the 1-minute load average before the warm-up).
measure() {
  local label=$1
  shift
  local i rc load
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
  echo "==> $label: 1 warm-up + $RUNS runs (load $load)" >&2
  for i in $(seq 0 "$RUNS"); do
    rc=0
    "$TIME" -f '%e %U %S %M' -o "$TMP/time.$i" "$@" >/dev/null 2>"$TMP/stderr" || rc=$?
    if [ "$rc" != 0 ]; then
      echo "bench/rego.sh: $label exited with $rc:" >&2
      tail -5 "$TMP/stderr" >&2
      return 1
    fi
  done
  python3 - "$TMP" "$RUNS" "$load" <<'PY'
import statistics, sys
tmp, runs, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
walls, cpus, rss = [], [], []
for i in range(1, runs + 1):  # run 0 is the warm-up
    e, u, s, m = open(f"{tmp}/time.{i}").read().strip().splitlines()[-1].split()
    walls.append(float(e)); cpus.append(float(u) + float(s)); rss.append(int(m))
print(f"{statistics.median(walls):.2f} {statistics.median(cpus):.2f} {max(rss) / 1024:.0f} {load}")
PY
}

stats=$(measure "bylaw policy.yaml" "$BIN" check --no-config -p "$YAML_POLICY" "$corpus" --format json --fail-on never)
read -r y_wall y_cpu y_rss y_load <<<"$stats"
stats=$(measure "bylaw policy.rego" "$BIN" check --no-config -p "$REGO_POLICY" "$corpus" --format json --fail-on never)
read -r r_wall r_cpu r_rss r_load <<<"$stats"
stats=$(measure "OPA policy.rego" "$PY" bench/opa_eval.py "$REGO_POLICY" "$corpus")
read -r o_wall o_cpu o_rss o_load <<<"$stats"
stats=$(measure "PyYAML parsing only" "$PY" bench/opa_eval.py --parse-only "$REGO_POLICY" "$corpus")
read -r p_wall p_cpu p_rss p_load <<<"$stats"
if [ "${BENCH_OPA_PER_RULE:-0}" = 1 ]; then
  stats=$(measure "OPA policy.rego, one query per rule" "$PY" bench/opa_eval.py --query-per-rule "$REGO_POLICY" "$corpus")
  read -r q_wall q_cpu q_rss q_load <<<"$stats"
fi
load_after=$(uptime)

cpu_model=$(bench_cpu_model)
opa_version=$("$PY" -c 'import importlib.metadata as m; print(m.version("opa-golib-python-bindings"))')
echo
echo "bylaw $built_from · $(nproc) CPUs${cpu_model:+ ($cpu_model)} · $(date -u +%Y-%m-%d) · $corpus: $files files, $documents documents · median of $RUNS runs after 1 warm-up"
echo
echo "Load before: \`${load_before# }\`"
echo
echo "| engine | policy | findings | wall s | CPU s | peak RSS MB | load at start |"
echo "|---|---|---:|---:|---:|---:|---:|"
echo "| bylaw (CEL) | policy.yaml | $findings_yaml | $y_wall | $y_cpu | $y_rss | $y_load |"
echo "| bylaw (regorus) | policy.rego | $findings_rego | $r_wall | $r_cpu | $r_rss | $r_load |"
echo "| Go OPA (opa-golib-python-bindings $opa_version), PyYAML parsing included | policy.rego | $findings_opa | $o_wall | $o_cpu | $o_rss | $o_load |"
echo "| PyYAML parsing only (\`opa_eval.py --parse-only\`) | – | – | $p_wall | $p_cpu | $p_rss | $p_load |"
python3 -c '
import sys
ow, oc, pw, pc = map(float, sys.argv[1:5])
print(f"| Go OPA evaluation alone (row 3 − row 4) | policy.rego | | {ow - pw:.2f} | {oc - pc:.2f} | | |")' "$o_wall" "$o_cpu" "$p_wall" "$p_cpu"
if [ "${BENCH_OPA_PER_RULE:-0}" = 1 ]; then
  echo "| Go OPA, one query per rule, PyYAML parsing included | policy.rego | $findings_opa | $q_wall | $q_cpu | $q_rss | $q_load |"
fi
echo
echo "Load after: \`${load_after# }\`"
echo
echo "Equality check (findings per rule; bylaw's reports with \`--format json\`, OPA's counts from \`opa_eval.py\`):"
echo
cat "$TMP/equality.md"
[ "$files_seen" = "$files" ] || echo "(bylaw read $files_seen files of $files)"
exit "$equal"
