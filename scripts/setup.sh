#!/usr/bin/env bash
# setup.sh - installs every Debian package Corral needs to build, test and run
# (Debian 12). Runs apt-get as root (or through sudo when not root).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev libjansson-dev libmsgpack-dev libsqlite3-dev libhiredis-dev
  libnats-dev nats-server redis-server libmicrohttpd-dev libyaml-dev
  clang-14 lld-14 libclang-rt-14-dev libclang-rt-14-dev-wasm32 wasi-libc wabt
  valgrind curl wrk nodejs npm
  chromium # tests/ui: the corral ui dashboard in headless Chromium (playwright-core, no chromedriver)
)
missing=()
for p in "${PKGS[@]}"; do
  [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue # nodesource nodejs bundles npm
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all ${#PKGS[@]} packages present"
