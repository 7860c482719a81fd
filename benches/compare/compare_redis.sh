#!/usr/bin/env bash
# compare_redis.sh — run the server under test and Debian's redis-server side by side.
#
# Starts the server under test (from a command template) and a redis-server
# (appendonly yes, appendfsync everysec, save '') on free loopback ports, each
# in its own fresh temporary directory, then:
#   1. pair.sh: redis-benchmark throughput and latency, A = server under test,
#      B = Redis, once per pipeline depth (default -P 1 and -P 16);
#   2. rss_per_key.sh on fresh instances of both: RSS per key, DBSIZE, disk use;
#   3. restart: stop both (SIGTERM), start them again on the same directory and
#      time how long until they answer DBSIZE with every key (Redis's own AOF
#      load time from its log is printed too).
# Both servers are stopped by PID on exit (normal, error or Ctrl-C).
#
# Usage: compare_redis.sh [options] 'SERVER COMMAND'
#   SERVER COMMAND  command line of the server under test; {port} and {dir}
#                   are replaced by the port and a fresh empty data directory,
#                   e.g. 'target/release/slowpoke --port {port} --dir {dir}'.
#                   Give the binary itself, not `cargo run` (RSS is read from
#                   the process that listens on the port).
#   --label NAME          name of the server under test in tables (default slowpoke)
#   --redis-fsync MODE    Redis appendfsync: always|everysec|no (default everysec)
#   --redis-args 'ARGS'   extra redis-server arguments
#   --pipelines 'P ...'   pipeline depths for pair.sh (default '1 16')
#   --pair-args 'ARGS'    extra pair.sh arguments (e.g. '-n 200000 -R 5 -t set,get,incr')
#   --rss-args 'ARGS'     rss_per_key.sh arguments (default '-N 1000000 -k 16 -v 1024')
#   --no-pair, --no-rss, --no-restart   skip a phase (restart needs the rss phase)
#   --ready-timeout SECS  how long a server may take to answer (default 120)
#   --keep                keep the temporary directories (logs, data) and print where
#   -h, --help
# Needs redis-server, redis-cli, redis-benchmark (apt-get install redis-server
# redis-tools), python3, ss (iproute2). Exit status: 0 ok, 1 a phase failed, 2 bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL=slowpoke; FSYNC=everysec; REDIS_ARGS=""; PIPELINES="1 16"; PAIR_ARGS=""
RSS_ARGS="-N 1000000 -k 16 -v 1024"; DO_PAIR=1; DO_RSS=1; DO_RESTART=1; READY=120; KEEP=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "compare_redis.sh: $*" >&2; exit 2; }

POS=()
while [ $# -gt 0 ]; do
  case $1 in
    --label) LABEL=${2:?}; shift 2 ;;
    --redis-fsync) FSYNC=${2:?}; shift 2 ;;
    --redis-args) REDIS_ARGS=${2?}; shift 2 ;;
    --pipelines) PIPELINES=${2:?}; shift 2 ;;
    --pair-args) PAIR_ARGS=${2?}; shift 2 ;;
    --rss-args) RSS_ARGS=${2?}; shift 2 ;;
    --no-pair) DO_PAIR=0; shift ;;
    --no-rss) DO_RSS=0; DO_RESTART=0; shift ;;
    --no-restart) DO_RESTART=0; shift ;;
    --ready-timeout) READY=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) POS+=("$1"); shift ;;
  esac
done
[ ${#POS[@]} -eq 1 ] || { usage >&2; exit 2; }
SUT_TEMPLATE=${POS[0]}
[[ $SUT_TEMPLATE == *"{port}"* ]] || die "the server command must contain {port}"
case $FSYNC in always|everysec|no) ;; *) die "--redis-fsync must be always, everysec or no";; esac
for t in redis-server redis-cli redis-benchmark python3 ss setsid; do
  command -v $t >/dev/null || die "$t not found"
done

WORK=$(mktemp -d -t compare_redis.XXXXXX)
PID_sut=""; PID_redis=""; CHILD=""
declare -A PGID=()   # name -> process group of the running server (we started it with setsid)

# run_bg CMD...: run a measuring script in its own process group and wait for it. The
# wait is interruptible, so Ctrl-C or SIGTERM reach the trap at once, and cleanup can
# stop the script together with its redis-benchmark/redis-cli children.
run_bg() {
  local rc=0
  setsid "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return $rc
}

stop_server() {  # name: SIGTERM its process group, then SIGKILL after 60 s
  local name=$1 pg=${PGID[$1]:-} i
  [ -n "$pg" ] || return 0
  kill -TERM -- "-$pg" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
  if kill -0 -- "-$pg" 2>/dev/null; then
    echo "# $name did not stop in 60 s after SIGTERM; sending SIGKILL" >&2
    kill -KILL -- "-$pg" 2>/dev/null || true
  fi
  wait "$pg" 2>/dev/null || true
  unset "PGID[$name]"
}
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then kill -TERM -- "-$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  for n in "${!PGID[@]}"; do stop_server "$n"; done
  if [ "$KEEP" = 1 ]; then echo "# kept logs and data in $WORK" >&2; else rm -rf -- "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

USED_PORTS=""
free_port() {  # sets FREE_PORT to a loopback TCP port no socket uses (and not handed out before)
  # Pick below the kernel's ephemeral range: a port in that range can be taken at any
  # moment by an outgoing connection (redis-benchmark opens 50), and bind() then fails
  # with EADDRINUSE. Any socket on the port (not only a listener) rules it out.
  local p i lo=32768 hi=60999
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  for ((i = 0; i < 500; i++)); do
    if [ "$lo" -gt 11024 ]; then p=$((10000 + RANDOM % (lo - 10000)))
    elif [ "$hi" -lt 64000 ]; then p=$((hi + 1 + RANDOM % (65535 - hi)))
    else p=$((20000 + RANDOM % 40000)); fi
    if [ -z "$(ss -tanH "( sport = :$p or dport = :$p )" 2>/dev/null)" ] && [[ "$USED_PORTS " != *" $p "* ]]; then
      USED_PORTS="$USED_PORTS $p"; FREE_PORT=$p; return 0
    fi
  done
  echo "compare_redis.sh: no free port found" >&2; return 1
}

listener_pid() {  # port -> pid of the process listening on it (empty if unknown)
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# start_server name port dir command: starts it in its own session/process group,
# waits until it answers PING; sets PID_<name> to the listening process.
start_server() {
  local name=$1 port=$2 dir=$3 cmd=$4 i r pg
  setsid bash -c "exec $cmd" >>"$WORK/$name.out" 2>&1 </dev/null &
  pg=$!
  PGID[$name]=$pg
  for ((i = 0; i < READY * 10; i++)); do
    r=$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null || true)
    [ "$r" = PONG ] && break
    if ! kill -0 "$pg" 2>/dev/null; then
      echo "compare_redis.sh: $name exited during start; last output:" >&2; tail -20 "$WORK/$name.out" >&2
      unset "PGID[$name]"; return 1
    fi
    sleep 0.1
  done
  [ "$r" = PONG ] || { echo "compare_redis.sh: $name did not answer PING within ${READY}s" >&2; return 1; }
  local lp; lp=$(listener_pid "$port"); printf -v "PID_$name" '%s' "${lp:-$pg}"
}

# wait_keys name port n: wait until DBSIZE answers n (a loading server answers an error,
# or a growing count); give up after READY seconds, or after 10 s of the same wrong count.
wait_keys() {
  local port=$2 n=$3 r last="" same=0 i
  for ((i = 0; i < READY * 20; i++)); do
    r=$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" DBSIZE 2>/dev/null | tr -d '\r' || true)
    [ "$r" = "$n" ] && break
    if [[ $r =~ ^[0-9]+$ ]] && [ "$r" = "$last" ]; then
      same=$((same + 1)); [ "$same" -lt 200 ] || break
    else
      same=0
    fi
    last=$r
    sleep 0.05
  done
  [ "$r" = "$n" ] || { echo "compare_redis.sh: $1 answered DBSIZE '$r', expected $n" >&2; return 1; }
}

sut_cmd() {  # port dir
  local c=${SUT_TEMPLATE//\{port\}/$1}; echo "${c//\{dir\}/$2}"
}
redis_cmd() {  # port dir
  echo "redis-server --port $1 --bind 127.0.0.1 --dir $2 --appendonly yes --appendfsync $FSYNC" \
       "--save '' --daemonize no --logfile $2/redis.log $REDIS_ARGS"
}

start_both() {  # tag: fresh dirs and ports for both servers
  local try
  for try in 1 2 3; do  # another process may grab a port between free_port and bind: retry
    free_port; SUT_PORT=$FREE_PORT; free_port; REDIS_PORT=$FREE_PORT
    SUT_DIR="$WORK/$1-$LABEL"; REDIS_DIR="$WORK/$1-redis"
    rm -rf "$SUT_DIR" "$REDIS_DIR"; mkdir -p "$SUT_DIR" "$REDIS_DIR"
    if start_server sut "$SUT_PORT" "$SUT_DIR" "$(sut_cmd "$SUT_PORT" "$SUT_DIR")" &&
       start_server redis "$REDIS_PORT" "$REDIS_DIR" "$(redis_cmd "$REDIS_PORT" "$REDIS_DIR")"; then
      break
    fi
    stop_server sut; stop_server redis
    [ "$try" -lt 3 ] || return 1
    echo "compare_redis.sh: start failed; retrying on other ports" >&2
  done
  echo "# $LABEL: 127.0.0.1:$SUT_PORT pid $PID_sut dir $SUT_DIR"
  echo "# redis:   127.0.0.1:$REDIS_PORT pid $PID_redis dir $REDIS_DIR (appendfsync $FSYNC)"
}

echo "# compare_redis: $(date -u +%FT%TZ) on $(nproc) cores, $(redis-server --version | cut -d' ' -f1-3)"
echo "# server under test: $SUT_TEMPLATE"
status=0

if [ "$DO_PAIR" = 1 ]; then
  echo; echo "## throughput and latency (pair.sh; A = $LABEL, B = redis)"
  start_both pair
  for p in $PIPELINES; do
    # shellcheck disable=SC2086  # PAIR_ARGS is a word list on purpose
    run_bg "$HERE/pair.sh" -P "$p" --label-a "$LABEL" --label-b redis $PAIR_ARGS \
      "127.0.0.1:$SUT_PORT" "127.0.0.1:$REDIS_PORT" 2>"$WORK/pair-P$p.log" || {
        status=1; echo "pair.sh -P $p failed:"; tail -5 "$WORK/pair-P$p.log"; }
  done
  stop_server sut; stop_server redis
fi

if [ "$DO_RSS" = 1 ]; then
  echo; echo "## memory per key (rss_per_key.sh $RSS_ARGS), fresh servers"
  start_both rss
  declare -A NKEYS=()
  for s in sut redis; do
    if [ $s = sut ]; then port=$SUT_PORT; dir=$SUT_DIR; pid=$PID_sut; name=$LABEL
    else port=$REDIS_PORT; dir=$REDIS_DIR; pid=$PID_redis; name=redis; fi
    echo "### $name"
    # shellcheck disable=SC2086
    if run_bg "$HERE/rss_per_key.sh" $RSS_ARGS --dir "$dir" "127.0.0.1:$port" "$pid" \
         >"$WORK/rss-$s.out" 2>"$WORK/rss-$s.log"; then
      out=$(cat "$WORK/rss-$s.out"); echo "$out"
      NKEYS[$s]=$(echo "$out" | sed -n 's/^RESULT .*dbsize_after=\([0-9]*\).*/\1/p')
    else
      status=1; cat "$WORK/rss-$s.out"; echo "rss_per_key.sh failed:"; tail -5 "$WORK/rss-$s.log"
    fi
  done

  if [ "$DO_RESTART" = 1 ]; then
    echo; echo "## restart with the loaded data (SIGTERM, start on the same dir, wait for DBSIZE)"
    for s in sut redis; do
      [ -n "${NKEYS[$s]:-}" ] || continue
      if [ $s = sut ]; then port=$SUT_PORT; dir=$SUT_DIR; name=$LABEL; cmd=$(sut_cmd "$port" "$dir")
      else port=$REDIS_PORT; dir=$REDIS_DIR; name=redis; cmd=$(redis_cmd "$port" "$dir"); fi
      t0=$(date +%s.%N); stop_server $s; t1=$(date +%s.%N)
      if start_server $s "$port" "$dir" "$cmd" && wait_keys $s "$port" "${NKEYS[$s]}"; then
        t2=$(date +%s.%N)
        awk -v n="$name" -v k="${NKEYS[$s]}" -v a="$t0" -v b="$t1" -v c="$t2" \
          'BEGIN { printf "%-10s stop %.2fs, start until DBSIZE=%s: %.2fs\n", n, b - a, k, c - b }'
        if [ $s = redis ]; then grep -E 'DB loaded from|Done loading' "$dir/redis.log" | tail -2 | sed 's/^/           redis log: /'; fi
        du -sh "$dir" | awk -v n="$name" '{ printf "%-10s data dir %s\n", n, $1 }'
      else
        status=1; echo "$name: restart failed"
      fi
    done
  fi
  stop_server sut; stop_server redis
fi
exit $status
