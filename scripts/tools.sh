#!/usr/bin/env bash
# Installs, once, the pinned third-party tools bylaw's test suite checks its
# output against, into target/tools, and prints the path asked for. Safe to
# call from concurrent tests (flock). Everything comes from the registries
# (npm, PyPI) or, for groovy, Debian's archive; install logs go to stderr.
#
# usage: scripts/tools.sh octokit            -> dir holding @octokit/openapi and @octokit/webhooks-examples
#        scripts/tools.sh check-jsonschema   -> path of the check-jsonschema executable
#        scripts/tools.sh groovy             -> path of the groovy executable (Debian's groovy 2.4,
#                                               for the Jenkins library's tests: jenkins/test/)
#        scripts/tools.sh docker-registry  -> path of Debian's docker-registry executable (the OCI
#                                               distribution server, for the bundle push/pull tests)

#        scripts/tools.sh postgresql         -> directory of PostgreSQL's server binaries (initdb, postgres;
#                                               Debian's postgresql package, for the history store's
#                                               tests: crates/bylaw-history/src/testing.rs)
#        scripts/tools.sh chromium           -> path of Debian's chromium executable (headless, for the
#                                               HTML report's browser test: crates/bylaw-cli/tests/report_browser.rs)
#        scripts/tools.sh cargo-deny         -> path of the cargo-deny executable (crates.io, built
#                                               once with `cargo install --locked`: a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

OCTOKIT_OPENAPI=23.0.2
OCTOKIT_WEBHOOKS_EXAMPLES=7.6.1
CHECK_JSONSCHEMA=0.39.0
CARGO_DENY=0.20.2

tools=target/tools
mkdir -p "$tools"
exec 9>"$tools/.lock"
flock 9

# apt_install TOOL WHAT_TO_INSTALL_WITHOUT_APT PACKAGE...: installs Debian
# packages with apt-get (as root, else through sudo), or exits 2 saying
# what to install by hand
apt_install() {
  local tool="$1" by_hand="$2"
  shift 2
  command -v apt-get >/dev/null ||
    { echo "tools.sh: $tool is required and there is no apt-get to install it: $by_hand" >&2; exit 2; }
  local as_root=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null ||
      { echo "tools.sh: installing $tool with apt-get needs root or sudo: apt-get install $*" >&2; exit 2; }
    as_root=sudo
  fi
  echo "installing Debian's $tool package with apt-get" >&2
  $as_root apt-get update >&2
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

case "${1:-}" in
  octokit)
    dir="$tools/octokit"
    stamp="$dir/.installed-$OCTOKIT_OPENAPI-$OCTOKIT_WEBHOOKS_EXAMPLES"
    if [ ! -f "$stamp" ]; then
      command -v npm >/dev/null || { echo "tools.sh: npm is required (Debian: apt-get install npm)" >&2; exit 2; }
      echo "installing @octokit/openapi@$OCTOKIT_OPENAPI @octokit/webhooks-examples@$OCTOKIT_WEBHOOKS_EXAMPLES into $dir" >&2
      rm -rf "$dir" && mkdir -p "$dir"
      npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "@octokit/openapi@$OCTOKIT_OPENAPI" "@octokit/webhooks-examples@$OCTOKIT_WEBHOOKS_EXAMPLES" >&2
      touch "$stamp"
    fi
    echo "$PWD/$dir/node_modules/@octokit"
    ;;
  check-jsonschema)
    venv="$tools/venv"
    if [ ! -x "$venv/bin/check-jsonschema" ] || ! "$venv/bin/check-jsonschema" --version 2>/dev/null | grep -q "$CHECK_JSONSCHEMA"; then
      command -v python3 >/dev/null || { echo "tools.sh: python3 is required" >&2; exit 2; }
      echo "installing check-jsonschema==$CHECK_JSONSCHEMA into $venv" >&2
      rm -rf "$venv"
      python3 -m venv "$venv" >&2
      "$venv/bin/pip" install --quiet --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA" >&2
    fi
    echo "$PWD/$venv/bin/check-jsonschema"
    ;;
  groovy)
    # Debian's groovy finds Java through /usr/lib/jvm/default-java, which only
    # default-jre-headless provides (a JRE alone satisfies the package's
    # dependencies): install both unless groovy already runs.
    if ! groovy --version >/dev/null 2>&1; then
      apt_install groovy "install Groovy 2.4+ and put it on PATH" groovy default-jre-headless
      groovy --version >&2 || { echo "tools.sh: groovy was installed but does not run (JAVA_HOME=${JAVA_HOME:-})" >&2; exit 2; }
    fi
    command -v groovy
    ;;
  docker-registry)
    # Debian's package of the CNCF distribution registry (2.8): the tests
    # start it themselves, on a free port, with a config in a tempdir
    registry=/usr/bin/docker-registry
    if [ ! -x "$registry" ]; then
      # the package's service is not wanted: the tests run their own registry
      apt_install docker-registry "install the CNCF distribution registry (2.8+) as /usr/bin/docker-registry" docker-registry
      [ -x "$registry" ] || { echo "tools.sh: docker-registry was installed but $registry is missing" >&2; exit 2; }
    fi
    echo "$registry"
    ;;
  postgresql)
    # Debian puts the server binaries under /usr/lib/postgresql/VERSION/bin,
    # off PATH; the newest version present is used.
    find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r d; do [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && echo "$d"; done | tail -n 1; }
    bin="$(find_bin)"
    if [ -z "$bin" ]; then
      # tests do not use the cluster the package may create: they start their own servers
      apt_install postgresql "install PostgreSQL 13+ server binaries under /usr/lib/postgresql/VERSION/bin" postgresql
      bin="$(find_bin)"
      [ -n "$bin" ] || { echo "tools.sh: postgresql was installed but no /usr/lib/postgresql/*/bin/initdb was found" >&2; exit 2; }
    fi
    echo "$bin"
    ;;
  chromium)
    # Debian's chromium package (no browser build is downloaded: the test
    # drives this binary with --headless); the newest on PATH is used
    find_chromium() { command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true; }
    bin="$(find_chromium)"
    if [ -z "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
      apt_install chromium "install Chromium and put chromium on PATH" chromium fonts-dejavu-core
      bin="$(find_chromium)"
      [ -n "$bin" ] && "$bin" --version >&2 || { echo "tools.sh: chromium was installed but does not run" >&2; exit 2; }
    fi
    echo "$bin"
    ;;
  cargo-deny)
    root="$tools/cargo-deny"
    if ! "$root/bin/cargo-deny" --version 2>/dev/null | grep -q "$CARGO_DENY"; then
      echo "installing cargo-deny $CARGO_DENY into $root (cargo install --locked)" >&2
      cargo install --locked --quiet --version "$CARGO_DENY" --root "$root" cargo-deny >&2
    fi
    echo "$PWD/$root/bin/cargo-deny"
    ;;
  *)
    echo "usage: scripts/tools.sh octokit|check-jsonschema|groovy|docker-registry|postgresql|chromium|cargo-deny" >&2
    exit 2
    ;;
esac
