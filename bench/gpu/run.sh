#!/usr/bin/env bash
# Runs seisdec's kernel and training benches and the PyTorch eager reference on a GPU host that
# has no network, from the files bench/gpu/prepare.sh packed into .gpu/ (see ../shared/GPU.md).
# Results go to bench/results/ and, when the device tool's $OUT is set, are copied there.
#
#   bash bench/gpu/run.sh              # on the GPU host, from the repository root
#   SEISDEC_GPU_SKIP_TORCH=1 bash bench/gpu/run.sh   # WebGPU benches only
#
# Environment: VK_DRIVER_FILES (default: NVIDIA's ICD where it exists), SEISDEC_BENCH_BATCHES
# (default 64,256).
set -uo pipefail
cd "$(dirname "$0")/../.."
log() { echo "gpu-run: $*"; }

# Vulkan loader from the packed .deb, where the host lacks one.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  for f in .gpu/libvulkan1_*.deb; do
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
"$DENO" run "${flags[@]}" cli.ts info || status=1
export SEISDEC_BENCH_BATCHES="${SEISDEC_BENCH_BATCHES:-64,256}"
"$DENO" bench "${flags[@]}" bench/kernels_bench.ts bench/train_bench.ts || status=1

if [ -z "${SEISDEC_GPU_SKIP_TORCH:-}" ]; then
  if python3 -c 'import torch' 2>/dev/null; then
    name=$(python3 -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")')
    slug=$(echo "$name" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
    python3 bench/pytorch_autoencoder.py --out "bench/results/pytorch-$slug.json" || status=1
  else
    log "no PyTorch here: skipped bench/pytorch_autoencoder.py"
  fi
fi
"$DENO" run "${flags[@]}" bench/report.ts || status=1

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/results" && cp bench/results/* "$OUT/results/" && log "results copied to \$OUT/results"
fi
exit $status
