#!/usr/bin/env bash
# Runs seisdec's kernel and training benches and the PyTorch eager reference on a GPU host that
# has no network, from the files bench/gpu/prepare.sh packed into .gpu/ (see ../shared/GPU.md).
# Results go to bench/results/ and, when the device tool's $OUT is set, are copied there.
#
#   bash bench/gpu/run.sh              # on the GPU host, from the repository root
#   SEISDEC_GPU_STEPS=info,sweep bash bench/gpu/run.sh   # only these steps
#
# Steps (SEISDEC_GPU_STEPS, comma-separated; default info,agree,kernels,train,ab,torch,tune,report),
# run in the order info, agree, anatomy, sweep, train, torch, kernels, ab, tune, report:
#   info     the adapter, its limits and features (cli.ts info), and a first compile of all kernels
#   agree    tests/nn/training_test.ts on this GPU: 6 Adam steps against seisdec's CPU backend and,
#            where python3 has torch, against PyTorch eager (bench/results/agree.txt)
#   anatomy  bench/gpu/anatomy.ts (host recording, read-back and burst time of a training step)
#   kernels  bench/kernels_bench.ts (roofline)
#   train    bench/train_bench.ts (training step and inference, per-kernel GPU time)
#   torch    bench/pytorch_autoencoder.py (PyTorch eager on the same GPU)
#   ab       bench/gpu/sweep.sh over bench/gpu/ab.txt: tuning A/Bs, alternating (results/ab.jsonl)
#   sweep    bench/gpu/sweep.sh over bench/gpu/tunings.txt (one JSON line per tuning)
#   tune     cli.ts tune at the bench batches, in what is left of the budget (the search and its
#            result: bench/results/tunings/<adapter slug>-<hash>.json)
#   report   bench/report.ts (bench/results/REPORT.md)
# Environment: VK_DRIVER_FILES (default: NVIDIA's ICD where it exists), SEISDEC_BENCH_BATCHES
# (default 64,256), SEISDEC_GPU_BUDGET_S (default 540: steps that would start too late are
# skipped). Under the device tool, bench/results goes to $OUT as one tarball, packed again after
# every step (it returns at most 8 files, and what is there when a command is killed).
set -uo pipefail
cd "$(dirname "$0")/../.."
log() { echo "gpu-run: $*"; }
fail() { status=1; log "step $1 failed"; }

steps=",${SEISDEC_GPU_STEPS:-info,agree,kernels,train,ab,torch,tune,report},"
want() { [[ $steps == *",$1,"* ]]; }

# Vulkan loader (and the GL dispatch libraries NVIDIA's ICD links against) from the packed
# .debs, where the host lacks them.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' ||
  ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch\.so\.0'; then
  for f in .gpu/*.deb; do
    [ -e "$f" ] && dpkg -x "$f" / && log "installed $(basename "$f")"
  done
  ldconfig 2>/dev/null || true
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$nv" ]; then export VK_DRIVER_FILES="$nv"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

# Deno and the npm packages.
DENO=/tmp/seisdec-deno
if [ ! -x "$DENO" ]; then xz -dc .gpu/deno.xz > "$DENO" && chmod +x "$DENO"; fi
if [ ! -d node_modules/zod ]; then tar -C . -xJf .gpu/node_modules.tar.xz; fi
export DENO_NO_UPDATE_CHECK=1
flags=(--node-modules-dir=manual -A)
"$DENO" --version | head -1

status=0
# A time budget for the whole run (SEISDEC_GPU_BUDGET_S, default 540 s: the device tool stops a
# command at 600 s): a step that would start with less than its reserve left is skipped, the
# sweeps start no new line past the budget, and after every step bench/results is packed into
# $OUT (what is under $OUT comes back even when the command is killed), with the log so far.
start=$SECONDS
budget=${SEISDEC_GPU_BUDGET_S:-540}
export SEISDEC_SWEEP_DEADLINE=$(( $(date +%s) + budget - 30 ))
pack() {
  [ -n "${OUT:-}" ] || return 0
  [ -e /tmp/seisdec-sweep.jsonl ] && cp /tmp/seisdec-sweep.jsonl bench/results/sweep.jsonl
  [ -e /tmp/seisdec-ab.jsonl ] && cp /tmp/seisdec-ab.jsonl bench/results/ab.jsonl
  tar -C bench -czf "$OUT/results.tar.gz.tmp" results && mv "$OUT/results.tar.gz.tmp" "$OUT/results.tar.gz"
}
# step NAME RESERVE_S COMMAND...: runs COMMAND when NAME is wanted and RESERVE_S seconds of the
# budget are left; logs its time and packs the results.
step() {
  local name=$1 reserve=$2 t0=$SECONDS
  shift 2
  want "$name" || return 0
  if (( SECONDS - start + reserve > budget )); then
    log "step $name skipped: $(( budget - SECONDS + start )) s of the budget left, it wants $reserve"
    status=1
    return 0
  fi
  "$@" || fail "$name"
  log "step $name took $(( SECONDS - t0 )) s ($(( SECONDS - start )) s in all)"
  pack
}
info() {
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
  "$DENO" run "${flags[@]}" cli.ts info && "$DENO" run "${flags[@]}" cli.ts info --kernels
}
torch_ref() {
  if python3 -c 'import torch' 2>/dev/null; then
    PYTHONUNBUFFERED=1 timeout 240 python3 bench/pytorch_autoencoder.py --out-dir bench/results
  else
    log "no PyTorch here: skipped bench/pytorch_autoencoder.py"
  fi
}
agree() {
  NO_COLOR=1 SEISDEC_TORCH_PYTHON=python3 timeout 120 "$DENO" test "${flags[@]}" tests/nn/training_test.ts 2>&1 |
    tee bench/results/agree.txt
  return "${PIPESTATUS[0]}"
}
export SEISDEC_BENCH_BATCHES="${SEISDEC_BENCH_BATCHES:-64,256}"
step info 30 info
step agree 30 agree
step anatomy 60 "$DENO" run "${flags[@]}" bench/gpu/anatomy.ts "$SEISDEC_BENCH_BATCHES"
step sweep 60 bash -c 'bash bench/gpu/sweep.sh bench/gpu/tunings.txt "$1" "$2" | tee /tmp/seisdec-sweep.jsonl' _ "$SEISDEC_BENCH_BATCHES" "$DENO"
# The figures the issue asks for first (training against PyTorch, the roofline), the A/Bs after.
step train 60 "$DENO" bench "${flags[@]}" bench/train_bench.ts
step torch 60 torch_ref
step kernels 90 "$DENO" bench "${flags[@]}" bench/kernels_bench.ts
step ab 60 bash -c 'bash bench/gpu/sweep.sh bench/gpu/ab.txt "$1" "$2" | tee /tmp/seisdec-ab.jsonl' _ "$SEISDEC_BENCH_BATCHES" "$DENO"
step tune 120 env SEISDEC_TUNING_DIR=bench/results/tunings "$DENO" run "${flags[@]}" cli.ts tune \
  --batch-size "$SEISDEC_BENCH_BATCHES" --seconds 0.5 --force --budget $(( budget - (SECONDS - start) - 90 ))
step report 10 "$DENO" run "${flags[@]}" bench/report.ts
[ -n "${OUT:-}" ] && log "bench/results packed into \$OUT/results.tar.gz"
exit $status
