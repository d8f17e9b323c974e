#!/usr/bin/env bash
# bylaw's infrastructure packs against Checkov, rule by rule, on the same
# generated Terraform, CloudFormation and Dockerfile corpus (issue 17).
#
#   bash bench/checkov.sh                # 100 modules, 100 templates, 100 Dockerfiles
#   bash bench/checkov.sh 300 300 300    # other sizes (terraform cloudformation dockerfiles)
#   BENCH_RUNS=5 bash bench/checkov.sh   # more timed runs (default 3)
#   BYLAW=path/to/bylaw bash bench/checkov.sh   # a given binary instead of building
#
# 1. Installs Checkov (CHECKOV_VERSION of scripts/lib/venv.sh) from PyPI into
#    a venv under ${TMPDIR:-/tmp} (BENCH_CHECKOV_VENV) and builds bylaw in
#    release (unless BYLAW is set).
# 2. Generates bench/corpus-iac-T-C-D with bench/gen_iac.py (seed
#    BENCH_SEED, 42) when it is missing.
# 3. Runs, offline (under `unshare --net` when the kernel allows it, and
#    with Checkov's offline flags anyway), each tool once for its report and
#    BENCH_RUNS times under /usr/bin/time:
#      checkov -d . --framework terraform cloudformation dockerfile --skip-download -o json
#      bylaw check . -p pack:terraform-aws -p pack:cloudformation-aws -p pack:dockerfile
#            --format json --fail-on never --no-config
# 4. Prints Markdown: both tools' median wall and CPU time and highest peak
#    RSS; then, per bylaw rule with a Checkov twin (the TWINS table below),
#    the (file, resource) pairs each flags: both, bylaw only, Checkov only
#    and the agreement (both / union); then up to BENCH_EXAMPLES (3)
#    disagreements per row, so that they can be argued one by one.
#
# A resource is `type.name` in Terraform (an S3 bucket's own resources,
# aws_s3_bucket_acl and the like, count as the bucket of their `bucket =`
# argument), the logical id in CloudFormation and the file for a Dockerfile (Checkov reports some Dockerfile checks once
# per file, on the first instruction at fault). Disagreements are reported,
# not failures; the script exits 1 when bylaw crashes (an exit code other
# than 0) and 2 on a usage or set-up error. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
PEERS_VENV=${BENCH_CHECKOV_VENV:-${TMPDIR:-/tmp}/bylaw-bench-checkov-venv}

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100 100 100)
RUNS=${BENCH_RUNS:-3}
SEED=${BENCH_SEED:-42}
EXAMPLES=${BENCH_EXAMPLES:-3}
TIME=/usr/bin/time
if [ ${#SIZES[@]} -ne 3 ]; then
  echo "usage: bash bench/checkov.sh [TERRAFORM_MODULES CLOUDFORMATION_TEMPLATES DOCKERFILES]" >&2
  exit 2
fi
for n in "${SIZES[@]}" "$RUNS" "$SEED" "$EXAMPLES"; do
  case "$n" in
    '' | *[!0-9]*) echo "bench/checkov.sh: not a count: '$n'" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TIME" ]; then
  echo "bench/checkov.sh: $TIME (GNU time) is required (apt-get install time)" >&2
  exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- offline
export BC_SKIP_MAPPING=TRUE              # no guideline mapping download
export CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
unset BC_API_KEY PRISMA_API_URL
NONET=()
if unshare --net true 2>/dev/null; then
  NONET=(unshare --net)
  network="no network (unshare --net)"
elif unshare --map-root-user --net true 2>/dev/null; then
  NONET=(unshare --map-root-user --net)
  network="no network (unshare --map-root-user --net)"
else
  network="network reachable: offline by Checkov's flags only"
  echo "bench/checkov.sh: cannot make a network namespace; relying on --skip-download" >&2
fi

# --- install and build
peer_install checkov
CHECKOV="$PEERS_VENV/bin/checkov"
if [ -n "${BYLAW:-}" ]; then
  BIN=$(cd "$(dirname "$BYLAW")" && pwd)/$(basename "$BYLAW")
  BYLAW_WHAT="$BIN"
else
  echo "==> bylaw: cargo build --release -p bylaw-cli" >&2
  BIN=$(bylaw_build release)
  BYLAW_WHAT="$(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')"
fi
# The packs this binary has (a missing one gets rows saying so).
PACK_ARGS=() PACK_NAMES="" MISSING=""
for pack in terraform-aws cloudformation-aws dockerfile; do
  if "$BIN" rules --pack "$pack" >/dev/null 2>&1; then
    PACK_ARGS+=(-p "pack:$pack")
    PACK_NAMES="$PACK_NAMES pack:$pack"
  else
    echo "bench/checkov.sh: $BIN has no pack $pack: its rows are left empty" >&2
    MISSING="$MISSING $pack"
  fi
done
if [ ${#PACK_ARGS[@]} -eq 0 ]; then
  echo "bench/checkov.sh: $BIN has none of the packs" >&2
  exit 2
fi

# --- corpus
corpus=bench/corpus-iac-${SIZES[0]}-${SIZES[1]}-${SIZES[2]}
if [ ! -d "$corpus" ]; then
  echo "==> generating $corpus" >&2
  python3 bench/gen_iac.py --terraform "${SIZES[0]}" --cloudformation "${SIZES[1]}" \
    --dockerfiles "${SIZES[2]}" --seed "$SEED" --out "$corpus" >&2
fi
files=$(find "$corpus" -type f | wc -l | tr -d ' ')
mb=$(du -sb "$corpus" | awk '{printf "%.1f", $1 / 1e6}')

# --- measure NAME OK_CODES CMD…: run 0 keeps its report in $TMP/NAME.json,
# then $RUNS timed runs. Sets STATS="wall cpu rss_mb" (medians, highest RSS)
# and RC (the first exit code not in OK_CODES, or 0).
measure() {
  local name=$1 ok=$2 i rc out
  shift 2
  RC=0
  for i in $(seq 0 "$RUNS"); do
    out=/dev/null
    [ "$i" = 0 ] && out="$TMP/$name.json"
    rc=0
    (cd "$corpus" && "$TIME" -f '%e %U %S %M' -o "$TMP/time.$name.$i" "${NONET[@]}" "$@" >"$out" 2>"$TMP/$name.err") || rc=$?
    if [[ " $ok " != *" $rc "* ]]; then
      RC=$rc
      echo "bench/checkov.sh: $name exited with $rc:" >&2
      tail -5 "$TMP/$name.err" >&2
      return 0
    fi
    echo "    $name: run $i/$RUNS ($([ "$i" = 0 ] && echo report || echo timed)): $(tail -1 "$TMP/time.$name.$i" | cut -d' ' -f1) s" >&2
  done
  STATS=$(python3 - "$TMP" "$name" "$RUNS" <<'PY'
import statistics, sys
tmp, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
walls, cpus, rss = [], [], []
for i in range(1, runs + 1):  # run 0 made the report
    last = open(f"{tmp}/time.{name}.{i}").read().strip().splitlines()[-1]
    e, u, s, m = last.split()
    walls.append(float(e)); cpus.append(float(u) + float(s)); rss.append(int(m))
print(f"{statistics.median(walls):.2f} {statistics.median(cpus):.2f} {max(rss) / 1024:.0f}")
PY
  )
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "==> bylaw on $corpus" >&2
measure bylaw "0" "$BIN" check . "${PACK_ARGS[@]}" --format json --fail-on never --no-config
BYLAW_RC=$RC BYLAW_STATS=${STATS:-}
echo "==> checkov on $corpus" >&2
# Checkov exits 1 when a check fails.
measure checkov "0 1" "$CHECKOV" -d . --framework terraform cloudformation dockerfile \
  --skip-download --quiet --compact --output json
CHECKOV_RC=$RC CHECKOV_STATS=${STATS:-}
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "bylaw $BYLAW_WHAT · checkov $CHECKOV_VERSION · $(nproc) CPUs$(c=$(bench_cpu_model); [ -n "$c" ] && echo " ($c)") · $(date -u +%Y-%m-%d) · $corpus: $files files, $mb MB (seed $SEED) · median of $RUNS runs · load average $load_start at start, $load_end at end · $network"
echo
echo "| tool | what it ran | wall s | CPU s | peak RSS MB | × bylaw wall | × bylaw CPU |"
echo "|---|---|---:|---:|---:|---:|---:|"
python3 - "$BYLAW_RC" "$BYLAW_STATS" "$CHECKOV_RC" "$CHECKOV_STATS" "$CHECKOV_VERSION" "$PACK_NAMES" <<'PY'
import sys
brc, bstats, crc, cstats, cver = sys.argv[1:6]
def cells(s):
    return s.split() if s else None
b, c = cells(bstats), cells(cstats)
def row(tool, what, rc, s):
    if rc != "0" or s is None:
        print(f"| {tool} | {what} | **failed** (exit {rc}) | | | | |"); return
    ratio = lambda i: f"{float(s[i]) / float(b[i]):.0f}" if b and float(b[i]) > 0 else "–"
    print(f"| {tool} | {what} | {s[0]} | {s[1]} | {s[2]} | {ratio(0)} | {ratio(1)} |")
row("bylaw", ", ".join(sys.argv[6].split()), brc, b)
row(f"checkov {cver}", "--framework terraform cloudformation dockerfile (all its checks)", crc, c)
PY

if [ "$BYLAW_RC" != 0 ] || [ "$CHECKOV_RC" != 0 ]; then
  [ -s "$TMP/bylaw.json" ] && [ -s "$TMP/checkov.json" ] || {
    echo
    echo "bench/checkov.sh: no comparison (a tool failed)" >&2
    [ "$BYLAW_RC" != 0 ] && exit 1
    exit 0
  }
fi

python3 - "$TMP/bylaw.json" "$TMP/checkov.json" "$EXAMPLES" "$MISSING" "$corpus" <<'PY'
import collections, json, re, sys

bylaw_path, checkov_path, examples = sys.argv[1], sys.argv[2], int(sys.argv[3])
missing = {FW for FW in (sys.argv[4].split())}

# bylaw rule(s) -> Checkov check(s) that judge the same thing, per framework.
# Several rows may share a rule (TFAWS-003: CKV_AWS_19 accepts SSE-S3,
# CKV_AWS_145 asks for KMS). Ids checked with `checkov --list` (3.3.30).
TWINS = [
    ("terraform", ["TFAWS-001"], ["CKV_AWS_20", "CKV_AWS_57"], "public canned ACL"),
    ("terraform", ["TFAWS-002"], ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], "Block Public Access flags"),
    ("terraform", ["TFAWS-002"], ["CKV2_AWS_6"], "bucket without a public access block"),
    ("terraform", ["TFAWS-003"], ["CKV_AWS_19"], "S3 default encryption"),
    ("terraform", ["TFAWS-003"], ["CKV_AWS_145"], "S3 encryption with KMS"),
    ("terraform", ["TFAWS-004"], ["CKV_AWS_21"], "S3 versioning"),
    ("terraform", ["TFAWS-005"], ["CKV_AWS_18"], "S3 access logging"),
    ("terraform", ["TFAWS-006", "TFAWS-007"], ["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"], "SSH/RDP/all ports from the Internet"),
    ("terraform", ["TFAWS-008"], ["CKV_AWS_1"], "policy document * on *"),
    ("terraform", ["TFAWS-009"], ["CKV_AWS_62"], "IAM policy * on *"),
    ("terraform", ["TFAWS-010"], ["CKV_AWS_17"], "public RDS"),
    ("terraform", ["TFAWS-011"], ["CKV_AWS_16", "CKV_AWS_96"], "RDS/Aurora encryption"),
    ("terraform", ["TFAWS-012"], ["CKV_AWS_3", "CKV_AWS_106"], "EBS encryption"),
    ("terraform", ["TFAWS-013"], ["CKV_AWS_7"], "KMS rotation"),
    ("terraform", ["TFAWS-014"], ["CKV_AWS_67"], "CloudTrail multi-region"),
    ("terraform", ["TFAWS-015"], ["CKV_AWS_36"], "CloudTrail log validation"),
    ("terraform", ["TFAWS-016"], ["CKV_AWS_35"], "CloudTrail KMS"),
    ("terraform", ["TFAWS-018"], ["CKV_AWS_79"], "IMDSv2"),
    ("cloudformation", ["CFNAWS-001"], ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], "Block Public Access"),
    ("cloudformation", ["CFNAWS-002"], ["CKV_AWS_20", "CKV_AWS_57"], "public canned ACL"),
    ("cloudformation", ["CFNAWS-003"], ["CKV_AWS_19"], "S3 default encryption"),
    ("cloudformation", ["CFNAWS-004"], ["CKV_AWS_21"], "S3 versioning"),
    ("cloudformation", ["CFNAWS-005"], ["CKV_AWS_18"], "S3 access logging"),
    ("cloudformation", ["CFNAWS-006", "CFNAWS-007"], ["CKV_AWS_24", "CKV_AWS_25"], "SSH/RDP from the Internet"),
    ("cloudformation", ["CFNAWS-008"], ["CKV_AWS_62"], "IAM * on *"),
    ("cloudformation", ["CFNAWS-009"], ["CKV_AWS_17"], "public RDS"),
    ("cloudformation", ["CFNAWS-010"], ["CKV_AWS_16", "CKV_AWS_96"], "RDS/Aurora encryption"),
    ("cloudformation", ["CFNAWS-011"], ["CKV_AWS_3"], "EBS encryption"),
    ("cloudformation", ["CFNAWS-012"], ["CKV_AWS_7"], "KMS rotation"),
    ("cloudformation", ["CFNAWS-013"], ["CKV_AWS_67"], "CloudTrail multi-region"),
    ("cloudformation", ["CFNAWS-014"], ["CKV_AWS_36"], "CloudTrail log validation"),
    ("cloudformation", ["CFNAWS-015"], ["CKV_AWS_35"], "CloudTrail KMS"),
    ("cloudformation", ["CFNAWS-016"], ["CKV_AWS_79"], "launch template IMDSv2"),
    ("dockerfile", ["DF-001"], ["CKV_DOCKER_3", "CKV_DOCKER_8"], "non-root USER"),
    ("dockerfile", ["DF-002"], ["CKV_DOCKER_7"], "latest or untagged base"),
    ("dockerfile", ["DF-004"], ["CKV_DOCKER_4"], "ADD instead of COPY"),
    ("dockerfile", ["DF-006"], ["CKV_DOCKER_2"], "HEALTHCHECK"),
    ("dockerfile", ["DF-007"], ["CKV_DOCKER_5"], "package index update alone"),
    ("dockerfile", ["DF-010"], ["CKV2_DOCKER_1"], "sudo"),
]
FRAMEWORK_OF_PACK = {"terraform-aws": "terraform", "cloudformation-aws": "cloudformation", "dockerfile": "dockerfile"}


CORPUS = sys.argv[5].rstrip("/") + "/"


def norm_path(p: str) -> str:
    """A path relative to the corpus: bylaw's are relative to the project
    root (the enclosing git work tree), Checkov's to -d with a leading /."""
    while p.startswith(("./", "/")):
        p = p[1:] if p.startswith("/") else p[2:]
    return p.removeprefix(CORPUS)


TEXTS: dict = {}


def bucket_of(path: str, res: str) -> str:
    """An S3 bucket's own resource (aws_s3_bucket_acl.x, _versioning.x,
    _public_access_block.x, …) as the bucket it configures, read from its
    `bucket = aws_s3_bucket.NAME.id` argument: the tools put the same
    finding on one or the other (bylaw on the resource it reads, Checkov's
    graph checks on the bucket)."""
    rtype, _, name = res.partition(".")
    if not rtype.startswith("aws_s3_bucket_"):
        return res
    if path not in TEXTS:
        try:
            TEXTS[path] = open(CORPUS + path, encoding="utf-8").read()
        except OSError:
            TEXTS[path] = ""
    block = re.search(r'resource\s+"%s"\s+"%s"\s*\{(.*?)\n\}' % (re.escape(rtype), re.escape(name)), TEXTS[path], re.S)
    bucket = block and re.search(r"\bbucket\s*=\s*aws_s3_bucket\.(\w+)\.(?:id|bucket)\b", block[1])
    return f"aws_s3_bucket.{bucket[1]}" if bucket else res


def key(framework: str, path: str, resource: str) -> tuple[str, str]:
    path = norm_path(path)
    if framework == "terraform":
        resource = bucket_of(path, resource)
    return (path, "" if framework == "dockerfile" else resource)


bylaw = json.load(open(bylaw_path))
raw = open(checkov_path).read().strip()
reports = json.loads(raw) if raw else []
reports = reports if isinstance(reports, list) else [reports]

# bylaw: rule -> {key: message}
b_hits: dict = collections.defaultdict(dict)
b_rules = collections.Counter()
for f in bylaw["findings"]:
    fw = FRAMEWORK_OF_PACK.get(f.get("policy", ""))
    if fw is None:
        continue
    r = f.get("resource") or {}
    name = r.get("name") or ""
    res = f"{r.get('kind')}.{name}" if fw == "terraform" else name
    b_hits[f["rule_id"]][key(fw, f["location"]["path"], res)] = f"{f['rule_id']}: {f['message']}"
    b_rules[f["rule_id"]] += 1

# Checkov: (framework, check) -> {key: check name}
c_hits: dict = collections.defaultdict(dict)
c_fail = collections.Counter()
parse_errors = {}
for rep in reports:
    fw = rep.get("check_type")
    parse_errors[fw] = rep.get("summary", {}).get("parsing_errors", 0)
    for f in rep.get("results", {}).get("failed_checks", []):
        res = f.get("resource") or ""
        if fw == "cloudformation":
            res = res.split(".", 1)[-1]
        elif fw == "terraform":
            res = res.removeprefix("data.").split("[", 1)[0]
        c_hits[(fw, f["check_id"])][key(fw, f["file_path"], res)] = f"{f['check_id']}: {f.get('check_name', '')}"
        c_fail[(fw, f["check_id"])] += 1

print()
s = bylaw["summary"]
print(f"bylaw: {s['files']} files read, {s['documents']} documents, {s['findings']} findings, "
      f"{s.get('errors', 0)} errors; Checkov: "
      + ", ".join(f"{fw} {r.get('summary', {}).get('failed', 0)} failed / {r.get('summary', {}).get('passed', 0)} passed"
                  f" ({parse_errors.get(fw, 0)} parsing errors)" for fw, r in ((r.get('check_type'), r) for r in reports)))
print()
print("| format | bylaw rule | Checkov check | what | bylaw | Checkov | both | bylaw only | Checkov only | agreement |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
disagreements = []
tot = collections.Counter()
FRAMEWORK_PACK = {v: k for k, v in {"terraform-aws": "terraform", "cloudformation-aws": "cloudformation",
                                    "dockerfile": "dockerfile"}.items()}
for fw, rules, checks, what in TWINS:
    if FRAMEWORK_PACK[fw] in missing:
        print(f"| {fw} | {', '.join(rules)} | {', '.join(checks)} | {what} | no pack:{FRAMEWORK_PACK[fw]} in this bylaw | | | | | |")
        continue
    bset: dict = {}
    for r in rules:
        bset.update(b_hits.get(r, {}))
    cset: dict = {}
    for c in checks:
        for k, v in c_hits.get((fw, c), {}).items():
            cset.setdefault(k, v)
    both = bset.keys() & cset.keys()
    only_b = sorted(bset.keys() - cset.keys())
    only_c = sorted(cset.keys() - bset.keys())
    union = len(bset.keys() | cset.keys())
    agree = f"{100 * len(both) / union:.0f}%" if union else "–"
    tot.update({"b": len(bset), "c": len(cset), "both": len(both), "ob": len(only_b), "oc": len(only_c)})
    print(f"| {fw} | {', '.join(rules)} | {', '.join(checks)} | {what} | {len(bset)} | {len(cset)} | {len(both)} | "
          f"{len(only_b)} | {len(only_c)} | {agree} |")
    if only_b or only_c:
        disagreements.append((fw, rules, checks, what, [(k, bset[k]) for k in only_b[:examples]],
                              [(k, cset[k]) for k in only_c[:examples]], len(only_b), len(only_c)))
u = tot["both"] + tot["ob"] + tot["oc"]
print(f"| **all** | | | | {tot['b']} | {tot['c']} | {tot['both']} | {tot['ob']} | {tot['oc']} | "
      f"{100 * tot['both'] / u:.0f}% |" if u else "| **all** | | | | 0 | 0 | 0 | 0 | 0 | – |")

print()
print("Agreement: (file, resource) pairs both flag / pairs either flags. A resource is `type.name` "
      "(Terraform; an S3 bucket's own resources, `aws_s3_bucket_acl.x` and the like, count as the bucket "
      "they name), the logical id (CloudFormation), the file (Dockerfile).")

if disagreements:
    print()
    print(f"### Disagreements (first {examples} per row)")
    for fw, rules, checks, what, ob, oc, nb, nc in disagreements:
        print()
        print(f"**{', '.join(rules)} ↔ {', '.join(checks)}** ({what}): {nb} bylaw only, {nc} Checkov only")
        for (path, res), msg in ob:
            print(f"- bylaw only: `{path}`{' `' + res + '`' if res else ''}: {msg}")
        for (path, res), msg in oc:
            print(f"- Checkov only: `{path}`{' `' + res + '`' if res else ''}: {msg}")

mapped_rules = {r for _, rules, _, _ in TWINS for r in rules}
no_twin = sorted(r for r in b_rules if r not in mapped_rules)
if no_twin:
    print()
    print("bylaw rules without a Checkov twin (findings): " + ", ".join(f"{r} ({b_rules[r]})" for r in no_twin))
mapped_checks = {(fw, c) for fw, _, checks, _ in TWINS for c in checks}
others = sum(n for k, n in c_fail.items() if k not in mapped_checks)
print(f"Checkov failures of checks without a bylaw twin: {others} "
      f"({len([k for k in c_fail if k not in mapped_checks])} checks)")
PY

if [ "$BYLAW_RC" != 0 ]; then
  echo "bench/checkov.sh: bylaw exited with $BYLAW_RC" >&2
  exit 1
fi
