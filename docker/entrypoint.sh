#!/bin/bash
# Entrypoint of the Slowpoke image.
#   docker run slowpoke                      -> slowpoke <default flags from CMD>
#   docker run slowpoke --port 7000 ...      -> slowpoke --port 7000 ...
#   docker run slowpoke /data/slowpoke.conf  -> slowpoke /data/slowpoke.conf (config file first)
#   docker run slowpoke check /data          -> slowpoke check /data (offline verification)
#   docker run slowpoke bash                 -> bash
# When SLOWPOKE_PASSWORD is set and the server is started, --requirepass is added
# (do not pass --requirepass as well: a flag may be given once).
set -euo pipefail

case ${1:-} in
  -* | *.conf | check) set -- slowpoke "$@" ;;
esac

if [ "${1:-}" = slowpoke ] && [ "${2:-}" != check ] && [ -n "${SLOWPOKE_PASSWORD:-}" ]; then
  set -- "$@" --requirepass "$SLOWPOKE_PASSWORD"
fi

# exec: the server is PID 1 and gets docker stop's SIGTERM (it shuts down cleanly on it).
exec "$@"
