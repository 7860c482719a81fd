# shellcheck shell=bash
# lib.sh — helpers shared by the interop scripts (source it; it runs nothing itself).
#
# Servers are given as command templates, like /work/shared/bench/compare_redis.sh:
# `{port}` and `{dir}` are replaced by a free loopback port and a data directory.
# The word `redis` stands for Debian's redis-server as the oracle (AOF on, so a
# restart keeps data):
#   redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --save '' --daemonize no
#
#   lib_init NAME [MAX_SECONDS]   temp dir $WORK (logs, data), EXIT trap that stops
#                                 every server started here, and a watchdog that
#                                 SIGTERMs the script after MAX_SECONDS (default 600)
#   free_port                     sets FREE_PORT (nobody listens there, not handed out before)
#   start_server NAME TEMPLATE [PORT [DIR]]
#                                 start in its own process group, output in $WORK/NAME.log,
#                                 wait (deadline $READY_TIMEOUT s) until it answers PING;
#                                 sets SRV_PORT[NAME], SRV_DIR[NAME], SRV_PID[NAME]
#   stop_server NAME [SECONDS]    SIGTERM, wait up to SECONDS (default 30), then SIGKILL;
#                                 returns 1 if SIGKILL was needed
#   restart_server NAME           stop_server, then start_server on the same port and dir
#   rcli NAME ARGS...             redis-cli (bounded by a timeout) against server NAME
#   is_slowpoke NAME              true when `INFO server` has a slowpoke_version field
#   pass/fail/skip NAME [DETAIL], check NAME EXPECTED ACTUAL, summary
#                                 PASS/FAIL lines and the closing "N passed, N failed" line

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/.." && pwd)
DEFAULT_SERVER_CMD="$REPO_ROOT/target/release/slowpoke --port {port} --bind 127.0.0.1 --dir {dir}"
REDIS_ORACLE_CMD="redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --save '' --daemonize no"
READY_TIMEOUT=${READY_TIMEOUT:-60}
CLI_TIMEOUT=${CLI_TIMEOUT:-20}

declare -A SRV_PORT=() SRV_DIR=() SRV_PID=() SRV_TEMPLATE=()
WORK=""; LIB_NAME=""; WATCHDOG=""; USED_PORTS=""
N_PASS=0; N_FAIL=0; N_SKIP=0; FAILED_NAMES=()

# resolve_server_cmd TEMPLATE: prints the template to use (`redis` -> the oracle, empty -> default).
resolve_server_cmd() {
  case ${1:-} in
    "") echo "$DEFAULT_SERVER_CMD" ;;
    redis) echo "$REDIS_ORACLE_CMD" ;;
    *) echo "$1" ;;
  esac
}

lib_init() {
  LIB_NAME=$1
  local max=${2:-600}
  WORK=$(mktemp -d -t "$LIB_NAME.XXXXXX")
  trap lib_cleanup EXIT
  trap 'exit 130' INT
  trap 'echo "$LIB_NAME: stopped by SIGTERM" >&2; exit 143' TERM
  # The watchdog gets its own process group so cleanup can end it with its sleep.
  setsid bash -c "sleep $max; echo '$LIB_NAME: gave up after ${max}s (watchdog)' >&2; kill -TERM $$" \
    </dev/null >&2 &
  WATCHDOG=$!
}

lib_cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  for n in "${!SRV_PID[@]}"; do stop_server "$n" 10 || true; done
  [ -n "$WATCHDOG" ] && { kill -TERM -- "-$WATCHDOG" 2>/dev/null || kill -TERM "$WATCHDOG" 2>/dev/null || true; }
  if [ -n "$WORK" ]; then
    if [ "$rc" != 0 ] && [ -n "${CI:-}" ]; then  # CI keeps no files: show the server logs
      for n in "$WORK"/*.log; do [ -f "$n" ] && { echo "# --- tail of $(basename "$n")"; tail -30 "$n"; }; done >&2
    fi
    if [ "${KEEP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ -z "${CI:-}" ]; }; then
      echo "# $LIB_NAME: logs and data kept in $WORK" >&2
    else
      rm -rf -- "$WORK"
    fi
  fi
  exit "$rc"
}

# Ports come from below the kernel's ephemeral range (where outgoing connections
# take theirs), and a port is free only if no socket of any state uses it:
# some servers (nutcracker's stats port) bind without SO_REUSEADDR.
free_port() {
  local p i lo hi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { lo=32768; hi=60999; }
  for ((i = 0; i < 500; i++)); do
    if [ "$lo" -gt 21000 ]; then p=$((20000 + RANDOM % (lo - 20000))); else p=$((hi + 1 + RANDOM % (65535 - hi))); fi
    [[ "$USED_PORTS " == *" $p "* ]] && continue
    if [ -z "$(ss -tanH "( sport = :$p or dport = :$p )" 2>/dev/null)" ]; then
      USED_PORTS="$USED_PORTS $p"; FREE_PORT=$p; return 0
    fi
  done
  echo "$LIB_NAME: no free port found" >&2; return 1
}

expand_cmd() {  # TEMPLATE PORT DIR
  local c=${1//\{port\}/$2}
  echo "${c//\{dir\}/$3}"
}

# wait_ping PORT PID SECONDS LOG: 0 when PONG, 1 on deadline or when PID died.
wait_ping() {
  local port=$1 pid=$2 secs=$3 log=$4 r="" i
  for ((i = 0; i < secs * 10; i++)); do
    r=$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null || true)
    [ "$r" = PONG ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$LIB_NAME: server on port $port exited during start; last output:" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$LIB_NAME: server on port $port did not answer PING within ${secs}s (last: '$r')" >&2
  tail -20 "$log" >&2
  return 1
}

start_server() {  # NAME TEMPLATE [PORT [DIR]]
  local name=$1 template=$2 port=${3:-} dir=${4:-} cmd pid
  if [ -z "$port" ]; then free_port || return 1; port=$FREE_PORT; fi
  [ -n "$dir" ] || dir="$WORK/$name-data"
  mkdir -p "$dir"
  cmd=$(expand_cmd "$template" "$port" "$dir")
  echo "# start $name: $cmd" >>"$WORK/$name.log"
  # exec: the recorded PID is the server itself; setsid: its own process group.
  setsid bash -c "exec $cmd" >>"$WORK/$name.log" 2>&1 </dev/null &
  pid=$!
  SRV_PORT[$name]=$port; SRV_DIR[$name]=$dir; SRV_PID[$name]=$pid; SRV_TEMPLATE[$name]=$template
  if ! wait_ping "$port" "$pid" "$READY_TIMEOUT" "$WORK/$name.log"; then
    stop_server "$name" 5 || true
    return 1
  fi
}

stop_server() {  # NAME [SECONDS]
  local name=$1 secs=${2:-30} pid=${SRV_PID[$1]:-} i rc=0
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$LIB_NAME: $name did not exit ${secs}s after SIGTERM; sending SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    rc=1
  fi
  wait "$pid" 2>/dev/null || true
  unset "SRV_PID[$name]"
  return $rc
}

restart_server() {  # NAME: same port, same dir
  local name=$1 rc=0
  stop_server "$name" || rc=1
  start_server "$name" "${SRV_TEMPLATE[$name]}" "${SRV_PORT[$name]}" "${SRV_DIR[$name]}" || return 2
  return $rc
}

rcli() {  # NAME ARGS...
  local name=$1; shift
  timeout "$CLI_TIMEOUT" redis-cli -h 127.0.0.1 -p "${SRV_PORT[$name]}" "$@"
}

is_slowpoke() {
  rcli "$1" INFO server 2>/dev/null | grep -q '^slowpoke_version:'
}

pass() { N_PASS=$((N_PASS + 1)); printf 'PASS  %s\n' "$1"; }
fail() {
  N_FAIL=$((N_FAIL + 1)); FAILED_NAMES+=("$1")
  printf 'FAIL  %s\n' "$1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | head -40 | sed 's/^/      /'
}
skip() { N_SKIP=$((N_SKIP + 1)); printf 'SKIP  %s (%s)\n' "$1" "${2:-}"; }

# check NAME EXPECTED ACTUAL: exact string comparison, shows both on failure.
check() {
  if [ "$2" == "$3" ]; then pass "$1"; else
    fail "$1" "expected: $(printf '%q' "$2")
actual:   $(printf '%q' "$3")"
  fi
}

summary() {  # prints the closing line; returns 1 if anything failed
  [ ${#FAILED_NAMES[@]} -eq 0 ] || printf 'failed: %s\n' "${FAILED_NAMES[@]}"
  echo "$LIB_NAME: $N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
  [ "$N_FAIL" -eq 0 ]
}
