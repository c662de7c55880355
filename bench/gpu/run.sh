#!/usr/bin/env bash
# Runs seisdec's kernel and training benches and the PyTorch eager reference on a GPU host that
# has no network, from the files bench/gpu/prepare.sh packed into .gpu/ (see ../shared/GPU.md).
# Results go to bench/results/ and, when the device tool's $OUT is set, are copied there.
#
#   bash bench/gpu/run.sh              # on the GPU host, from the repository root
#   SEISDEC_GPU_STEPS=info,sweep bash bench/gpu/run.sh   # only these steps
#
# Steps (SEISDEC_GPU_STEPS, comma-separated; default info,kernels,train,ab,torch,report):
#   info     the adapter, its limits and features (cli.ts info), and a first compile of all kernels
#   anatomy  bench/gpu/anatomy.ts (host recording, read-back and burst time of a training step)
#   kernels  bench/kernels_bench.ts (roofline)
#   train    bench/train_bench.ts (training step and inference, per-kernel GPU time)
#   torch    bench/pytorch_autoencoder.py (PyTorch eager on the same GPU)
#   ab       bench/gpu/sweep.sh over bench/gpu/ab.txt: packed-weight cache on and off, alternating
#   sweep    bench/gpu/sweep.sh over bench/gpu/tunings.txt (one JSON line per tuning)
#   report   bench/report.ts (bench/results/REPORT.md)
# Environment: VK_DRIVER_FILES (default: NVIDIA's ICD where it exists), SEISDEC_BENCH_BATCHES
# (default 64,256). Under the device tool, bench/results and the log go to $OUT as one tarball
# (it returns at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/../.."
log() { echo "gpu-run: $*"; }
fail() { status=1; log "step $1 failed"; }

steps=",${SEISDEC_GPU_STEPS:-info,kernels,train,ab,torch,report},"
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
if want info; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
  "$DENO" run "${flags[@]}" cli.ts info || fail info
  "$DENO" run "${flags[@]}" cli.ts info --kernels || fail "info --kernels"
fi
export SEISDEC_BENCH_BATCHES="${SEISDEC_BENCH_BATCHES:-64,256}"
if want anatomy; then "$DENO" run "${flags[@]}" bench/gpu/anatomy.ts "$SEISDEC_BENCH_BATCHES" || fail anatomy; fi
if want sweep; then bash bench/gpu/sweep.sh bench/gpu/tunings.txt "$SEISDEC_BENCH_BATCHES" "$DENO" | tee /tmp/seisdec-sweep.jsonl; fi
if want train; then "$DENO" bench "${flags[@]}" bench/train_bench.ts || fail train; fi
if want ab; then bash bench/gpu/sweep.sh bench/gpu/ab.txt "$SEISDEC_BENCH_BATCHES" "$DENO" | tee /tmp/seisdec-ab.jsonl; fi

if want torch; then
  if python3 -c 'import torch' 2>/dev/null; then
    name=$(python3 -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")')
    slug=$(echo "$name" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
    python3 bench/pytorch_autoencoder.py --out "bench/results/pytorch-$slug.json" || fail torch
  else
    log "no PyTorch here: skipped bench/pytorch_autoencoder.py"
  fi
fi
if want kernels; then "$DENO" bench "${flags[@]}" bench/kernels_bench.ts || fail kernels; fi
if want report; then "$DENO" run "${flags[@]}" bench/report.ts || fail report; fi

if [ -n "${OUT:-}" ]; then
  [ -e /tmp/seisdec-sweep.jsonl ] && cp /tmp/seisdec-sweep.jsonl bench/results/sweep.jsonl
  [ -e /tmp/seisdec-ab.jsonl ] && cp /tmp/seisdec-ab.jsonl bench/results/ab-pack.jsonl
  tar -C bench -czf "$OUT/results.tar.gz" results && log "bench/results packed into \$OUT/results.tar.gz"
fi
exit $status
