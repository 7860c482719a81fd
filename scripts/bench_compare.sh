#!/usr/bin/env bash
# bench_compare.sh — Slowpoke next to Debian's redis-server, same machine, same run
# (the `make bench-compare` target).
#
# Builds target/release/slowpoke, installs redis-server, redis-tools and
# gnuplot-nox with apt-get when missing (a Redis service started by the package
# is stopped; the benchmark starts its own servers on free loopback ports in
# temporary directories), then measures, always both servers in the same run:
#   1. throughput/latency (benches/compare/compare_redis.sh -> pair.sh, interleaved
#      rounds): SET and GET, 50 clients, -P 1 and -P 16, values of 100 B, 1 KiB,
#      64 KiB, appendfsync everysec on both; and 100 B with appendfsync always on both;
#   2. RSS per key, 1,000,000 keys x 16 B x 1 KiB, both (rss_per_key.sh), then a
#      restart of both (SIGTERM, start, time until DBSIZE answers every key);
#   3. RSS per key at 10,000,000 keys x 16 B x 16 B (both; needs free disk);
#   4. GET I/O on 1,000,000 keys x 1 KiB: read syscalls per GET from /proc/PID/io
#      (syscr) for hits and for misses, and GET with a cold page cache
#      (sync; echo 3 > /proc/sys/vm/drop_caches; needs root).
# Writes benches/compare/results/latest.{csv,png,log}, latest-raw.csv and
# docs/PERFORMANCE.md, and prints the tables.
#
# Usage: scripts/bench_compare.sh [options]
#   --quick            smoke run (a few minutes): fewer requests and rounds,
#                      no 64 KiB values, no 10M-key phase
#   --rounds N         interleaved rounds per pair.sh run (default 5; quick 3)
#   --tmpdir DIR       where the servers' data directories go (default $TMPDIR or /tmp);
#                      put it on the disk you want to measure
#   --no-drop-caches   skip the cold page cache runs (dropping caches slows every
#                      process on the machine for a moment)
#   --no-build         use the existing target/release/slowpoke
#   --no-install       never call apt-get
#   --keep             keep the temporary directory (server logs)
#   -h, --help
# Exit status: 0 all phases ran, 1 a phase failed (the others still ran), 2 bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/benches/compare
RESULTS=$BENCH/results
DOC=$ROOT/docs/PERFORMANCE.md
SP=$ROOT/target/release/slowpoke
CMDLINE=$(printf '%q ' "$0" "$@"); CMDLINE=${CMDLINE% }
CMDLINE=${CMDLINE#"$ROOT/"}

QUICK=0; ROUNDS=""; TMPBASE=""; DROP=1; BUILD=1; INSTALL=1; KEEP=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "bench_compare.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer"; ROUNDS=$2; shift 2 ;;
    --tmpdir) TMPBASE=${2:?}; shift 2 ;;
    --no-drop-caches) DROP=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --no-install) INSTALL=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

# ---- sizes of the run -----------------------------------------------------------------
CLIENTS=50
if [ "$QUICK" = 1 ]; then
  MODE=quick; : "${ROUNDS:=3}"
  SIZES="100 1024"                    # value bytes
  N_P1=100000; N_P16=300000           # requests per redis-benchmark run (100 B and 1 KiB)
  N_ALWAYS_P1=20000; N_ALWAYS_P16=50000
  N_IO=50000; N_COLD=10000; COLD_ROUNDS=1
  BIG=0
else
  MODE=full; : "${ROUNDS:=5}"
  SIZES="100 1024 65536"
  N_P1=200000; N_P16=500000
  N_ALWAYS_P1=50000; N_ALWAYS_P16=200000
  N_IO=200000; N_COLD=50000; COLD_ROUNDS=3
  BIG=1
fi
N_64K_P1=20000; N_64K_P16=20000; KEYSPACE=100000; KEYSPACE_64K=10000
RSS_N=1000000; RSS_V=1024; BIG_N=10000000; BIG_V=16; IO_N=1000000; IO_V=1024

# ---- dependencies ---------------------------------------------------------------------
install_deps() {
  local need=() created_policy=0 svc_started=0
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
  command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  command -v ss >/dev/null 2>&1 || need+=(iproute2)
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$INSTALL" = 1 ] || die "missing ${need[*]} and --no-install was given"
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "# installing ${need[*]} (apt-get)" >&2
  # policy-rc.d exit 101 = "do not start services": the package must not start a Redis.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d; created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local rc=0
  { timeout 600 $SUDO apt-get update -qq && \
    timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; } >&2 || rc=$?
  if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || { echo "bench_compare.sh: apt-get failed ($rc)" >&2; exit 1; }
  # If something started the packaged service anyway, stop it (only the one we installed).
  if [[ " ${need[*]} " == *" redis-server "* ]]; then
    if service redis-server status >/dev/null 2>&1; then svc_started=1; $SUDO service redis-server stop >&2 || true; fi
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
      svc_started=1; $SUDO systemctl stop redis-server >&2 || true; $SUDO systemctl disable redis-server >&2 || true
    fi
    [ "$svc_started" = 0 ] || echo "# stopped the redis-server service the package started" >&2
  fi
}
install_deps
for t in redis-server redis-cli redis-benchmark python3 ss setsid gnuplot awk; do
  command -v $t >/dev/null || die "$t not found"
done

if [ "$BUILD" = 1 ]; then
  echo "# cargo build --release" >&2
  (cd "$ROOT" && ${CARGO:-cargo} build --release >&2)
fi
[ -x "$SP" ] || die "$SP not found (build it, or drop --no-build)"

# ---- work area, cleanup ---------------------------------------------------------------
if [ -n "$TMPBASE" ]; then mkdir -p "$TMPBASE"; export TMPDIR=$TMPBASE; fi
WORK=$(mktemp -d -t bench_compare.XXXXXX)
mkdir -p "$RESULTS" "$(dirname "$DOC")"
LOG=$WORK/run.log; CSV=$WORK/latest.csv; RAW=$WORK/latest-raw.csv
: >"$LOG"
CHILD=""
declare -A PGID=()
STATUS=0

stop_server() {  # name: SIGTERM its process group, SIGKILL after 60 s
  local name=$1 pg=${PGID[$1]:-} i
  [ -n "$pg" ] || return 0
  kill -TERM -- "-$pg" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
  if kill -0 -- "-$pg" 2>/dev/null; then kill -KILL -- "-$pg" 2>/dev/null || true; fi
  wait "$pg" 2>/dev/null || true
  unset "PGID[$name]"
}
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then kill -TERM -- "-$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  for n in "${!PGID[@]}"; do stop_server "$n"; done
  if [ "$KEEP" = 1 ]; then echo "# kept $WORK" >&2; else rm -rf -- "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_child OUTFILE CMD...: run a bench script in its own process group (so an
# interrupt stops it and the servers it started), output to OUTFILE and the log.
run_child() {
  local out=$1 rc=0; shift
  setsid "$@" >"$out" 2>&1 </dev/null &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  cat "$out" >>"$LOG"
  return $rc
}

say() { echo "$*" >&2; echo "$*" >>"$LOG"; }
T_START=$(date +%s)
phase_t0=0
phase() { phase_t0=$(date +%s); say ""; say "## $* ($(date -u +%T) UTC, $(( phase_t0 - T_START ))s into the run)"; }
phase_done() { say "# phase took $(( $(date +%s) - phase_t0 ))s"; }

echo "phase,test,value_bytes,pipeline,appendfsync,keys,requests,rounds,unit,slowpoke,redis,ratio,ratio_min,ratio_max,slowpoke_p50_ms,slowpoke_p99_ms,redis_p50_ms,redis_p99_ms,note" >"$CSV"
echo "phase,value_bytes,pipeline,appendfsync,server,round,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$RAW"
row() { local IFS=,; echo "$*" >>"$CSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.3f", a / b }'; }

SPCMD() { echo "$SP --port {port} --bind 127.0.0.1 --dir {dir} --appendfsync $1"; }

# ---- environment ----------------------------------------------------------------------
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
KERNEL=$(uname -sr)
REDIS_VER=$(redis-server --version)
SP_VER=$("$SP" --version 2>/dev/null || echo "slowpoke (unknown)")
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
DF=$(df -hT "$WORK")
AVAIL_B=$(df -B1 --output=avail "$WORK" | tail -1 | tr -d ' ')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "# bench_compare ($MODE): $DATE; $NPROC cores ($CPU); $REDIS_VER"
say "# command: $CMDLINE"
say "# data dir filesystem:"; say "$DF"

# ---- 1. throughput and latency (compare_redis.sh -> pair.sh) --------------------------
pair_phase() {  # fsync value_bytes pipeline requests keyspace
  local fs=$1 d=$2 p=$3 n=$4 r=$5 tag="$1-d$2-P$3"
  phase "SET/GET ${d} B values, -P $p, appendfsync $fs on both: $ROUNDS rounds x $n requests"
  if run_child "$WORK/$tag.out" "$BENCH/compare_redis.sh" --no-rss --pipelines "$p" --redis-fsync "$fs" \
       --pair-args "-t set,get -c $CLIENTS -n $n -d $d -r $r -R $ROUNDS --out $WORK/$tag.csv --raw $WORK/$tag.raw" \
       "$(SPCMD "$fs")"; then
    grep -v '^#' "$WORK/$tag.out" | sed '/^$/d' >&2 || true
    tail -n +2 "$WORK/$tag.csv" | tr -d '"' | while IFS=, read -r t a b _ rmin rmax a50 a99 b50 b99; do
      row throughput "$t" "$d" "$p" "$fs" "$r" "$n" "$ROUNDS" rps "$a" "$b" "$(ratio "$a" "$b")" "$rmin" "$rmax" "$a50" "$a99" "$b50" "$b99" ""
    done
    sed 's/^A,/slowpoke,/; s/^B,/redis,/' "$WORK/$tag.raw" | tr -d '"' | sed "s/^/throughput,$d,$p,$fs,/" >>"$RAW"
  else
    STATUS=1; say "!! phase failed:"; tail -15 "$WORK/$tag.out" >&2
  fi
  phase_done
}

for d in $SIZES; do
  if [ "$d" = 65536 ]; then
    pair_phase everysec "$d" 1 "$N_64K_P1" "$KEYSPACE_64K"
    pair_phase everysec "$d" 16 "$N_64K_P16" "$KEYSPACE_64K"
  else
    pair_phase everysec "$d" 1 "$N_P1" "$KEYSPACE"
    pair_phase everysec "$d" 16 "$N_P16" "$KEYSPACE"
  fi
done
pair_phase always 100 1 "$N_ALWAYS_P1" "$KEYSPACE"
pair_phase always 100 16 "$N_ALWAYS_P16" "$KEYSPACE"

# ---- 2./3. memory per key and restart (compare_redis.sh -> rss_per_key.sh) ------------
# parse_rss OUT: "name rss_per_key disk_per_key load_s dbsize peak_per_key idle_wait_s" per server
parse_rss() {
  awk '/^### / { name = $2 }
       /^RESULT / { r = d = l = k = n = b = h = w = ""
         for (i = 2; i <= NF; i++) { split($i, kv, "=")
           if (kv[1] == "rss_per_key") r = kv[2]; if (kv[1] == "disk_per_key") d = kv[2]
           if (kv[1] == "load_s") l = kv[2]; if (kv[1] == "dbsize_after") k = kv[2]
           if (kv[1] == "n") n = kv[2]; if (kv[1] == "rss_before_kb") b = kv[2]
           if (kv[1] == "hwm_kb") h = kv[2]; if (kv[1] == "idle_wait_s") w = kv[2] }
         print name, r, d, l, k, sprintf("%.1f", (h - b) * 1024 / n), (w == "" ? 0 : w) }' "$1"
}
rss_phase() {  # keys value_bytes restart(0/1)
  local n=$1 v=$2 rs=$3 tag="rss-$1-$2" extra=() sp rd
  [ "$rs" = 1 ] || extra=(--no-restart)
  phase "RSS per key: $n keys x 16 B x $v B on fresh servers$([ "$rs" = 1 ] && echo ", then restart both")"
  if ! run_child "$WORK/$tag.out" "$BENCH/compare_redis.sh" --no-pair "${extra[@]}" \
       --rss-args "-N $n -k 16 -v $v --idle 300" --ready-timeout 600 "$(SPCMD everysec)"; then
    STATUS=1; say "!! phase failed (rows below are what completed):"; tail -15 "$WORK/$tag.out" >&2
  fi
  grep -E '^(RSS per key|VmRSS|load time|disk |DBSIZE|### |slowpoke |redis )' "$WORK/$tag.out" >&2 || true
  parse_rss "$WORK/$tag.out" >"$WORK/$tag.res"
  sp=$(awk '$1 == "slowpoke"' "$WORK/$tag.res"); rd=$(awk '$1 == "redis"' "$WORK/$tag.res")
  set -- $sp; local sr=${2:-} sd=${3:-} sl=${4:-} sh=${6:-} sw=${7:-}
  set -- $rd; local rr=${2:-} rdk=${3:-} rl=${4:-} rh=${6:-} rw=${7:-}
  if [ -n "$sr$rr" ]; then
    row memory "RSS per key" "$v" "" everysec "$n" "$n" 1 B/key "$sr" "$rr" "$(ratio "$sr" "$rr")" "" "" "" "" "" "" \
      "VmRSS growth / keys once idle (slowpoke after ${sw}s; redis after ${rw}s)"
    row memory "peak RSS per key (VmHWM)" "$v" "" everysec "$n" "$n" 1 B/key "$sh" "$rh" "$(ratio "$sh" "$rh")" "" "" "" "" "" "" \
      "(VmHWM - VmRSS before) / keys: includes load buffers and post-load work"
    row memory "disk per key" "$v" "" everysec "$n" "$n" 1 B/key "$sd" "$rdk" "$(ratio "$sd" "$rdk")" "" "" "" "" "" "" "x-byte values: Redis's AOF rewrite (RDB preamble) compresses them"
    row memory "load time (redis-cli --pipe)" "$v" "" everysec "$n" "$n" 1 s "$sl" "$rl" "$(ratio "$sl" "$rl")" "" "" "" "" "" "" ""
  fi
  if [ "$rs" = 1 ]; then
    local st rt
    st=$(sed -n 's/^slowpoke .*start until DBSIZE=[0-9]*: \([0-9.]*\)s$/\1/p' "$WORK/$tag.out")
    rt=$(sed -n 's/^redis .*start until DBSIZE=[0-9]*: \([0-9.]*\)s$/\1/p' "$WORK/$tag.out")
    if [ -n "$st$rt" ]; then
      row restart "start until DBSIZE answers every key" "$v" "" everysec "$n" "" 1 s "$st" "$rt" "$(ratio "$st" "$rt")" "" "" "" "" "" "" "after SIGTERM; same data dir"
    fi
  fi
  phase_done
}
rss_phase "$RSS_N" "$RSS_V" 1

gib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1073741824 }'; }
BIG_NOTE=""
if [ "$BIG" = 1 ]; then
  # Slowpoke writes ~(16 + value + 24) B per record; Redis's AOF about as much; keep 3x headroom.
  BIG_NEED=$(( BIG_N * (BIG_V + 64) * 2 * 3 ))
  # What 10M keys with 1 KiB values would take: the values alone per server, and Redis's
  # RAM at the RSS per key measured above.
  r1k=$(awk -F, '$1 == "memory" && $2 == "RSS per key" && $3 == 1024 { print $11 }' "$CSV")
  why="$BIG_N keys x 1 KiB values was not run: $(gib $(( BIG_N * 1024 ))) GiB of values per server"
  if [ -n "$r1k" ]; then why="$why and ~$(gib "$(awk -v n="$BIG_N" -v r="$r1k" 'BEGIN { printf "%.0f", n * r }')") GiB of RAM for Redis ($r1k B/key above) on a shared $MEM machine"; fi
  if [ "$AVAIL_B" -gt "$BIG_NEED" ]; then
    rss_phase "$BIG_N" "$BIG_V" 0
    BIG_NOTE="ran $BIG_N keys x $BIG_V B values ($(gib "$AVAIL_B") GiB were free on the data dir); $why"
  else
    BIG_NOTE="10M-key phase skipped: $(gib "$AVAIL_B") GiB free on the data dir, $(gib "$BIG_NEED") GiB wanted"
    say "# $BIG_NOTE"
  fi
else
  BIG_NOTE="10M-key phase not run (--quick)"
fi

# ---- 4. GET I/O: reads per GET (syscr), misses, cold page cache -----------------------
USED_PORTS=""
free_port() {  # same as compare_redis.sh: a loopback port no socket uses, below the ephemeral range
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
  say "no free port"; return 1
}
start_server() {  # name port command -> PID_<name> = the listening process
  local name=$1 port=$2 cmd=$3 i r="" pg lp
  setsid bash -c "exec $cmd" >>"$WORK/$name.server.log" 2>&1 </dev/null &
  pg=$!; PGID[$name]=$pg
  for ((i = 0; i < 600; i++)); do
    r=$(timeout 2 redis-cli -p "$port" PING 2>/dev/null || true)
    [ "$r" = PONG ] && break
    kill -0 "$pg" 2>/dev/null || { say "$name exited during start"; tail -5 "$WORK/$name.server.log" >&2; unset "PGID[$name]"; return 1; }
    sleep 0.1
  done
  [ "$r" = PONG ] || { say "$name did not answer PING"; return 1; }
  lp=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  printf -v "PID_$name" '%s' "${lp:-$pg}"
}
syscr() { awk '$1 == "syscr:" { print $2 }' "/proc/$1/io"; }
read_bytes() { awk '$1 == "read_bytes:" { print $2 }' "/proc/$1/io"; }  # bytes fetched from storage
hits_misses() {  # port -> "hits misses"
  redis-cli -p "$1" INFO stats | tr -d '\r' |
    awk -F: '$1 == "keyspace_hits" { h = $2 } $1 == "keyspace_misses" { m = $2 } END { print h + 0, m + 0 }'
}
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; }
# get_run name port requests what...
#   -> "rps p50 p99 syscr_delta hits misses read_bytes_delta" (one redis-benchmark run)
get_run() {
  local name=$1 port=$2 n=$3 pid hm0 hm1 s0 s1 b0 b1 out line; shift 3
  pid=$(eval echo "\$PID_$name")
  hm0=$(hits_misses "$port")
  b0=$(read_bytes "$pid")
  s0=$(syscr "$pid")
  out=$(timeout 900 redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -P 1 -d "$IO_V" -r "$IO_N" --csv "$@" 2>&1) || {
    echo "redis-benchmark failed: $(echo "$out" | tail -2)" >&2; return 1; }
  s1=$(syscr "$pid")
  b1=$(read_bytes "$pid")
  hm1=$(hits_misses "$port")
  line=$(echo "$out" | grep '^"' | grep -v '^"test"' | tail -1 | tr -d '"')
  [ -n "$line" ] || { echo "no CSV from redis-benchmark" >&2; return 1; }
  echo "$line" | awk -F, -v s="$((s1 - s0))" -v a="$hm0" -v b="$hm1" -v rb="$((b1 - b0))" \
    'BEGIN { split(a, x, " "); split(b, y, " ") } { print $2, $5, $7, s, y[1] - x[1], y[2] - x[2], rb }'
}
med() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

io_phase() {
  phase "GET I/O: $IO_N keys x $IO_V B on both; read syscalls per GET (hits, misses), cold page cache"
  local line rps p50 p99 sc h m per name port i
  local sp_port rd_port try
  for try in 1 2 3; do  # another process may grab a port between free_port and bind: retry
    free_port; sp_port=$FREE_PORT; free_port; rd_port=$FREE_PORT
    rm -rf "$WORK/io-slowpoke" "$WORK/io-redis"; mkdir -p "$WORK/io-slowpoke" "$WORK/io-redis"
    if start_server slowpoke "$sp_port" "$SP --port $sp_port --bind 127.0.0.1 --dir $WORK/io-slowpoke --appendfsync everysec" &&
       start_server redis "$rd_port" "redis-server --port $rd_port --bind 127.0.0.1 --dir $WORK/io-redis --appendonly yes --appendfsync everysec --save '' --daemonize no --logfile $WORK/io-redis/redis.log"; then
      break
    fi
    stop_server slowpoke; stop_server redis
    [ "$try" -lt 3 ] || return 1
  done
  say "# slowpoke 127.0.0.1:$sp_port pid $PID_slowpoke; redis 127.0.0.1:$rd_port pid $PID_redis"
  for name in slowpoke redis; do
    port=$sp_port; [ $name = redis ] && port=$rd_port
    line=$(python3 "$BENCH/gen_resp.py" -n "$IO_N" -k 16 -v "$IO_V" | timeout 1800 redis-cli -p "$port" --pipe 2>&1) || { say "load of $name failed: $line"; return 1; }
    echo "$line" | grep -q "errors: 0, replies: $IO_N\$" || { say "load of $name: $line"; return 1; }
  done
  # Let both finish what the load started (Redis's AOF rewrite, Slowpoke's compaction,
  # the kernel's writeback) so the runs below measure GETs, not leftover write work.
  for name in slowpoke redis; do
    port=$sp_port; [ $name = redis ] && port=$rd_port
    for ((i = 0; i < 600; i++)); do
      redis-cli -p "$port" INFO persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0$' && break
      sleep 0.5
    done
  done
  sync; sleep 1
  # Slowpoke writes hint files for the sealed data files after a load, reading them
  # (~60 reads/s for ~10 s here): wait until its read count stands still for 3 s, so
  # syscr around the runs below counts GETs only.
  local s0 s1 quiet=0
  s0=$(syscr "$PID_slowpoke")
  for ((i = 0; i < 240 && quiet < 6; i++)); do
    sleep 0.5; s1=$(syscr "$PID_slowpoke")
    if [ "$s1" = "$s0" ]; then quiet=$((quiet + 1)); else quiet=0; fi
    s0=$s1
  done
  if [ "$quiet" -lt 6 ]; then say "# warning: slowpoke kept reading in the background; reads per GET include that"; fi
  say "# slowpoke idle (no read syscalls for 3 s) after $(( i / 2 ))s"
  # Warm hits and misses: one run each per server. redis-benchmark -r draws keys
  # key:000000000000..IO_N-1 (all loaded); "GET miss:__rand_int__" never exists.
  # Warm means every record in the page cache: Slowpoke's data files are read once
  # (cat) before the run, and read_bytes (what the server made the kernel fetch from
  # storage) must stay 0 during it. On a shared machine another process may drop the
  # caches meanwhile; such a run is done again (at most 3 tries, then reported as is).
  local -A W=() ; local rb try per_b
  for what in hit miss; do
    for name in slowpoke redis; do
      port=$sp_port; [ $name = redis ] && port=$rd_port
      for try in 1 2 3; do
        if [ $name = slowpoke ]; then cat "$WORK/io-slowpoke"/*.data >/dev/null; fi
        if [ $what = hit ]; then line=$(get_run $name "$port" "$N_IO" -t get) || return 1
        else line=$(get_run $name "$port" "$N_IO" GET 'miss:__rand_int__') || return 1; fi
        read -r rps p50 p99 sc h m rb <<<"$line"
        [ "$rb" -gt 0 ] || break
        say "# warm $what $name, try $try: the server read $rb bytes from storage, so the page cache was not warm (caches dropped by another process?)"
      done
      per=$(awk -v s="$sc" -v h="$h" -v m="$m" 'BEGIN { printf "%.6f", (h + m > 0) ? s / (h + m) : -1 }')
      per_b=$(awk -v s="$rb" -v h="$h" -v m="$m" 'BEGIN { printf "%.1f", (h + m > 0) ? s / (h + m) : -1 }')
      W[$what,$name]="$rps $p50 $p99 $per $h $m $per_b $sc"
      say "# warm $what $name: $rps rps p50 ${p50}ms p99 ${p99}ms; syscr +$sc over $h hits + $m misses = $per reads/GET; $rb bytes from storage"
    done
  done
  for what in hit miss; do
    read -r rps p50 p99 per h m per_b sc <<<"${W[$what,slowpoke]}"; set -- ${W[$what,redis]}
    row io "read syscalls per GET $what (warm cache)" "$IO_V" 1 everysec "$IO_N" "$N_IO" 1 reads/GET "$per" "$4" "" "" "" "" "" "" "" \
      "slowpoke: $sc reads for $h hits + $m misses; Redis: socket read()s (it reads no files)"
    row io "storage bytes read per GET $what (warm cache)" "$IO_V" 1 everysec "$IO_N" "$N_IO" 1 B/GET "$per_b" "$7" "" "" "" "" "" "" "" "read_bytes delta / GETs"
    row io "GET $what (warm cache)" "$IO_V" 1 everysec "$IO_N" "$N_IO" 1 rps "$rps" "$1" "$(ratio "$rps" "$1")" "" "" "$p50" "$p99" "$2" "$3" "one run"
  done
  # Cold page cache: drop caches before every run; rounds alternate who goes first.
  if [ "$DROP" = 0 ]; then
    say "# cold page cache runs skipped (--no-drop-caches)"; COLD_NOTE="skipped (--no-drop-caches)"
  elif ! drop_caches; then
    say "# cold page cache runs skipped: cannot write /proc/sys/vm/drop_caches (not root?)"; COLD_NOTE="skipped: not allowed to drop caches"
  else
    local -A R=() ; local round order q
    local rmin="" rmax=""
    for ((round = 1; round <= COLD_ROUNDS; round++)); do
      if (( round % 2 )); then order="slowpoke redis"; else order="redis slowpoke"; fi
      for name in $order; do
        port=$sp_port; [ $name = redis ] && port=$rd_port
        drop_caches
        line=$(get_run $name "$port" "$N_COLD" -t get) || return 1
        read -r rps p50 p99 sc h m rb <<<"$line"
        per=$(awk -v s="$sc" -v h="$h" -v m="$m" 'BEGIN { printf "%.6f", (h + m > 0) ? s / (h + m) : -1 }')
        per_b=$(awk -v s="$rb" -v h="$h" -v m="$m" 'BEGIN { printf "%.1f", (h + m > 0) ? s / (h + m) : -1 }')
        R[$name,rps]+=" $rps"; R[$name,p50]+=" $p50"; R[$name,p99]+=" $p99"; R[$name,per]+=" $per"; R[$name,$round]=$rps
        R[$name,pb]+=" $per_b"
        echo "cold,$IO_V,1,everysec,$name,$round,GET,$rps,,,$p50,,$p99," >>"$RAW"
        say "# cold round $round $name: $rps rps p50 ${p50}ms p99 ${p99}ms; $per reads/GET, $per_b bytes from storage per GET ($h hits)"
      done
      q=$(ratio "${R[slowpoke,$round]}" "${R[redis,$round]}")
      if [ -z "$rmin" ] || awk -v a="$q" -v b="$rmin" 'BEGIN { exit !(a < b) }'; then rmin=$q; fi
      if [ -z "$rmax" ] || awk -v a="$q" -v b="$rmax" 'BEGIN { exit !(a > b) }'; then rmax=$q; fi
    done
    local a b
    a=$(echo "${R[slowpoke,rps]}" | med); b=$(echo "${R[redis,rps]}" | med)
    row cold "GET (cold page cache)" "$IO_V" 1 everysec "$IO_N" "$N_COLD" "$COLD_ROUNDS" rps "$a" "$b" "$(ratio "$a" "$b")" "$rmin" "$rmax" \
      "$(echo "${R[slowpoke,p50]}" | med)" "$(echo "${R[slowpoke,p99]}" | med)" "$(echo "${R[redis,p50]}" | med)" "$(echo "${R[redis,p99]}" | med)" \
      "drop_caches before each run; Redis holds values in RAM"
    row cold "read syscalls per GET hit (cold page cache)" "$IO_V" 1 everysec "$IO_N" "$N_COLD" "$COLD_ROUNDS" reads/GET \
      "$(echo "${R[slowpoke,per]}" | med)" "$(echo "${R[redis,per]}" | med)" "" "" "" "" "" "" "" "syscr delta / GETs"
    row cold "storage bytes read per GET hit (cold page cache)" "$IO_V" 1 everysec "$IO_N" "$N_COLD" "$COLD_ROUNDS" B/GET \
      "$(echo "${R[slowpoke,pb]}" | med)" "$(echo "${R[redis,pb]}" | med)" "" "" "" "" "" "" "" "read_bytes delta / GETs (page size and readahead)"
    COLD_NOTE="ran ($COLD_ROUNDS round(s) of $N_COLD GETs; caches dropped before each run)"
  fi
  stop_server slowpoke; stop_server redis
  phase_done
}
COLD_NOTE="not run"
io_phase || { STATUS=1; say "!! GET I/O phase failed"; stop_server slowpoke; stop_server redis; }

T_END=$(date +%s); ELAPSED=$(( T_END - T_START ))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- tables (markdown, from the CSV only) ---------------------------------------------
render_tables() {  # CSV
  awk -F, '
  function fmtn(v) { return (v == "") ? "—" : sprintf("%.0f", v) }
  function sz(b) { return (b >= 1024) ? (b / 1024) " KiB" : b " B" }
  function keys(n) { return (n >= 1000000) ? (n / 1000000) "M" : (n >= 1000) ? (n / 1000) "k" : n }
  function yn(ok) { return ok ? "yes" : "**no**" }
  NR == 1 { next }
  $9 == "rps" {
    rng = ($13 != "" && $14 != "") ? sprintf(" (%.2f–%.2f)", $13, $14) : ""
    tgt = "—"
    if ($1 == "throughput" && $12 != "") {
      need = ($4 == 1) ? 1.0 : 0.8
      okr = ($12 + 0 >= need); okp = ($16 + 0 <= 2 * $18)
      tgt = sprintf("rps ≥ %.1f×: %s; p99 ≤ 2×: %s", need, okr ? "yes" : sprintf("**no** (%.3f)", $12), yn(okp))
    }
    name = ($1 == "throughput") ? $2 : $2 ", " keys($6) " keys"
    t[++nt] = sprintf("| %s | %s | %s | %s | %s | %s | %s%s | %s / %s | %s / %s | %s |", name, sz($3), $4, $5,
      fmtn($10), fmtn($11), ($12 == "") ? "—" : sprintf("%.2f", $12), rng, $15, $16, $17, $18, tgt)
    next
  }
  $1 == "memory" || $1 == "restart" {
    unit = ($9 == "s") ? " s" : " B"
    q = ($12 == "") ? "—" : sprintf("%.3f", $12)
    tgt = "—"
    if ($2 == "RSS per key") {
      if ($12 != "" && $12 > 0) q = q sprintf(" (1/%.1f)", 1 / $12)
      if ($3 == 1024 && $12 != "") tgt = "≤ 1/20: " yn($12 <= 0.05)
    }
    m[++nm] = sprintf("| %s | %s × 16 B keys × %s values | %s | %s | %s | %s | %s |", $2, keys($6), sz($3),
      ($10 == "") ? "—" : $10 unit, ($11 == "") ? "—" : $11 unit, q, tgt, $19)
    next
  }
  $9 == "reads/GET" || $9 == "B/GET" {
    want = ($2 ~ /miss/) ? 0 : 1
    tgt = ($1 == "cold" || $9 == "B/GET") ? "—" : "exactly " want ": " yn($10 != "" && $10 + 0 == want)
    io[++ni] = sprintf("| %s | %s | %s | %s | %s |", $2, $10, $11, tgt, $19)
  }
  END {
    print "**Throughput and latency** (redis-benchmark, 50 clients; requests/s are medians over interleaved rounds;"
    print "ratio = Slowpoke/Redis, per-round range in brackets; latency = medians over the rounds of p50 and p99, ms)"
    print ""
    print "| test | value | -P | appendfsync | Slowpoke rps | Redis rps | ratio (range) | Slowpoke p50 / p99 | Redis p50 / p99 | target met? |"
    print "|---|---|---|---|---:|---:|---|---|---|---|"
    for (i = 1; i <= nt; i++) print t[i]
    print ""
    print "**Memory and restart** (fresh servers loaded with redis-cli --pipe; RSS per key = VmRSS growth / keys)"
    print ""
    print "| measure | data | Slowpoke | Redis | Slowpoke/Redis | target met? | note |"
    print "|---|---|---:|---:|---|---|---|"
    for (i = 1; i <= nm; i++) print m[i]
    print ""
    print "**Reads per GET** (syscr and read_bytes from /proc/PID/io around one redis-benchmark GET run, divided by the GETs the server counted)"
    print ""
    print "| run | Slowpoke | Redis | target met? | note |"
    print "|---|---|---|---|---|"
    for (i = 1; i <= ni; i++) print io[i]
  }' "$1"
}

# Targets: one line each, from the CSV.
render_summary() {  # CSV
  awk -F, '
  function sz(b) { return (b >= 1024) ? (b / 1024) " KiB" : b " B" }
  NR == 1 { next }
  $1 == "throughput" && $12 != "" {
    lab = $2 " " sz($3) " -P " $4 " " $5
    need = ($4 == 1) ? 1.0 : 0.8
    nr++; if ($12 + 0 >= need) okr++; else missr = missr sprintf("%s%s %.3f×", (missr == "" ? "" : ", "), lab, $12)
    np++; if ($16 + 0 <= 2 * $18) okp++; else missp = missp sprintf("%s%s %.2f×", (missp == "" ? "" : ", "), lab, ($18 > 0) ? $16 / $18 : 0)
  }
  $1 == "memory" && $2 == "RSS per key" && $3 == 1024 && $12 != "" {
    rss = sprintf("%s (Slowpoke %s B/key, Redis %s B/key: 1/%.1f)", ($12 <= 0.05) ? "met" : "**not met**", $10, $11, 1 / $12)
  }
  $1 == "io" && $9 == "reads/GET" {
    if ($2 ~ /hit/) hit = $10; else miss = $10
  }
  END {
    print "**Targets** (computed from the rows above):"
    print ""
    printf "* GET and SET requests/s ≥ 1.0× Redis at -P 1 and ≥ 0.8× at -P 16: met in %d of %d rows%s\n", okr, nr, (missr == "") ? "" : "; missed: " missr
    printf "* p99 ≤ 2× Redis: met in %d of %d rows%s\n", okp, np, (missp == "") ? "" : "; missed (Slowpoke p99 / Redis p99): " missp
    printf "* RSS per key ≤ 1/20 of Redis with 1 KiB values: %s\n", (rss == "") ? "not measured" : rss
    if (hit == "" && miss == "") print "* one read syscall per GET hit, none per miss: not measured"
    else printf "* one read syscall per GET hit, none per miss: %s (%s per hit, %s per miss)\n", (hit + 0 == 1 && miss + 0 == 0) ? "met" : "**not met**", hit, miss
  }' "$1"
}

# ---- chart ----------------------------------------------------------------------------
make_chart() {
  awk -F, 'NR > 1 && $1 == "throughput" && $4 == 1 && $5 == "everysec" {
      v[$3, $2, "s"] = $10; v[$3, $2, "r"] = $11; seen[$3] = 1 }
    END { n = split("100 1024 65536", s, " "); lab["100"] = "100 B"; lab["1024"] = "1 KiB"; lab["65536"] = "64 KiB"
      for (i = 1; i <= n; i++) { d = s[i]; if (!(d in seen)) { printf "\"%s\\n(not run)\" ? ? ? ?\n", lab[d]; continue }
        printf "\"%s\" %s %s %s %s\n", lab[d], f(v[d, "SET", "s"]), f(v[d, "SET", "r"]), f(v[d, "GET", "s"]), f(v[d, "GET", "r"]) } }
    function f(x) { return (x == "") ? "?" : x }' "$CSV" >"$WORK/thr.dat"
  awk -F, 'NR > 1 && $1 == "memory" && $2 == "RSS per key" {
      printf "\"%s keys, %s values\" %s %s\n", ($6 >= 1000000 ? $6 / 1000000 "M" : $6), ($3 >= 1024 ? $3 / 1024 " KiB" : $3 " B"),
        ($10 == "" ? "?" : $10), ($11 == "" ? "?" : $11) }' "$CSV" >"$WORK/mem.dat"
  [ -s "$WORK/mem.dat" ] || echo '"(not run)" ? ?' >"$WORK/mem.dat"
  gnuplot -e "thr='$WORK/thr.dat'; mem='$WORK/mem.dat'; nmem=$(wc -l <"$WORK/mem.dat"); out='$WORK/latest.png'; subtitle='$MODE run $DATE, $NPROC cores, ${REDIS_VER%% sha=*}'" \
    "$BENCH/plot.gp" 2>>"$LOG" || { say "!! gnuplot failed (see log)"; return 1; }
}

# ---- outputs --------------------------------------------------------------------------
cp "$CSV" "$RESULTS/latest.csv"; cp "$RAW" "$RESULTS/latest-raw.csv"
if make_chart; then cp "$WORK/latest.png" "$RESULTS/latest.png"; else STATUS=1; fi
TABLES=$(render_tables "$CSV")
SUMMARY=$(render_summary "$CSV")

FS_LINE=$(echo "$DF" | tail -1 | awk '{ print $1 " (" $2 ")" }')
{
  echo "# Slowpoke vs Redis — performance"
  echo
  echo "<!-- Generated by scripts/bench_compare.sh from benches/compare/results/latest.csv. Do not edit by hand: rerun the script. -->"
  echo
  echo "Latest run: **$DATE**, $MODE mode, $(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s. Both servers ran on the same"
  echo "machine in the same run, with the same durability (append-only log, \`appendfsync everysec\` unless the row says"
  echo "\`always\`; Redis with \`appendonly yes\`, \`save ''\`). Compare the ratios, not the absolute numbers: the machine is"
  echo "shared with other work (load average $LOAD_START at the start, $LOAD_END at the end), client and servers share"
  echo "$NPROC cores, so runs are noisy; that is why every throughput row is the median of interleaved rounds"
  echo "(Slowpoke first in odd rounds, Redis first in even ones) with the per-round ratio range."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| command | \`$CMDLINE\` |"
  echo "| date | $DATE |"
  echo "| slowpoke | $SP_VER, git $GIT_REV$([ "$GIT_DIRTY" -gt 0 ] && echo " (working tree had $GIT_DIRTY modified tracked files)") |"
  echo "| redis | \`$REDIS_VER\` |"
  echo "| nproc | $NPROC |"
  echo "| CPU | $CPU |"
  echo "| memory | $MEM |"
  echo "| kernel | $KERNEL |"
  echo "| data dir filesystem | $FS_LINE |"
  echo "| rounds | $ROUNDS per throughput row |"
  echo "| 10M keys | $BIG_NOTE |"
  echo "| cold page cache | $COLD_NOTE |"
  echo
  echo "\`df -hT\` of the data directories' filesystem:"
  echo
  echo '```'
  echo "$DF"
  echo '```'
  echo
  echo "$TABLES"
  echo
  echo "$SUMMARY"
  echo
  echo "![requests per second by value size, and RSS per key](../benches/compare/results/latest.png)"
  echo
  echo "## How it was measured"
  echo
  echo "* Throughput/latency: \`benches/compare/compare_redis.sh --no-rss\` starts fresh servers for every row group"
  echo "  and runs \`pair.sh -t set,get -c $CLIENTS -R $ROUNDS\` (redis-benchmark, keys \`key:<12 digits>\` from a keyspace of"
  echo "  $KEYSPACE keys, $KEYSPACE_64K for 64 KiB; every GET is a hit because pair.sh loads the keyspace first)."
  echo "  Requests per run: 100 B and 1 KiB $N_P1 at -P 1, $N_P16 at -P 16; 64 KiB $N_64K_P1 / $N_64K_P16;"
  echo "  appendfsync always $N_ALWAYS_P1 / $N_ALWAYS_P16. Latency is measured by the client (includes client time)."
  echo "* Memory and restart: \`compare_redis.sh --no-pair --rss-args '-N $RSS_N -k 16 -v $RSS_V --idle 300'\` (rss_per_key.sh"
  echo "  loads with \`redis-cli --pipe\` into empty servers, then reads VmRSS once the server is idle — VmRSS and write"
  echo "  syscalls unchanged for 3 s, because Slowpoke writes hint files for its sealed data files after a load and its"
  echo "  RSS swings meanwhile; the peak (VmHWM) row shows the worst point, the note column how long each server took"
  echo "  to go idle). Restart = SIGTERM, start on the same directory, time until \`DBSIZE\` answers the full count."
  echo "* Reads per GET: \`syscr\` of the server's /proc/PID/io before and after one redis-benchmark run of $N_IO GETs"
  echo "  (-P 1) over $IO_N loaded keys of $IO_V B, divided by keyspace_hits + keyspace_misses from \`INFO stats\`."
  echo "  Slowpoke reads its sockets with recv(2), which syscr does not count, so its figure is file reads only;"
  echo "  Redis reads sockets with read(2) and never reads files, so its figure is socket reads (context only)."
  echo "  Cold page cache: \`sync; echo 3 > /proc/sys/vm/drop_caches\` before each run of $N_COLD GETs."
  echo "* Raw data: \`benches/compare/results/latest.csv\` (these tables), \`latest-raw.csv\` (every redis-benchmark"
  echo "  run), \`latest.log\` (full output). Rerun: \`scripts/bench_compare.sh\` (full), or \`--quick\` for a smoke run"
  echo "  (fewer requests and rounds, no 64 KiB values, no 10M keys); \`--help\` lists the options."
} >"$WORK/PERFORMANCE.md"
cp "$WORK/PERFORMANCE.md" "$DOC"
cp "$LOG" "$RESULTS/latest.log"

echo
echo "# bench_compare ($MODE) finished in ${ELAPSED}s: $DATE, $NPROC cores, $CPU; ${REDIS_VER%% sha=*}"
echo "# command: $CMDLINE"
echo "# data dir: $FS_LINE; 10M keys: $BIG_NOTE; cold cache: $COLD_NOTE"
echo
echo "$TABLES"
echo
echo "$SUMMARY"
echo
echo "# wrote ${RESULTS#"$ROOT/"}/latest.csv, latest-raw.csv, latest.png, latest.log and ${DOC#"$ROOT/"}"
[ "$STATUS" = 0 ] || echo "# some phases FAILED: see ${RESULTS#"$ROOT/"}/latest.log" >&2
exit $STATUS
