#!/usr/bin/env bash
# rss_per_key.sh — memory cost per key of a running RESP server.
#
# Loads N keys of K bytes with V-byte values into the server at HOST:PORT
# (gen_resp.py | redis-cli --pipe), and reports the server's resident memory
# (VmRSS from /proc/PID/status) before and after, the growth per key, the
# key count (DBSIZE), INFO memory's used_memory when the server reports it,
# the load rate, and the disk used by the data directory when one is given.
# The caller starts and stops the server; start it empty for a clean figure.
#
# Usage: rss_per_key.sh [options] HOST:PORT PID
#   PID            the server process (must be on this machine: /proc/PID/status)
#   -N KEYS        keys to load (default 1000000)
#   -k BYTES       key size (default 16: key:000000000000, redis-benchmark's format)
#   -v BYTES       value size (default 1024)
#   -p PREFIX      key prefix (default "key:"); zero-padded index fills the rest
#   --random-values  incompressible random values instead of 'x' bytes
#   --dir DIR      data directory of the server: report its size (du) before/after
#   --settle SECS  wait before reading RSS after the load (default 2)
#   --idle MAX     then wait (at most MAX seconds) until the server is idle: VmRSS unchanged
#                  and under 64 KiB/s read+written (rchar, wchar in /proc/PID/io) for 3 s,
#                  so post-load background work (index/hint files, AOF rewrite) is over
#                  (an idle server still does small I/O: Redis reads /proc/self/stat)
#   --flushall     send FLUSHALL before measuring (destroys the server's data!)
#   -h, --help
#
# Output: "name: value" lines, then one line "RESULT key=value ..." for scripts.
# bytes_per_key = (VmRSS_after - VmRSS_before) / N; it includes the value
# bytes for an all-in-RAM server (Redis), and should be near key size + index
# overhead for a keys-in-RAM, values-on-disk server.
# Needs redis-cli and python3. Exit status: 0 ok, 1 load or check failed, 2 bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=1000000; K=16; V=1024; PREFIX="key:"; RANDOM_VALUES=""; DIR=""; SETTLE=2; IDLE=0; FLUSH=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "rss_per_key.sh: $*" >&2; exit 2; }
need_num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a non-negative integer, got '$2'"; }

POS=()
while [ $# -gt 0 ]; do
  case $1 in
    -N) need_num -N "${2:-}"; N=$2; shift 2 ;;
    -k) need_num -k "${2:-}"; K=$2; shift 2 ;;
    -v) need_num -v "${2:-}"; V=$2; shift 2 ;;
    -p) PREFIX=${2?}; shift 2 ;;
    --random-values) RANDOM_VALUES=--random-values; shift ;;
    --dir) DIR=${2:?}; shift 2 ;;
    --settle) need_num --settle "${2:-}"; SETTLE=$2; shift 2 ;;
    --idle) need_num --idle "${2:-}"; IDLE=$2; shift 2 ;;
    --flushall) FLUSH=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) POS+=("$1"); shift ;;
  esac
done
[ ${#POS[@]} -eq 2 ] || { usage >&2; exit 2; }
[ "$N" -ge 1 ] || die "-N must be >= 1"
EP=${POS[0]}; PID=${POS[1]}
HOST=${EP%:*}; PORT=${EP##*:}
[ "$HOST" != "$EP" ] && [[ $PORT =~ ^[0-9]+$ ]] || die "endpoint must be HOST:PORT, got '$EP'"
[[ $PID =~ ^[0-9]+$ ]] && [ -r "/proc/$PID/status" ] || die "no readable /proc/$PID/status (is $PID the server's PID on this machine?)"
[ -z "$DIR" ] || [ -d "$DIR" ] || die "--dir $DIR is not a directory"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"
command -v python3 >/dev/null || die "python3 not found"

cli() { timeout 60 redis-cli -h "$HOST" -p "$PORT" "$@"; }
kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }       # VmRSS / VmHWM in kB
dbsize() { cli DBSIZE 2>/dev/null | tr -dc '0-9'; }
used_memory() { cli INFO memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
disk_bytes() { if [ -n "$DIR" ]; then du -sb "$DIR" | cut -f1; fi; }

r=$(cli PING 2>&1) || true
[ "$r" = PONG ] || { echo "rss_per_key.sh: $EP does not answer PING (got: ${r:-nothing})" >&2; exit 1; }
if [ "$FLUSH" = 1 ]; then cli FLUSHALL >/dev/null; sleep "$SETTLE"; fi

db0=$(dbsize); [ -n "$db0" ] || { echo "rss_per_key.sh: DBSIZE gave no integer" >&2; exit 1; }
if [ "$db0" != 0 ]; then echo "# warning: server already holds $db0 keys; keys with the same names are overwritten" >&2; fi
rss0=$(kb VmRSS); um0=$(used_memory); disk0=$(disk_bytes)

echo "# loading $N keys x ${K} B key x ${V} B value into $EP (pid $PID)" >&2
t0=$(date +%s.%N)
# pipefail: a generator failure (bad key size) fails the pipeline too.
out=$(python3 "$HERE/gen_resp.py" -n "$N" -k "$K" -v "$V" -p "$PREFIX" $RANDOM_VALUES \
      | redis-cli -h "$HOST" -p "$PORT" --pipe 2>&1) || { echo "rss_per_key.sh: load failed: $out" >&2; exit 1; }
t1=$(date +%s.%N)
echo "$out" | grep -q "errors: 0, replies: $N\$" || { echo "rss_per_key.sh: load reported: $out" >&2; exit 1; }
sleep "$SETTLE"
idle_s=0
if [ "$IDLE" -gt 0 ]; then
  sample() { echo "$(kb VmRSS) $(awk '$1 == "rchar:" || $1 == "wchar:" { s += $2 } END { printf "%.0f\n", s }' "/proc/$PID/io" 2>/dev/null)"; }
  read -r prss pio <<<"$(sample)"; still=0; t_idle=$(date +%s)
  while [ "$still" -lt 3 ] && [ $(( $(date +%s) - t_idle )) -lt "$IDLE" ]; do
    sleep 1; read -r crss cio <<<"$(sample)"
    if [ "$crss" = "$prss" ] && [ $((cio - pio)) -lt 65536 ]; then still=$((still + 1)); else still=0; fi
    prss=$crss; pio=$cio
  done
  idle_s=$(( $(date +%s) - t_idle ))
  [ "$still" -ge 3 ] || echo "# warning: pid $PID still busy after ${IDLE}s (--idle); reading RSS anyway" >&2
fi
kill -0 "$PID" 2>/dev/null || { echo "rss_per_key.sh: server pid $PID is gone" >&2; exit 1; }

rss1=$(kb VmRSS); hwm=$(kb VmHWM); um1=$(used_memory); db1=$(dbsize); disk1=$(disk_bytes)
added=$((db1 - db0))
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
per_key=$(awk -v a="$rss0" -v b="$rss1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
um_per_key=""; disk_per_key=""
if [ -n "$um0" ] && [ -n "$um1" ]; then um_per_key=$(awk -v a="$um0" -v b="$um1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }'); fi
if [ -n "$DIR" ]; then disk_per_key=$(awk -v a="$disk0" -v b="$disk1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }'); fi

echo "endpoint:            $EP (pid $PID)"
echo "keys loaded:         $N (key $K B, value $V B${RANDOM_VALUES:+, random})"
echo "load time:           ${secs}s ($(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }') keys/s via redis-cli --pipe)"
echo "DBSIZE before/after: $db0 / $db1"
echo "VmRSS before:        ${rss0} kB"
idle_note=""; if [ "$IDLE" -gt 0 ]; then idle_note=", read once idle: ${SETTLE}s + ${idle_s}s after the load"; fi
echo "VmRSS after:         ${rss1} kB (peak VmHWM ${hwm} kB)$idle_note"
echo "RSS per key:         ${per_key} B   ((after - before) / N)"
if [ -n "$um_per_key" ]; then echo "used_memory:         $um0 -> $um1 B (${um_per_key} B/key)"; else echo "used_memory:         (not reported by INFO memory)"; fi
if [ -n "$DIR" ]; then echo "disk ($DIR): $disk0 -> $disk1 B (${disk_per_key} B/key)"; fi
echo "RESULT n=$N key=$K value=$V rss_before_kb=$rss0 rss_after_kb=$rss1 hwm_kb=$hwm rss_per_key=$per_key" \
     "used_memory_per_key=${um_per_key:-na} dbsize_before=$db0 dbsize_after=$db1 load_s=$secs" \
     "disk_before=${disk0:-na} disk_after=${disk1:-na} disk_per_key=${disk_per_key:-na} idle_wait_s=$idle_s"
if [ "$db0" = 0 ] && [ "$added" -ne "$N" ]; then
  echo "rss_per_key.sh: DBSIZE grew by $added, expected $N" >&2; exit 1
fi
