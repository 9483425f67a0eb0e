#!/usr/bin/env bash
# A Vulkan driver for the WebGPU tests on a CPU: Mesa's lavapipe, version 25 from Debian bookworm-backports (the
# stock bookworm Mesa 22.3 is too old: Dawn rejects its adapter). Idempotent: adds bookworm-backports to apt's
# sources only if no source lists it, installs only what is missing. Needs root (CI runs as root) and Debian's
# package mirror. `.ci/run` calls it; run it by hand on a machine where the WebGPU tests say no adapter was found.
set -euo pipefail

if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.' && [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
  echo "install-vulkan: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe is already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-vulkan: needs root (apt-get install); run it as root or with sudo" >&2
  exit 1
fi
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "install-vulkan: written for Debian bookworm, this is ${PRETTY_NAME:-unknown}; install Mesa >= 25's lavapipe (mesa-vulkan-drivers) and libvulkan1 yourself" >&2
  exit 1
fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
echo "install-vulkan: installed Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe"
