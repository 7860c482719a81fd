#!/usr/bin/env bash
# Measures the compaction issue's figures, each in one run on this machine:
#   1. open time for N keys x 1 KiB values with hint files and without them,
#      next to Redis's restart on the same data (appendonly yes);
#   2. p50/p99 GET latency under redis-benchmark load with no compaction
#      running, then while BGREWRITEAOF compacts half-dead files.
# Usage: scripts/restart_and_compaction.sh [N]   (default 1000000)
# Needs redis-server, redis-cli, redis-benchmark (scripts/install_deps.sh --interop).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
GEN=benches/compare/gen_resp.py
BIN=target/release/slowpoke
cargo build --release -q
WORK=$(mktemp -d /tmp/slowpoke-restart.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_keys() { # port expected -> seconds until DBSIZE == expected (60 s limit)
  local p=$1 want=$2 t0 now n
  t0=$(date +%s.%N)
  for _ in $(seq 1 12000); do
    n=$(redis-cli -p "$p" DBSIZE 2>/dev/null || true)
    if [ "$n" = "$want" ]; then now=$(date +%s.%N); python3 -c "print(f\"{$now - $t0:.2f}\")"; return 0; fi
    sleep 0.005
  done
  echo "timeout"; return 1
}
start_sp() { # dir port extra...
  local d=$1 p=$2; shift 2
  "$BIN" --port "$p" --dir "$d" "$@" >>"$WORK/slowpoke.log" 2>&1 &
  SP=$!; PIDS+=("$SP")
}
stop() { kill -TERM "$1"; for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(redis-server --version | cut -d' ' -f3)"
echo "# data: $(df -hT "$WORK" | tail -1 | awk '{print $1, $2}')"

P=$(port); D="$WORK/sp"
start_sp "$D" "$P" --compaction-threshold 100
sleep 0.5
python3 "$GEN" -n "$N" -k 16 -v 1024 | redis-cli -p "$P" --pipe >/dev/null
# Hints are written in the background for sealed files.
for _ in $(seq 1 600); do
  data=$(ls "$D"/*.data | wc -l); hints=$(ls "$D"/*.hint 2>/dev/null | wc -l || true)
  [ "$hints" -ge $((data - 1)) ] && break; sleep 0.1
done
echo "loaded $N keys: $(du -sh "$D" | cut -f1), $(ls "$D"/*.data | wc -l) data files, $(ls "$D"/*.hint | wc -l) hint files"
stop "$SP"
start_sp "$D" "$P" --compaction-threshold 100
echo "slowpoke open with hints:    $(wait_keys "$P" "$N") s"
stop "$SP"
mkdir -p "$WORK/hints"; mv "$D"/*.hint "$WORK/hints/"
start_sp "$D" "$P" --compaction-threshold 100
echo "slowpoke open without hints: $(wait_keys "$P" "$N") s"
stop "$SP"; mv "$WORK/hints/"*.hint "$D/"

RP=$(port); RD="$WORK/redis"; mkdir -p "$RD"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$RD" --appendonly yes --appendfsync everysec --save '' --daemonize no >"$WORK/redis.log" 2>&1 &
R=$!; PIDS+=("$R"); sleep 0.5
python3 "$GEN" -n "$N" -k 16 -v 1024 | redis-cli -p "$RP" --pipe >/dev/null
for _ in $(seq 1 600); do [ "$(redis-cli -p "$RP" INFO persistence | grep -c 'aof_rewrite_in_progress:0')" = 1 ] && break; sleep 0.1; done
stop "$R"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$RD" --appendonly yes --appendfsync everysec --save '' --daemonize no >>"$WORK/redis.log" 2>&1 &
R=$!; PIDS+=("$R")
echo "redis restart (same data):   $(wait_keys "$RP" "$N") s  ($(grep -o 'DB loaded from append only file: [0-9.]* seconds' "$WORK/redis.log" | tail -1))"
stop "$R"

# Latency: make half of every file dead, then GET with and without compaction.
start_sp "$D" "$P" --compaction-threshold 100 --compaction-rate 64mb
wait_keys "$P" "$N" >/dev/null
python3 "$GEN" -n $((N / 2)) -k 16 -v 1024 | redis-cli -p "$P" --pipe >/dev/null
bench() { redis-benchmark -p "$P" -t get -n 200000 -c 50 -r "$N" -d 1024 --csv 2>/dev/null | tail -1; }
echo "GET idle:                $(bench)"
redis-cli -p "$P" BGREWRITEAOF >/dev/null
echo "GET during compaction:   $(bench)"
echo "compaction still running at the end: $(redis-cli -p "$P" INFO persistence | grep aof_rewrite_in_progress)"
echo "(csv: test, rps, avg_ms, min_ms, p50_ms, p95_ms, p99_ms, max_ms)"
stop "$SP"
