#!/usr/bin/env bash
# Validates bylaw's SARIF with Microsoft's SARIF multitool and GitHub's
# ingestion rules (`validate --rule-kind Sarif Gh`), the check GitHub code
# scanning applies on upload. Installs the pinned multitool from npm into
# target/tools/sarif on first use. Fails on any result of level `error`;
# prints warnings and notes.
#
# usage: scripts/check-sarif.sh [FILE.sarif…]   (default: SARIF of bylaw's
#        runs on the bundled examples and test fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."

MULTITOOL_VERSION=5.7.0
tools=target/tools/sarif
if [ ! -d "$tools/node_modules/@microsoft/sarif-multitool" ]; then
  command -v npm >/dev/null || { echo "check-sarif: npm is required (Debian: apt-get install npm)" >&2; exit 2; }
  echo "installing @microsoft/sarif-multitool@$MULTITOOL_VERSION into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "@microsoft/sarif-multitool@$MULTITOOL_VERSION" >&2
fi
# The npm wrapper passes arguments through a shell and always exits with the
# tool's status; call the platform binary it wraps directly.
multitool=$(ls "$tools"/node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool 2>/dev/null | head -1 || true)
[ -x "$multitool" ] || multitool="$tools/node_modules/.bin/sarif-multitool"

out=target/sarif-check
mkdir -p "$out"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  cargo build -q -p bylaw-cli --locked
  bylaw=target/debug/bylaw
  # Exit 1 (blocking findings) is expected on these inputs; 2 is not.
  run() { local rc=0; BYLAW_NOW=2026-06-01T00:00:00Z "$bylaw" check "$@" --format json >/dev/null 2>&1 || rc=$?; [ "$rc" -le 1 ] || { echo "bylaw check $* exited $rc" >&2; exit 1; }; }
  run examples/manifests -p examples/policies --no-config --sarif "$out/examples.sarif"
  run tests/fixtures/manifests -p tests/fixtures/policies --no-config --sarif "$out/fixtures.sarif" --sarif-category fixtures/prod
  run tests/fixtures/exceptions/deploy -p tests/fixtures/exceptions/policy.yaml --exceptions tests/fixtures/exceptions/exceptions.yaml --no-config --sarif "$out/exceptions.sarif"
  # a run stopped by policy errors (exit 2) still writes SARIF saying why
  rc=0
  BYLAW_NOW=2026-06-01T00:00:00Z "$bylaw" check tests/fixtures/manifests -p tests/fixtures/bad-policies --no-config --sarif "$out/failure.sarif" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || { echo "bylaw check with bad policies exited $rc, expected 2" >&2; exit 1; }
  files=("$out/examples.sarif" "$out/fixtures.sarif" "$out/exceptions.sarif" "$out/failure.sarif")
fi

failed=0
for f in "${files[@]}"; do
  log="$out/$(basename "$f").validation.sarif"
  "$multitool" validate "$f" --rule-kind Sarif Gh --log ForceOverwrite --output "$log" >/dev/null
  summary=$(node -e '
    const log = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let errors = 0;
    for (const run of log.runs || []) {
      const rules = (run.tool.driver.rules || []);
      for (const r of run.results || []) {
        const level = r.level || "warning";
        if (level === "error") errors++;
        const rule = rules[r.ruleIndex] || {};
        const msg = r.message.text || (rule.messageStrings && r.message.id && rule.messageStrings[r.message.id]
          ? rule.messageStrings[r.message.id].text.replace(/\{(\d+)\}/g, (_, i) => (r.message.arguments || [])[i]) : (r.message.arguments || []).join(" "));
        console.log(`  ${level} ${r.ruleId}${rule.name ? " " + rule.name : ""}: ${msg}`);
      }
    }
    console.log(`ERRORS=${errors}`);
  ' "$log")
  errors=$(printf '%s\n' "$summary" | sed -n 's/^ERRORS=//p')
  printf '%s\n' "$summary" | grep -v '^ERRORS=' || true
  if [ "$errors" != "0" ]; then
    echo "FAIL $f: $errors error(s) from sarif-multitool validate --rule-kind Sarif Gh" >&2
    failed=1
  else
    echo "ok   $f: no errors from sarif-multitool validate --rule-kind Sarif Gh"
  fi
done
exit $failed
