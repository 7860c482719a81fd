#!/usr/bin/env bash
# client_matrix.sh — the popular client libraries against a RESP server.
#
# Usage: scripts/client_matrix.sh [--no-install] [--upgrade] [SERVER_CMD]
#   SERVER_CMD    command template ({port}, {dir}); default
#                 target/release/slowpoke --port {port} --bind 127.0.0.1 --dir {dir}
#                 `redis` runs Debian's redis-server as the oracle.
#   --no-install  use the clients already in the cache, install nothing
#   --upgrade     reinstall the latest client versions now (otherwise at most once a day)
# Env: CLIENTS_CACHE (default .cache/clients in the repo, ignored by git), KEEP=1.
#
# Installs the latest redis-py into a venv and ioredis + node-redis (npm `redis`)
# into node_modules under the cache, starts one server, then runs
#   scripts/clients/redispy_check.py --protocol 2 and --protocol 3,
#   scripts/clients/ioredis_check.js and scripts/clients/node_redis_check.js (default options)
# each bounded by a timeout. Each checks: connect handshake, SET/GET/DEL, pipelines,
# MULTI/EXEC, a WATCH conflict that is retried, SCAN iteration over 1,000 keys,
# expiry, error texts, HELLO 3 fields (RESP3 clients), INFO parsing, CONFIG GET.
# Prints client versions, PASS/FAIL per check, "N passed, N failed"; exit 1 on failure.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INSTALL=1; UPGRADE=0; POS=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-install) INSTALL=0; shift ;;
    --upgrade) UPGRADE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "client_matrix: unknown option $1" >&2; exit 2 ;;
    *) POS+=("$1"); shift ;;
  esac
done
[ ${#POS[@]} -le 1 ] || { echo "usage: $0 [--no-install] [--upgrade] [SERVER_CMD]" >&2; exit 2; }
TEMPLATE=$(resolve_server_cmd "${POS[0]:-}")
for t in redis-cli python3 node npm ss setsid timeout; do
  command -v $t >/dev/null || { echo "client_matrix: $t not found (run scripts/install_deps.sh)" >&2; exit 2; }
done

CACHE=${CLIENTS_CACHE:-$REPO_ROOT/.cache/clients}
mkdir -p "$CACHE"
# Nothing under the default cache goes into git (.gitignore is not ours to edit).
[ -n "${CLIENTS_CACHE:-}" ] || [ -f "$REPO_ROOT/.cache/.gitignore" ] || echo '*' >"$REPO_ROOT/.cache/.gitignore"
VENV=$CACHE/venv; NODE_DIR=$CACHE/node

install_clients() {
  local stamp=$CACHE/installed.stamp fresh=0
  if [ -f "$stamp" ] && [ -x "$VENV/bin/python" ] && [ -d "$NODE_DIR/node_modules/ioredis" ] \
     && [ -d "$NODE_DIR/node_modules/redis" ] && [ -z "$(find "$stamp" -mmin +1440)" ]; then fresh=1; fi
  [ "$UPGRADE" = 0 ] && [ "$fresh" = 1 ] && return 0
  echo "# installing the latest clients into $CACHE"
  [ -x "$VENV/bin/python" ] || timeout 120 python3 -m venv "$VENV"
  timeout 300 "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade redis
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private": true, "description": "client_matrix.sh cache"}' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && timeout 300 npm install --no-audit --no-fund --loglevel=error ioredis@latest redis@latest) 2>&1 \
    | grep -v 'Unknown user config' || true
  if [ ! -d "$NODE_DIR/node_modules/ioredis" ] || [ ! -d "$NODE_DIR/node_modules/redis" ]; then
    echo "client_matrix: npm install failed" >&2; return 1
  fi
  touch "$stamp"
}
if [ "$INSTALL" = 1 ]; then install_clients || exit 2; fi
[ -x "$VENV/bin/python" ] || { echo "client_matrix: no venv at $VENV (run without --no-install)" >&2; exit 2; }

lib_init client_matrix 900
echo "# client_matrix: server: $TEMPLATE"
echo "# python $("$VENV/bin/python" -c 'import sys, redis; print(sys.version.split()[0], "redis-py", redis.__version__)')," \
     "node $(node --version), ioredis $(node -p "require('$NODE_DIR/node_modules/ioredis/package.json').version")," \
     "node-redis $(node -p "require('$NODE_DIR/node_modules/redis/package.json').version")"
start_server sut "$TEMPLATE" || exit 2
PORT=${SRV_PORT[sut]}
echo "# server on 127.0.0.1:$PORT"
CLIENTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/clients" && pwd)

run_client() {  # name command...: runs it with a deadline, counts its PASS/FAIL lines
  local name=$1 out rc=0; shift
  echo "## $name"
  out=$(timeout 180 "$@" 2>&1) || rc=$?
  printf '%s\n' "$out"
  local p f
  p=$(grep -c '^PASS ' <<<"$out" || true); f=$(grep -c '^FAIL ' <<<"$out" || true)
  N_PASS=$((N_PASS + p)); N_FAIL=$((N_FAIL + f))
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then fail "$name exited with status $rc"; fi
  [ "$rc" = 0 ] || FAILED_NAMES+=("$name")
}
run_client "redis-py RESP2" "$VENV/bin/python" "$CLIENTS/redispy_check.py" --port "$PORT" --protocol 2
run_client "redis-py RESP3" "$VENV/bin/python" "$CLIENTS/redispy_check.py" --port "$PORT" --protocol 3
run_client "ioredis" env NODE_PATH="$NODE_DIR/node_modules" node "$CLIENTS/ioredis_check.js" --port "$PORT"
run_client "node-redis" env NODE_PATH="$NODE_DIR/node_modules" node "$CLIENTS/node_redis_check.js" --port "$PORT"
summary
