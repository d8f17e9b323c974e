#!/usr/bin/env bash
# bylaw on a mixed repository (Kubernetes + Terraform + CloudFormation +
# Dockerfiles) with every pack, and the parse speed of each input format per
# byte against the YAML path (issue 17: "parsing each new format stays
# within 2x of the YAML path per byte").
#
#   bash bench/mixed.sh                        # 10,000 Kubernetes files, 2,000 modules,
#                                              # 2,000 templates, 5,000 Dockerfiles
#   bash bench/mixed.sh 1000 200 200 500       # other sizes (K8S TF CFN DOCKERFILES)
#   BENCH_RUNS=5 bash bench/mixed.sh           # more timed runs (default 3)
#   BYLAW=path/to/bylaw bash bench/mixed.sh    # a given binary instead of building
#
# 1. Builds bylaw in release (unless BYLAW is set) and generates
#    bench/corpus-mixed-K-T-C-D with bench/gen_iac.py (seed BENCH_SEED, 42;
#    the Kubernetes part is bench/gen_corpus.py's corpus): kubernetes/,
#    terraform/, cloudformation/ and docker/ side by side.
# 2. Table 1, the mixed corpus: `bylaw check` of the whole corpus with every
#    pack the binary has (the Kubernetes, Terraform, CloudFormation and
#    Dockerfile packs), then of each format's directory with its own packs.
# 3. Table 2, parse speed: each format's directory alone with a one-rule
#    policy that matches every document of that type (`match.types`) and
#    never fires (`deny: "false"`), so the run is discovery, reading and
#    parsing. Bytes (from the corpus's stats) per CPU second (user + sys) and
#    per wall second, the "parse and evaluate" phase of
#    BYLAW_LOG=bylaw::timing=debug, and the CPU per byte of each format
#    over the YAML path's (the Kubernetes directory): at most 2.0 passes.
#
# Every row is a warm-up run and BENCH_RUNS timed runs under /usr/bin/time
# (medians; the highest peak RSS), output to /dev/null. Exits 1 when bylaw
# fails, 2 on a usage error. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 2000 2000 5000)
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-42}
TIME=/usr/bin/time
if [ ${#SIZES[@]} -ne 4 ]; then
  echo "usage: bash bench/mixed.sh [KUBERNETES_FILES TERRAFORM_MODULES CLOUDFORMATION_TEMPLATES DOCKERFILES]" >&2
  exit 2
fi
for n in "${SIZES[@]}" "$RUNS" "$SEED"; do
  case "$n" in
    '' | *[!0-9]*) echo "bench/mixed.sh: not a count: '$n'" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TIME" ]; then
  echo "bench/mixed.sh: $TIME (GNU time) is required (apt-get install time)" >&2
  exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ -n "${BYLAW:-}" ]; then
  BIN=$(cd "$(dirname "$BYLAW")" && pwd)/$(basename "$BYLAW")
  BYLAW_WHAT="$BIN"
else
  echo "==> bylaw: cargo build --release -p bylaw-cli" >&2
  BIN=$(bylaw_build release)
  BYLAW_WHAT="$(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')"
fi

corpus=bench/corpus-mixed-${SIZES[0]}-${SIZES[1]}-${SIZES[2]}-${SIZES[3]}
if [ ! -d "$corpus" ]; then
  echo "==> generating $corpus" >&2
  python3 bench/gen_iac.py --kubernetes "${SIZES[0]}" --terraform "${SIZES[1]}" \
    --cloudformation "${SIZES[2]}" --dockerfiles "${SIZES[3]}" --seed "$SEED" --out "$corpus" >&2
fi
STATS_JSON=$corpus.stats.json

# Packs per format directory; the ones this binary lacks are left out.
declare -A DIR_PACKS=(
  [kubernetes]="kubernetes-restricted kubernetes-best-practices kubernetes-rbac"
  [terraform]="terraform-aws terraform-azure terraform-gcp"
  [cloudformation]="cloudformation-aws"
  [docker]="dockerfile"
)
DIRS=(kubernetes terraform cloudformation docker)
declare -A TYPE_OF=([kubernetes]=kubernetes [terraform]=terraform [cloudformation]=cloudformation [docker]=dockerfile)
declare -A STATS_KEY=([kubernetes]=kubernetes [terraform]=terraform [cloudformation]=cloudformation [docker]=dockerfile)
has_pack() { "$BIN" rules --pack "$1" >/dev/null 2>&1; }
pack_args() { # pack_args DIR…: "-p pack:X" for each pack of the dirs this binary has
  local d p
  for d in "$@"; do
    for p in ${DIR_PACKS[$d]}; do
      has_pack "$p" && printf -- '-p pack:%s ' "$p"
    done
  done
  return 0
}

# measure CMD…: a warm-up run (its JSON report in $TMP/report.json), then
# $RUNS timed runs with the timing log on. Sets STATS="wall cpu rss_mb
# phase_ms" (medians; highest RSS) or returns 1 when bylaw fails.
measure() {
  local i rc out
  for i in $(seq 0 "$RUNS"); do
    out=/dev/null
    [ "$i" = 0 ] && out="$TMP/report.json"
    rc=0
    BYLAW_LOG=bylaw::timing=debug "$TIME" -f '%e %U %S %M' -o "$TMP/time.$i" "$@" >"$out" 2>"$TMP/stderr.$i" || rc=$?
    if [ "$rc" != 0 ]; then
      echo "bench/mixed.sh: bylaw exited with $rc: $*" >&2
      grep -v 'bylaw::timing' "$TMP/stderr.$i" | tail -5 >&2
      return 1
    fi
  done
  STATS=$(python3 - "$TMP" "$RUNS" <<'PY'
import re, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
walls, cpus, rss, phase = [], [], [], []
for i in range(1, runs + 1):  # run 0 is the warm-up
    last = open(f"{tmp}/time.{i}").read().strip().splitlines()[-1]
    e, u, s, m = last.split()
    walls.append(float(e)); cpus.append(float(u) + float(s)); rss.append(int(m))
    found = re.search(r"parse and evaluate: ([0-9.]+) (ms|s)\b", open(f"{tmp}/stderr.{i}").read())
    if found:
        phase.append(float(found[1]) * (1000 if found[2] == "s" else 1))
print(f"{statistics.median(walls):.2f} {statistics.median(cpus):.2f} {max(rss) / 1024:.0f} "
      f"{statistics.median(phase) if phase else -1:.0f}")
PY
  )
}
counts() { # documents and findings of the warm-up's report
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["files"], s["documents"], s["findings"], s.get("errors", 0))' "$TMP/report.json"
}

FAILED=0
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(bench_cpu_model)
echo
echo "bylaw $BYLAW_WHAT · $(nproc) CPUs${cpu_model:+ ($cpu_model)} · $(date -u +%Y-%m-%d) · $corpus (seed $SEED) · median of $RUNS runs after 1 warm-up · load average $load_start at start"
echo
echo "| corpus | packs | files read | documents | findings | errors | wall s | CPU s | peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
rows=("ALL" "${DIRS[@]}")
for what in "${rows[@]}"; do
  if [ "$what" = ALL ]; then
    target=$corpus label="mixed (all four)"
    read -r -a pargs <<<"$(pack_args "${DIRS[@]}")"
  else
    target=$corpus/$what label="$what/"
    read -r -a pargs <<<"$(pack_args "$what")"
  fi
  if [ ${#pargs[@]} -eq 0 ]; then
    echo "| $label | (no pack for it in this bylaw) | | | | | | | |"
    continue
  fi
  echo "==> bylaw on $target: ${pargs[*]}" >&2
  if measure "$BIN" check "$target" "${pargs[@]}" --no-config --format json --fail-on never; then
    read -r wall cpu rss _ <<<"$STATS"
    read -r nfiles docs findings errors <<<"$(counts)"
    echo "| $label | $(echo "${pargs[*]}" | sed 's/-p //g; s/ /, /g') | $nfiles | $docs | $findings | $errors | $wall | $cpu | $rss |"
  else
    FAILED=1
    echo "| $label | $(echo "${pargs[*]}" | sed 's/-p //g; s/ /, /g') | **bylaw failed** | | | | | | |"
  fi
done

# --- parse speed
echo
echo "| format (directory) | files | documents | MB | wall s | CPU s | parse and evaluate ms | MB/s per CPU s | MB/s wall | CPU per byte × YAML | within 2× |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
declare -A CPU_PER_BYTE=()
for d in "${DIRS[@]}"; do
  type=${TYPE_OF[$d]}
  policy=$TMP/parse-$type.yaml
  cat >"$policy" <<EOF
apiVersion: bylaw/v1
kind: Policy
metadata:
  name: parse-$type
  version: 1.0.0
  type: operational
  description: Matches every $type document and never fires (parse-speed benchmark).
spec:
  match: { types: [$type] }
  rules:
    - id: PARSE-001
      title: Never fires
      severity: info
      deny: "false"
      message: "never"
EOF
  read -r sfiles sbytes sdocs <<<"$(python3 -c 'import json, sys; f = json.load(open(sys.argv[1]))["formats"].get(sys.argv[2]); print(*(f["files"], f["bytes"], f["documents"]) if f else "0 0 0")' "$STATS_JSON" "${STATS_KEY[$d]}")"
  if [ "$sfiles" = 0 ]; then
    continue
  fi
  echo "==> parse speed: $corpus/$d ($type)" >&2
  if ! "$BIN" check "$corpus/$d" -p "$policy" --no-config --format json --fail-on never >"$TMP/report.json" 2>"$TMP/probe.err"; then
    echo "| $type ($d/) | $sfiles | | $(python3 -c "print(f'{$sbytes / 1e6:.1f}')") | **not read by this bylaw**: $(grep -m1 -i error "$TMP/probe.err" | cut -c1-100) | | | | | | |"
    continue
  fi
  if ! measure "$BIN" check "$corpus/$d" -p "$policy" --no-config --format json --fail-on never; then
    FAILED=1
    continue
  fi
  read -r wall cpu rss phase <<<"$STATS"
  read -r _ docs _ _ <<<"$(counts)"
  CPU_PER_BYTE[$type]=$(python3 -c "print($cpu / $sbytes)")
  python3 - "$type" "$d" "$sfiles" "$docs" "$sbytes" "$wall" "$cpu" "$phase" "${CPU_PER_BYTE[kubernetes]:-}" <<'PY'
import sys
t, d, files, docs, nbytes, wall, cpu, phase, yaml = sys.argv[1:]
nbytes, wall, cpu = int(nbytes), float(wall), float(cpu)
mb = nbytes / 1e6
per_cpu = f"{mb / cpu:.1f}" if cpu > 0 else "–"
per_wall = f"{mb / wall:.1f}" if wall > 0 else "–"
if yaml and t != "kubernetes":
    x = (cpu / nbytes) / float(yaml)
    ratio, ok = f"{x:.2f}", ("yes" if x <= 2.0 else "**no**")
else:
    ratio, ok = ("1.00 (the YAML path)", "") if t == "kubernetes" else ("–", "")
phase = phase if phase != "-1" else "–"
print(f"| {t} ({d}/) | {files} | {docs} | {mb:.1f} | {wall:.2f} | {cpu:.2f} | {phase} | {per_cpu} | {per_wall} | {ratio} | {ok} |")
PY
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Bytes are the generated files' (stats JSON); the Terraform directory includes variables.tf and outputs.tf, which the parse policy reads too."
exit "$FAILED"
