#!/usr/bin/env bash
# Supply-chain checks of the dependency tree with cargo-deny, by deny.toml:
# licenses (permissive only), bans (no wildcard versions; duplicates are
# warnings) and sources (crates.io only). cargo-deny is installed, pinned,
# by scripts/tools.sh.
#
# usage: bash scripts/deny.sh               # licenses bans sources (what .ci/run runs)
#        bash scripts/deny.sh advisories    # RustSec advisories: needs github.com
#                                           # (the advisory database), which CI cannot reach
set -euo pipefail
cd "$(dirname "$0")/.."
deny=$(bash scripts/tools.sh cargo-deny)
if [[ $# -gt 0 ]]; then
    exec "$deny" check "$@"
fi
# cargo-deny reads the metadata of every target's dependencies
# (redox_syscall, windows-sys, …), which a Linux build never downloads
cargo fetch --locked --quiet
exec "$deny" --offline check licenses bans sources
