# Shared by bench/run.sh and bench/peers.sh (sourced, from the repository root).

# The CPU model, for the table's first line (empty when unknown).
bench_cpu_model() {
  grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true
}

# bench_corpus N SEED: generates bench/corpus-N (deterministic for SEED) when
# it does not exist yet; sets `corpus` to its path and `files` to its count
# of YAML files.
bench_corpus() {
  corpus=bench/corpus-$1
  if [ ! -d "$corpus" ]; then
    echo "==> generating $corpus" >&2
    python3 bench/gen_corpus.py --files "$1" --seed "$2" --out "$corpus" >&2
  fi
  files=$(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' \) | wc -l | tr -d ' ')
}
