#!/usr/bin/env bash
# Runs every fuzz target (or the one named) for SECONDS each on a scratch copy of its seed
# corpus; fails on the first crash or sanitizer report. The environment may set:
# - FUZZ_SEED (make test's smoke runs set 1): fixes the mutation sequence, so that a smoke run
#   repeats what earlier runs explored instead of wandering; `make fuzz` leaves it random;
# - FUZZ_RUNS: stop each target after that many executions instead, or after SECONDS if that is
#   not 0 and comes first (a run to 10 million that must end by a deadline; it resumes from the
#   merged corpus);
# - FUZZ_MERGE=1: afterwards, merge the inputs that found new coverage into the seed corpus
#   (libFuzzer's -merge=1 adds only those; by edges, not hit counts, so that the committed
#   corpus stays small: hundreds of inputs per target rather than thousands);
# - FUZZ_ARTIFACTS: where a crashing input is kept (the scratch directory, removed, otherwise).
# usage: tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS [TARGET]
set -euo pipefail
bin_dir=$1
seconds=$2
only=${3:-}
corpus_root="$(cd "$(dirname "$0")" && pwd)/corpus"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=${FUZZ_ARTIFACTS:-$scratch}
mkdir -p "$artifacts"
for seeds in "$corpus_root"/*/; do
  name=$(basename "$seeds")
  [[ -z "$only" || "$only" == "$name" ]] || continue
  target="$bin_dir/fuzz_$name"
  [[ -x "$target" ]] || { echo "missing fuzz target $target" >&2; exit 1; }
  mkdir -p "$scratch/$name"
  if [[ -n "${FUZZ_RUNS:-}" ]]; then
    limit=(-runs="$FUZZ_RUNS")
    [[ "$seconds" == 0 ]] || limit+=(-max_total_time="$seconds")
    echo "fuzz_$name: $FUZZ_RUNS executions${limit[1]:+ or ${seconds}s}"
  else
    limit=(-max_total_time="$seconds")
    echo "fuzz_$name: ${seconds}s"
  fi
  "$target" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
    -artifact_prefix="$artifacts/" "$scratch/$name" "$seeds" 2>&1 | tail -n 12
  if [[ "${FUZZ_MERGE:-}" == 1 ]]; then
    "$target" -merge=1 -use_counters=0 -rss_limit_mb=2048 -timeout=10 "$seeds" "$scratch/$name" 2>&1 |
      tail -n 1
  fi
done
