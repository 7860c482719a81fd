#!/usr/bin/env bash
# Installs what the CLI and interop checks need (Debian's redis-tools for
# redis-cli). Never starts a Redis as a system service.
set -euo pipefail
need=()
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps the package from starting a service.
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
