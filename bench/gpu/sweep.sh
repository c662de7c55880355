#!/usr/bin/env bash
# A tuning sweep on the adapter at hand: bench/gpu/tune.ts over a tunings file (JSON objects of
# lib/gpu/kernels.ts's Tuning fields, "{}" = the adapter's default; lines starting with # are
# skipped), every tuning in one child process that switches between them. Prints one JSON line
# per tuning.
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
"$DENO" run "${flags[@]}" bench/gpu/tune.ts "$batches" "$file" ||
  echo "{\"file\": \"$file\", \"error\": \"exit $?\"}"
