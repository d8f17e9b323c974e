#!/usr/bin/env bash
# The run step of action.yml: turns the action's inputs (passed as
# BYLAW_INPUT_* variables) into a `bylaw ci github` command line and runs it.
# The token travels in GITHUB_TOKEN, never on the command line. The exit code
# is bylaw's: 0 pass, 1 blocking findings, 2 usage or input error.
set -euo pipefail

bylaw="${BYLAW_BIN:-bylaw}"
args=(ci github)

# A list input: one item per line, or, on a single line, items separated by spaces or commas.
list() {
  local text="$1"
  if [[ "$text" == *$'\n'* ]]; then
    while IFS= read -r line; do
      line="${line#"${line%%[![:space:]]*}"}"
      line="${line%"${line##*[![:space:]]}"}"
      [ -n "$line" ] && printf '%s\n' "$line"
    done <<<"$text"
  else
    tr ', ' '\n\n' <<<"$text" | sed '/^$/d'
  fi
}

bool() {
  case "${1,,}" in
    true | yes | 1 | on) echo true ;;
    false | no | 0 | off | '') echo false ;;
    *) echo "bylaw action: \`$2\` must be true or false, not \`$1\`" >&2; exit 2 ;;
  esac
}

while IFS= read -r p; do args+=(--policy "$p"); done < <(list "${BYLAW_INPUT_POLICIES:-}")
while IFS= read -r e; do args+=(--exceptions "$e"); done < <(list "${BYLAW_INPUT_EXCEPTIONS:-}")
[ -n "${BYLAW_INPUT_CONFIG:-}" ] && args+=(--config "$BYLAW_INPUT_CONFIG")
[ -n "${BYLAW_INPUT_ENV:-}" ] && args+=(--env "$BYLAW_INPUT_ENV")
[ -n "${BYLAW_INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$BYLAW_INPUT_FAIL_ON")
args+=(--sarif "${BYLAW_INPUT_SARIF:-bylaw.sarif}")
[ -n "${BYLAW_INPUT_JUNIT:-}" ] && args+=(--junit "$BYLAW_INPUT_JUNIT")
args+=(--comment "${BYLAW_INPUT_COMMENT:-on-failure}")
args+=(--check-run "$(bool "${BYLAW_INPUT_CHECK_RUN:-true}" check-run)")
args+=(--status "$(bool "${BYLAW_INPUT_STATUS:-false}" status)")
args+=(--annotations "$(bool "${BYLAW_INPUT_ANNOTATIONS:-true}" annotations)")
[ "$(bool "${BYLAW_INPUT_CHANGED_ONLY:-false}" changed-only)" = true ] && args+=(--changed-only)
args+=(--policy-ref "${BYLAW_INPUT_POLICY_REF:-head}")
while IFS= read -r p; do args+=("$p"); done < <(list "${BYLAW_INPUT_PATHS:-}")

echo "bylaw action: $bylaw ${args[*]}" >&2
exec "$bylaw" "${args[@]}"
