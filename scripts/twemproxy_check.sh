#!/usr/bin/env bash
# twemproxy_check.sh — three servers behind twemproxy (nutcracker), ketama sharding.
#
# Usage: scripts/twemproxy_check.sh [SERVER_CMD]
#   SERVER_CMD  command template ({port}, {dir}); default
#               target/release/slowpoke --port {port} --bind 127.0.0.1 --dir {dir}
#               `redis` runs Debian's redis-server (AOF on) as the oracle.
# Env: KEYS_N (default 10000), KEEP=1 keeps logs and data.
#
# Installs nutcracker with apt-get if it is missing (never as a running service),
# starts three servers and a nutcracker on loopback (hash fnv1a_64, distribution
# ketama, redis: true, auto_eject_hosts: false; stats port on 127.0.0.1 too), then:
#   - writes KEYS_N keys through the proxy and reads every one back;
#   - each shard holds more than 10% of the keys and the DBSIZEs add up to KEYS_N;
#   - the keys on shard 2 (listed with SCAN on the shard itself) are restarted with
#     it (SIGTERM, start again on the same port and directory) and are then still
#     served through the proxy with the right values; new writes still work.
# Prints PASS/FAIL per check and "N passed, N failed"; exit 1 on any failure.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-} in -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
[ $# -le 1 ] || { echo "usage: $0 [SERVER_CMD]" >&2; exit 2; }
TEMPLATE=$(resolve_server_cmd "${1:-}")
N=${KEYS_N:-10000}
for t in redis-cli python3 ss setsid timeout; do
  command -v $t >/dev/null || { echo "twemproxy_check: $t not found (run scripts/install_deps.sh)" >&2; exit 2; }
done
if ! command -v nutcracker >/dev/null; then
  echo "# installing nutcracker (apt-get)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 $SUDO apt-get install -y -qq --no-install-recommends nutcracker >/dev/null 2>&1 \
    || { timeout 300 $SUDO apt-get update -qq && timeout 300 $SUDO apt-get install -y -qq --no-install-recommends nutcracker; }
  # The package may start a system service: this check runs its own nutcracker only.
  if service nutcracker status >/dev/null 2>&1; then $SUDO service nutcracker stop || true; fi
fi
LOAD_PY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/proxy_load.py"
load() {  # SECONDS ARGS...: proxy_load.py through the proxy, bounded
  local secs=$1; shift
  timeout "$secs" python3 "$LOAD_PY" --port "$PPORT" "$@" 2>&1
}
# run_check NAME COMMAND...: PASS if the command succeeds, else FAIL with its output
run_check() {
  local name=$1 out; shift
  if out=$("$@"); then pass "$name"; else fail "$name" "$out"; fi
}

lib_init twemproxy_check 600
echo "# twemproxy_check: $(nutcracker --version 2>&1 | head -1); server: $TEMPLATE"
for s in s1 s2 s3; do start_server "$s" "$TEMPLATE" || exit 2; done

free_port; PPORT=$FREE_PORT; free_port; STATS=$FREE_PORT
CONF=$WORK/nutcracker.yml
cat >"$CONF" <<EOF
slowpoke:
  listen: 127.0.0.1:$PPORT
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  timeout: 5000
  preconnect: false
  servers:
   - 127.0.0.1:${SRV_PORT[s1]}:1 s1
   - 127.0.0.1:${SRV_PORT[s2]}:1 s2
   - 127.0.0.1:${SRV_PORT[s3]}:1 s3
EOF
timeout 10 nutcracker -t -c "$CONF" >/dev/null 2>&1 || { echo "twemproxy_check: bad config"; cat "$CONF"; exit 2; }
start_server proxy "nutcracker -c $CONF -s $STATS -a 127.0.0.1 -o $WORK/nutcracker.out" "$PPORT" || exit 2
echo "# shards on ports ${SRV_PORT[s1]} ${SRV_PORT[s2]} ${SRV_PORT[s3]}, nutcracker on $PPORT (stats $STATS)"

run_check "write $N keys through the proxy" load 120 set --count "$N"
run_check "read $N keys back through the proxy" load 120 get --count "$N"

sum=0; sizes=""
for s in s1 s2 s3; do
  d=$(rcli "$s" DBSIZE 2>&1 || true)
  [[ $d =~ ^[0-9]+$ ]] || d=0
  sizes+="$s=$d "; sum=$((sum + d))
  if [ "$d" -gt $((N / 10)) ]; then pass "shard $s holds a share ($d keys)"
  else fail "shard $s holds a share" "DBSIZE $d, expected more than $((N / 10))"; fi
done
check "DBSIZE of the shards adds up ($sizes)" "$N" "$sum"

# Keys of shard 2, as the shard itself lists them.
timeout 60 redis-cli -h 127.0.0.1 -p "${SRV_PORT[s2]}" --scan >"$WORK/s2.keys" 2>&1 || true
n2=$(wc -l <"$WORK/s2.keys")
check "SCAN on shard s2 lists its DBSIZE keys" "$(rcli s2 DBSIZE)" "$n2"

rc=0; restart_server s2 || rc=$?
case $rc in
  0) pass "shard s2 stops on SIGTERM and starts again on the same directory" ;;
  1) fail "shard s2 stops on SIGTERM within 30 s" "it needed SIGKILL" ;;
  *) fail "shard s2 starts again on the same directory" "$(tail -20 "$WORK/s2.log")"; summary; exit 1 ;;
esac
check "shard s2 DBSIZE after restart" "$n2" "$(rcli s2 DBSIZE)"
# nutcracker finds the old connection closed and reconnects on the next request;
# give it a few tries (bounded) before judging.
ok=0
for ((i = 0; i < 50; i++)); do
  if load 10 get --keys "$WORK/s2.keys" >"$WORK/s2.get"; then ok=1; break; fi
  sleep 0.2
done
if [ "$ok" = 1 ]; then pass "the $n2 keys of the restarted shard are served through the proxy ($((i + 1)) tries)"
else fail "the $n2 keys of the restarted shard are served through the proxy" "$(cat "$WORK/s2.get")"; fi
run_check "all $N keys still read back through the proxy" load 120 get --count "$N"
run_check "new writes through the proxy after the restart (write)" load 60 set --count 1000 --prefix tw2:
run_check "new writes through the proxy after the restart (read)" load 60 get --count 1000 --prefix tw2:
check "proxy PING" "PONG" "$(rcli proxy PING 2>&1 || true)"

summary
