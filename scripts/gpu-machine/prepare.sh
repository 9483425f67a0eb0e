#!/usr/bin/env bash
# Run here, in the project's root, before lending a GPU machine its one benchmark run: builds .gpu/ (ignored by
# git, about 30 MB) holding this machine's node binary, the `webgpu` package (Dawn for Node, linux-x64), the Vulkan
# loader packages the GPU machine lacks, and .gpu/bench/run.mjs (build.ts: the runner with W1, W2, W3 and the
# 2048³ matmul generated ahead of time). Then, on the GPU machine, carrying `.gpu`:
#   bash scripts/gpu-machine/on-device.sh node .gpu/bench/run.mjs
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -d node_modules/webgpu/dist/linux-x64 ] || { echo "gpu-machine: node_modules/webgpu is missing: npm ci first" >&2; exit 1; }
rm -rf .gpu && mkdir -p .gpu/debs .gpu/pkg/webgpu/dist
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/pkg/webgpu/
cp -r node_modules/webgpu/dist/linux-x64 .gpu/pkg/webgpu/dist/
tar -C .gpu/pkg -cJf .gpu/webgpu.tar.xz webgpu && rm -rf .gpu/pkg
lists=$(mktemp -d) && mkdir -p "$lists/partial"
apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt_options[@]}" update >/dev/null 2>&1
(cd .gpu/debs && apt-get "${apt_options[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1)
npx tsx scripts/gpu-machine/build.ts
du -sh .gpu
