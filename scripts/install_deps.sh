#!/usr/bin/env bash
# Installs what the CLI and interop checks need. Never leaves a Redis or a
# twemproxy running as a system service: the checks start their own on free
# loopback ports.
#
# Usage: scripts/install_deps.sh [--interop]
#   (no option)  redis-tools (redis-cli), for scripts/cli_check.sh, and redis-server,
#                which tests/hostile_input.rs compares against (`make test`; a test
#                that cannot run fails unless SLOWPOKE_ALLOW_SKIP=1)
#   --interop    also nutcracker (twemproxy_check.sh), node and npm
#                (client_matrix.sh installs the client libraries itself, under .cache/)
set -euo pipefail
INTEROP=0
case ${1:-} in
  --interop) INTEROP=1 ;;
  "") ;;
  *) echo "usage: $0 [--interop]" >&2; exit 2 ;;
esac

need=()
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ "$INTEROP" = 1 ]; then
  command -v nutcracker >/dev/null 2>&1 || need+=(nutcracker)
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 $SUDO apt-get update -qq
  # policy-rc.d (where present) keeps the packages from starting services.
  timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  # Where nothing prevented it, stop the services these packages just started.
  for svc in redis-server nutcracker; do
    if [[ " ${need[*]} " == *" $svc "* ]] && service "$svc" status >/dev/null 2>&1; then
      $SUDO service "$svc" stop || true
    fi
  done
fi
