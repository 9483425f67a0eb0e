#!/usr/bin/env bash
# Chromium for the browser test (test/webgpu/browser.test.ts runs the generated WebGPU module in headless Chromium through
# playwright-core): Debian's own package, so no browser is downloaded by npm. Idempotent; needs root (CI runs as
# root) and Debian's package mirror. `.ci/run` calls it; run it by hand where the browser test says Chromium is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: needs root (apt-get install); run it as root or with sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
