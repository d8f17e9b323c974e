#!/usr/bin/env bash
# Compares bylaw's Kubernetes packs (kubernetes-restricted, which includes
# kubernetes-baseline, kubernetes-best-practices and kubernetes-rbac) with
# Checkov's Kubernetes checks on repositories: per Checkov check, how many of
# its failed resources bylaw also reports (same file, a mapped rule, inside
# the resource's lines), Checkov checks bylaw has no rule for, and bylaw
# findings Checkov has no failure for. Not a CI step: a script you run and
# report.
#
#   bash scripts/compare-checkov.sh [REPO_DIR…]   # default: ../shared/realworld/*
#
# Checkov (pinned in scripts/lib/venv.sh) is installed into
# target/tools/peers-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
peer_install checkov
bylaw="$(bylaw_build debug)"
repos=("$@")
if [ ${#repos[@]} -eq 0 ]; then
  repos=("$root"/../shared/realworld/*/)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for repo in "${repos[@]}"; do
  name="$(basename "$repo")"
  repo="$(copy_outside_git "$repo" "$work")"
  (cd "$repo" && timeout 900 "$PEERS_VENV/bin/checkov" -d . --framework kubernetes -o json --quiet --compact 2>/dev/null || true) >"$work/$name.checkov.json"
  (cd "$repo" && "$bylaw" check . --no-config --format json --fail-on never \
    -p pack:kubernetes-restricted -p pack:kubernetes-best-practices -p pack:kubernetes-rbac 2>/dev/null || true) >"$work/$name.bylaw.json"
done
python3 - "$work" <<'PY'
import json, sys, os, collections
work = sys.argv[1]
# Checkov check -> bylaw rules that cover it (empty: bylaw has no such rule)
MAP = {
    "CKV_K8S_16": ["KB-001"], "CKV_K8S_17": ["KB-002"], "CKV_K8S_18": ["KB-002"], "CKV_K8S_19": ["KB-002"],
    "CKV_K8S_26": ["KB-004"], "CKV_K8S_27": ["KB-003"], "CKV_K8S_25": ["KB-005"], "CKV_K8S_39": ["KB-005"],
    "CKV_K8S_20": ["KR-001"], "CKV_K8S_23": ["KR-002"], "CKV_K8S_28": ["KR-005"], "CKV_K8S_37": ["KR-005"],
    "CKV_K8S_31": ["KR-004"], "CKV_K8S_32": ["KR-004"],
    "CKV_K8S_10": ["KBP-002"], "CKV_K8S_11": ["KBP-001"], "CKV_K8S_12": ["KBP-002"], "CKV_K8S_13": ["KBP-001"],
    "CKV_K8S_8": ["KBP-003"], "CKV_K8S_9": ["KBP-003"], "CKV_K8S_14": ["KBP-004"],
    "CKV_K8S_38": ["KRB-010"], "CKV_K8S_49": ["KRB-001"], "CKV_K8S_157": ["KRB-003"], "CKV_K8S_158": ["KRB-003"],
    "CKV_K8S_155": ["KRB-011"], "CKV_K8S_156": ["KRB-012"],
}
per = collections.defaultdict(lambda: [0, 0, ""])  # check -> [checkov, matched, name]
bylaw_only = collections.Counter()
bylaw_total = collections.Counter()
for name in sorted({f.rsplit(".", 2)[0] for f in os.listdir(work) if f.endswith(".json")}):
    raw = open(f"{work}/{name}.checkov.json").read().strip()
    reports = json.loads(raw) if raw else []
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f for r in reports for f in r.get("results", {}).get("failed_checks", [])]
    b = json.load(open(f"{work}/{name}.bylaw.json"))["findings"]
    used = set()
    for f in failed:
        cid = f["check_id"]
        path = f["file_path"].lstrip("/")
        lo, hi = f["file_line_range"]
        per[cid][0] += 1
        per[cid][2] = f["check_name"]
        rules = MAP.get(cid, [])
        hit = [i for i, g in enumerate(b) if g["rule_id"] in rules and g["location"]["path"] == path
               and lo <= g["location"]["start_line"] <= hi]
        if hit:
            per[cid][1] += 1
            used.update(hit)
    for i, g in enumerate(b):
        bylaw_total[g["rule_id"]] += 1
        if i not in used and not g["rule_id"].startswith("bylaw/"):
            bylaw_only[g["rule_id"]] += 1
print(f"{'Checkov check':<12} {'failed':>6} {'bylaw':>6}  {'bylaw rules':<18} name")
for cid in sorted(per, key=lambda c: (c.split("_")[0], int(c.rsplit("_", 1)[1]))):
    n, m, title = per[cid]
    rules = ",".join(MAP.get(cid, [])) or "-"
    print(f"{cid:<12} {n:>6} {m:>6}  {rules:<18} {title[:70]}")
print("\nbylaw findings by rule (total / without a Checkov failure of a mapped check there):")
for r in sorted(bylaw_total):
    print(f"  {r:<18} {bylaw_total[r]:>5} / {bylaw_only[r]}")
PY
