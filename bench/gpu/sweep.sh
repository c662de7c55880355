#!/usr/bin/env bash
# A tuning sweep on the adapter at hand: bench/gpu/tune.ts once per line of a tunings file
# (JSON objects of lib/gpu/kernels.ts's Tuning fields, "{}" = the adapter's default; lines
# starting with # are skipped). Prints one JSON line per tuning.
#
#   bash bench/gpu/sweep.sh bench/gpu/tunings.txt [batches] [deno binary]
set -uo pipefail
cd "$(dirname "$0")/../.."
file=${1:-bench/gpu/tunings.txt}
batches=${2:-64,256}
DENO=${3:-deno}
flags=(-A)
[ -d node_modules/zod ] && [ "$DENO" != deno ] && flags=(--node-modules-dir=manual -A)
# SEISDEC_SWEEP_DEADLINE (epoch seconds, set by run.sh): no new line starts after it.
while IFS= read -r t; do
  case "$t" in '' | '#'*) continue ;; esac
  if [ -n "${SEISDEC_SWEEP_DEADLINE:-}" ] && (( $(date +%s) > SEISDEC_SWEEP_DEADLINE )); then
    echo "{\"tuning\": $(printf '%s' "$t" | sed 's/"/\\"/g; s/^/"/; s/$/"/'), \"error\": \"skipped: past the deadline\"}"
    continue
  fi
  SEISDEC_TUNING="$t" timeout 120 "$DENO" run "${flags[@]}" bench/gpu/tune.ts "$batches" ||
    echo "{\"tuning\": $(printf '%s' "$t" | sed 's/"/\\"/g; s/^/"/; s/$/"/'), \"error\": \"exit $?\"}"
done < "$file"
