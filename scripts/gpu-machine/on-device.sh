#!/usr/bin/env bash
# On the GPU machine (NVIDIA driver, no Node, no npm, no Vulkan loader): unpacks what prepare.sh put in .gpu/,
# points Vulkan at the NVIDIA driver, then runs "$@" with node on PATH and `webgpu` importable.
#   bash scripts/gpu-machine/on-device.sh node .gpu/bench/run.mjs
set -euo pipefail
for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /opt/gpu/bin /opt/gpu/node_modules
xz -dc .gpu/node.xz > /opt/gpu/bin/node && chmod +x /opt/gpu/bin/node
tar -C /opt/gpu/node_modules -xJf .gpu/webgpu.tar.xz
mkdir -p node_modules && { [ -e node_modules/webgpu ] || ln -s /opt/gpu/node_modules/webgpu node_modules/webgpu; }
export PATH=/opt/gpu/bin:$PATH
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
exec "$@"
