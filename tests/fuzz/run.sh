#!/usr/bin/env bash
# Runs every fuzz target (or the one named) for SECONDS each on a scratch copy of its seed
# corpus; new inputs stay in the scratch copy. Fails on the first crash or sanitizer report.
# FUZZ_SEED (make test's smoke runs set 1) fixes the mutation sequence, so that a smoke run
# repeats what earlier runs explored instead of wandering; `make fuzz` leaves it random.
# usage: tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS [TARGET]
set -euo pipefail
bin_dir=$1
seconds=$2
only=${3:-}
corpus_root="$(cd "$(dirname "$0")" && pwd)/corpus"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for seeds in "$corpus_root"/*/; do
  name=$(basename "$seeds")
  [[ -z "$only" || "$only" == "$name" ]] || continue
  target="$bin_dir/fuzz_$name"
  [[ -x "$target" ]] || { echo "missing fuzz target $target" >&2; exit 1; }
  mkdir -p "$scratch/$name"
  echo "fuzz_$name: ${seconds}s"
  "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
    -artifact_prefix="$scratch/" "$scratch/$name" "$seeds" 2>&1 | tail -n 12
done
