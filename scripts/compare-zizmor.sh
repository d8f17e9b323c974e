#!/usr/bin/env bash
# Compares bylaw's github-actions-hardening pack with zizmor (PyPI, run
# --offline) on the GitHub workflows and composite actions of repositories:
# per zizmor audit, how many of its findings bylaw also reports (same file,
# the mapped rule, within a few lines), and what each tool reports alone.
# Not a CI step: a script you run and report.
#
#   bash scripts/compare-zizmor.sh [REPO_DIR…]   # default: ../shared/realworld/*
#
# zizmor (pinned in scripts/lib/venv.sh) is installed into
# target/tools/peers-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
peer_install zizmor
bylaw="$(bylaw_build debug)"
repos=("$@")
if [ ${#repos[@]} -eq 0 ]; then
  repos=("$root"/../shared/realworld/*/)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for repo in "${repos[@]}"; do
  name="$(basename "$repo")"
  [ -d "$repo/.github" ] || continue
  repo="$(copy_outside_git "$repo" "$work")"
  (cd "$repo" && "$PEERS_VENV/bin/zizmor" --offline --format json .github 2>/dev/null || true) >"$work/$name.zizmor.json"
  (cd "$repo" && "$bylaw" check . -p pack:github-actions-hardening --no-config --format json --fail-on never 2>/dev/null || true) >"$work/$name.bylaw.json"
done
python3 - "$work" <<'PY'
import json, sys, os, collections
work = sys.argv[1]
# zizmor audit -> bylaw rules that cover it
MAP = {
    "unpinned-uses": ["GHA-001"],
    "artipacked": ["GHA-006"],
    "excessive-permissions": ["GHA-002", "GHA-003"],
    "dangerous-triggers": ["GHA-012", "GHA-004", "GHA-009"],
    "template-injection": ["GHA-005"],
    "github-env": ["GHA-009"],
    "cache-poisoning": ["GHA-011"],
    "secrets-inherit": ["GHA-007"],
    "insecure-commands": ["GHA-008"],
    "self-hosted-runner": ["GHA-010"],
}
per = collections.defaultdict(lambda: [0, 0])  # audit -> [zizmor, matched]
bylaw_only = collections.Counter()
repos = sorted({f.split(".")[0] for f in os.listdir(work) if f.endswith(".json")})
for repo in repos:
    z = json.load(open(f"{work}/{repo}.zizmor.json")) if os.path.getsize(f"{work}/{repo}.zizmor.json") else []
    b = json.load(open(f"{work}/{repo}.bylaw.json"))["findings"]
    used = set()
    for f in z:
        sev = f["determinations"]["severity"]
        if sev not in ("High", "Medium"):
            continue
        loc = [l for l in f["locations"] if l["symbolic"]["kind"] == "Primary"][0]
        path = loc["symbolic"]["key"]["Local"]["verbatim_path"]
        start = loc["concrete"]["location"]["start_point"]["row"] + 1
        end = loc["concrete"]["location"]["end_point"]["row"] + 1
        key = f"{f['ident']} ({sev})"
        per[key][0] += 1
        rules = MAP.get(f["ident"], [])
        hit = [i for i, g in enumerate(b) if g["rule_id"] in rules and g["location"]["path"] == path
               and start - 8 <= g["location"]["start_line"] <= end + 2]
        if hit:
            per[key][1] += 1
            used.update(hit)
        elif not rules:
            per[key].append(f"{repo}/{path}:{start}")
        else:
            per[key].append(f"{repo}/{path}:{start} missed")
    for i, g in enumerate(b):
        if i not in used:
            bylaw_only[g["rule_id"]] += 1
print(f"{'zizmor audit (severity)':<36} {'zizmor':>6} {'bylaw':>6}  notes")
for k in sorted(per):
    z, m, *notes = per[k]
    print(f"{k:<36} {z:>6} {m:>6}  {'; '.join(notes[:4])}")
print("\nbylaw findings without a zizmor high/medium finding at that place:", dict(sorted(bylaw_only.items())))
PY
