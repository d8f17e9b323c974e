#!/usr/bin/env bash
# Installs the bylaw binary for this machine's OS and architecture from a
# GitHub release, verifying its SHA-256 checksum against the release's
# SHA256SUMS; when the release has no asset for this platform (or no such
# release exists), builds it from source with `cargo install --locked --path`.
# A checksum mismatch is an error, never a reason to fall back.
#
# The one copy lives in jenkins/resources/io/bylaw/ because Jenkins' shared
# library step (jenkins/vars/bylaw.groovy) reads it with
# libraryResource('io/bylaw/install.sh'), which refuses symlinks, and writes
# it into the workspace (.bylaw/install.sh) before running it with
# BYLAW_VERSION and BYLAW_INSTALL_DIR set. scripts/install.sh is a symlink to
# it, used by action.yml (and the GitLab templates). Tested by
# crates/bylaw-cli/tests/action.rs against a local fake release directory.
#
# Environment (all optional):
#   BYLAW_VERSION       release tag to install (v1.2.3 or 1.2.3); default: the
#                       action's ref when it is a version tag, else the
#                       version of the bylaw checkout holding this script
#                       (its Cargo.toml); a copy outside one needs it set
#   BYLAW_ACTION_REF    the ref the action was used at (github.action_ref)
#   BYLAW_REPOSITORY    owner/name holding the releases (default bylaw-dev/bylaw)
#   BYLAW_RELEASES_URL  base of release downloads; default
#                       $GITHUB_SERVER_URL/$BYLAW_REPOSITORY/releases/download
#                       (file:// URLs work: that is how the tests run)
#   BYLAW_SOURCE_DIR    source tree for the fallback build (default: the bylaw
#                       checkout holding this script, found by walking up from
#                       its directory; none when it is a copy, as in Jenkins)
#   BYLAW_INSTALL_DIR   where the binary goes (default $RUNNER_TEMP/bylaw/bin,
#                       else ~/.local/bin)
#   BYLAW_OS, BYLAW_ARCH  override the detected platform (RUNNER_OS/RUNNER_ARCH
#                       names or uname's)
# Prints the installed binary's path on stdout; appends `path=…` and
# `version=…` to $GITHUB_OUTPUT and the directory to $GITHUB_PATH when set.
set -euo pipefail

# The bylaw checkout this script is part of: scripts/install.sh (a symlink)
# is one level down, jenkins/resources/io/bylaw/install.sh four. A copy
# written into a Jenkins workspace has none, and must not mistake the
# workspace's own Cargo.toml for bylaw's.
here=""
dir="$(cd "$(dirname "$0")" && pwd)"
while :; do
  if [ -f "$dir/crates/bylaw-cli/Cargo.toml" ]; then here="$dir"; break; fi
  [ "$dir" = / ] && break
  dir="$(dirname "$dir")"
done
source_dir="${BYLAW_SOURCE_DIR:-$here}"
repository="${BYLAW_REPOSITORY:-bylaw-dev/bylaw}"
server="${GITHUB_SERVER_URL:-https://github.com}"
releases="${BYLAW_RELEASES_URL:-$server/$repository/releases/download}"
if [ -n "${BYLAW_INSTALL_DIR:-}" ]; then
  install_dir="$BYLAW_INSTALL_DIR"
elif [ -n "${RUNNER_TEMP:-}" ]; then
  install_dir="$RUNNER_TEMP/bylaw/bin"
else
  install_dir="$HOME/.local/bin"
fi

log() { echo "bylaw install: $*" >&2; }
die() { echo "bylaw install: error: $*" >&2; exit 1; }

# --- which version --------------------------------------------------------
version="${BYLAW_VERSION:-}"
if [ -z "$version" ] && [[ "${BYLAW_ACTION_REF:-}" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+ ]]; then
  version="$BYLAW_ACTION_REF"
fi
if [ -z "$version" ] && [ -n "$source_dir" ] && [ -f "$source_dir/Cargo.toml" ]; then
  version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$source_dir/Cargo.toml" | head -1)
fi
[ -n "$version" ] || die "cannot tell which version to install: set BYLAW_VERSION"
version="${version#v}"
tag="v$version"

# --- which platform -------------------------------------------------------
os="${BYLAW_OS:-${RUNNER_OS:-$(uname -s)}}"
arch="${BYLAW_ARCH:-${RUNNER_ARCH:-$(uname -m)}}"
case "$os" in
  Linux | linux) os=unknown-linux-gnu ;;
  macOS | Darwin | darwin) os=apple-darwin ;;
  Windows | MINGW* | MSYS* | CYGWIN*) os=pc-windows-msvc ;;
  *) os="unsupported-$os" ;;
esac
case "$arch" in
  X64 | x86_64 | amd64) arch=x86_64 ;;
  ARM64 | arm64 | aarch64) arch=aarch64 ;;
  *) arch="unsupported-$arch" ;;
esac
target="$arch-$os"
exe=bylaw
[ "$os" = pc-windows-msvc ] && exe=bylaw.exe
asset="bylaw-$target.tar.gz"

done_install() {
  local bin="$install_dir/$exe"
  "$bin" --version >/dev/null || die "$bin does not run"
  log "installed $("$bin" --version) at $bin"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    { echo "path=$bin"; echo "version=$version"; } >>"$GITHUB_OUTPUT"
  fi
  [ -n "${GITHUB_PATH:-}" ] && echo "$install_dir" >>"$GITHUB_PATH"
  echo "$bin"
  exit 0
}

# already there (a cached tool directory, or a second step of the same job)
if [ -x "$install_dir/$exe" ] && "$install_dir/$exe" --version 2>/dev/null | grep -qx "bylaw $version"; then
  log "bylaw $version is already installed"
  done_install
fi

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# fetch URL FILE: 0 when fetched, 1 when the server has no such file, dies on other failures
fetch() {
  local code
  case "$1" in
    file://*)
      [ -f "${1#file://}" ] || return 1
      cp "${1#file://}" "$2"
      return 0
      ;;
  esac
  code=$(curl --silent --show-error --location --retry 3 --retry-delay 2 --output "$2" --write-out '%{http_code}' "$1") ||
    die "cannot download $1"
  case "$code" in
    200) return 0 ;;
    404) return 1 ;;
    *) die "downloading $1: HTTP $code" ;;
  esac
}

build_from_source() {
  [ -n "$source_dir" ] ||
    die "$1, and no bylaw source tree to build from: install a released version, or set BYLAW_SOURCE_DIR to a bylaw checkout"
  log "$1: building bylaw $version from source ($source_dir) with cargo install --locked"
  command -v cargo >/dev/null || die "no release asset for $target and no cargo to build from source: install Rust (https://rustup.rs) or use a released version"
  [ -f "$source_dir/crates/bylaw-cli/Cargo.toml" ] || die "no bylaw source in $source_dir"
  local root
  root="$(dirname "$install_dir")"
  cargo install --locked --path "$source_dir/crates/bylaw-cli" --root "$root" --bin bylaw >&2 ||
    die "cargo install failed"
  [ "$root/bin" = "$install_dir" ] || { mkdir -p "$install_dir"; cp "$root/bin/$exe" "$install_dir/$exe"; }
  done_install
}

case "$target" in
  *unsupported*) build_from_source "no release builds for $os/$arch" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
base="$releases/$tag"
if ! fetch "$base/SHA256SUMS" "$work/SHA256SUMS"; then
  build_from_source "no release $tag at $releases"
fi
expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")
if [ -z "$expected" ]; then
  build_from_source "release $tag has no $asset"
fi
if ! fetch "$base/$asset" "$work/$asset"; then
  build_from_source "release $tag lists $asset but it cannot be downloaded"
fi
actual=$(sha256 "$work/$asset")
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; refusing to install it"
fi
log "verified $asset (sha256 $actual)"
mkdir -p "$work/x" "$install_dir"
tar -xzf "$work/$asset" -C "$work/x"
bin=$(find "$work/x" -type f -name "$exe" | head -1)
[ -n "$bin" ] || die "$asset holds no $exe"
install -m 0755 "$bin" "$install_dir/$exe"
"$install_dir/$exe" --version | grep -qx "bylaw $version" ||
  die "$asset holds $("$install_dir/$exe" --version), not bylaw $version"
done_install
