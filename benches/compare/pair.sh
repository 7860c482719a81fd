#!/usr/bin/env bash
# pair.sh — side-by-side redis-benchmark of two RESP servers (A and B).
#
# Runs the same redis-benchmark tests against endpoint A and endpoint B,
# interleaved (A,B then B,A, ...) for several rounds so that machine noise
# hits both, and prints one row per test: median requests/s of each, the
# ratio A/B, and median p50/p99 latency of each. The caller starts and stops
# the servers; this script only sends traffic.
#
# Usage: pair.sh [options] A_HOST:PORT B_HOST:PORT
#   -t TESTS      comma-separated redis-benchmark tests (default set,get);
#                 any name redis-benchmark -t accepts: set,get,incr,mset,lpush,...
#   -x 'CMD ARGS' benchmark a custom command line instead (repeatable), e.g.
#                 -x 'GET key:__rand_int__'  (words split on spaces)
#   -c CLIENTS    parallel connections (default 50)
#   -n REQUESTS   requests per test per run (default 100000)
#   -P PIPELINE   requests per pipeline (default 1)
#   -d BYTES      value size of SET/GET (default 100)
#   -r KEYSPACE   random keys key:000000000000..KEYSPACE-1 (default 100000; 0 = one key)
#   -R ROUNDS     rounds of A,B runs (default 3)
#   --threads N   redis-benchmark --threads N (default: single-threaded client)
#   --label-a NAME, --label-b NAME   column names (default A, B)
#   --no-prefill  do not load the keyspace before the first GET
#   --raw FILE    append every raw CSV line (with round and side) to FILE
#   --out FILE    also write the summary table as CSV to FILE
#   -h, --help
#
# Before GET (and custom commands), both servers get every key of the keyspace
# loaded with a -d byte value (gen_resp.py | redis-cli --pipe), so GETs hit.
# Needs redis-benchmark and redis-cli (Debian: apt-get install redis-tools),
# python3 for prefill. Exit status: 0 ok, 1 a run failed, 2 bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS="set,get"; CUSTOM=(); CLIENTS=50; REQUESTS=100000; PIPELINE=1; DSIZE=100
KEYSPACE=100000; ROUNDS=3; THREADS=""; LABEL_A=A; LABEL_B=B; PREFILL=1; RAW=""; OUT=""
RUN_TIMEOUT=${PAIR_RUN_TIMEOUT:-900}   # seconds one redis-benchmark run may take

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "pair.sh: $*" >&2; exit 2; }
need_num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a non-negative integer, got '$2'"; }

POS=()
while [ $# -gt 0 ]; do
  case $1 in
    -t) TESTS=${2:?}; shift 2 ;;
    -x) CUSTOM+=("${2:?}"); shift 2 ;;
    -c) need_num -c "${2:-}"; CLIENTS=$2; shift 2 ;;
    -n) need_num -n "${2:-}"; REQUESTS=$2; shift 2 ;;
    -P) need_num -P "${2:-}"; PIPELINE=$2; shift 2 ;;
    -d) need_num -d "${2:-}"; DSIZE=$2; shift 2 ;;
    -r) need_num -r "${2:-}"; KEYSPACE=$2; shift 2 ;;
    -R) need_num -R "${2:-}"; ROUNDS=$2; shift 2 ;;
    --threads) need_num --threads "${2:-}"; THREADS=$2; shift 2 ;;
    --label-a) LABEL_A=${2:?}; shift 2 ;;
    --label-b) LABEL_B=${2:?}; shift 2 ;;
    --no-prefill) PREFILL=0; shift ;;
    --raw) RAW=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) POS+=("$1"); shift ;;
  esac
done
[ ${#POS[@]} -eq 2 ] || { usage >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] && [ "$CLIENTS" -ge 1 ] && [ "$PIPELINE" -ge 1 ] && [ "$REQUESTS" -ge 1 ] \
  || die "-R, -c, -P and -n must be >= 1"
for t in redis-benchmark redis-cli; do command -v $t >/dev/null || die "$t not found (apt-get install redis-tools)"; done

split_ep() {  # HOST:PORT -> "HOST PORT"
  local ep=$1 host port
  host=${ep%:*}; port=${ep##*:}
  [ "$host" != "$ep" ] && [[ $port =~ ^[0-9]+$ ]] || die "endpoint must be HOST:PORT, got '$ep'"
  echo "$host $port"
}
read -r A_HOST A_PORT <<<"$(split_ep "${POS[0]}")"
read -r B_HOST B_PORT <<<"$(split_ep "${POS[1]}")"

ping_ok() {  # host port
  local r; r=$(timeout 5 redis-cli -h "$1" -p "$2" PING 2>&1) || true
  [ "$r" = "PONG" ] || { echo "pair.sh: $1:$2 does not answer PING (got: ${r:-nothing})" >&2; return 1; }
}
ping_ok "$A_HOST" "$A_PORT" || exit 1
ping_ok "$B_HOST" "$B_PORT" || exit 1

prefill() {  # host port: load key:000000000000..KEYSPACE-1 with DSIZE-byte values
  local n=$KEYSPACE out
  [ "$n" -ge 1 ] || n=0
  if [ "$n" -eq 0 ]; then  # single-key mode: redis-benchmark uses the literal key:__rand_int__
    timeout 30 redis-cli -h "$1" -p "$2" SET key:__rand_int__ "$(head -c "$DSIZE" /dev/zero | tr '\0' x)" >/dev/null
    return
  fi
  out=$(python3 "$HERE/gen_resp.py" -n "$n" -k 16 -v "$DSIZE" | timeout 1800 redis-cli -h "$1" -p "$2" --pipe 2>&1) || {
    echo "pair.sh: prefill of $1:$2 failed: $out" >&2; return 1; }
  echo "$out" | grep -q "errors: 0, replies: $n$" || { echo "pair.sh: prefill of $1:$2: $out" >&2; return 1; }
}

# One redis-benchmark run; prints its CSV data lines (no header), or fails.
bench_once() {  # host port what(kind) arg
  local host=$1 port=$2 kind=$3 arg=$4 args out
  args=(-h "$host" -p "$port" -c "$CLIENTS" -n "$REQUESTS" -P "$PIPELINE" -d "$DSIZE" --csv)
  if [ "$KEYSPACE" -gt 0 ]; then args+=(-r "$KEYSPACE"); fi
  if [ -n "$THREADS" ]; then args+=(--threads "$THREADS"); fi
  if [ "$kind" = t ]; then args+=(-t "$arg"); else read -r -a words <<<"$arg"; args+=("${words[@]}"); fi
  # redis-benchmark waits forever if the server vanishes: bound it.
  if ! out=$(timeout "$RUN_TIMEOUT" redis-benchmark "${args[@]}" 2>&1); then
    echo "pair.sh: redis-benchmark ${args[*]} failed or timed out:" >&2; echo "$out" | tail -5 >&2; return 1
  fi
  out=$(echo "$out" | grep '^"' | grep -v '^"test"' || true)
  [ -n "$out" ] || { echo "pair.sh: no CSV result from redis-benchmark ${args[*]}" >&2; return 1; }
  echo "$out"
}

# Work list: each entry "kind<TAB>arg"; tests run one at a time so A and B alternate per test.
WORK=()
if [ ${#CUSTOM[@]} -gt 0 ]; then
  for c in "${CUSTOM[@]}"; do WORK+=("x	$c"); done
else
  IFS=',' read -r -a TL <<<"$TESTS"
  for t in "${TL[@]}"; do if [ -n "$t" ]; then WORK+=("t	$t"); fi; done
fi
needs_prefill=0
if [ ${#CUSTOM[@]} -gt 0 ] || [[ ",${TESTS,,}," == *,get,* ]]; then needs_prefill=1; fi
if [ "$PREFILL" = 1 ] && [ "$needs_prefill" = 1 ]; then
  echo "# prefill: $KEYSPACE keys x $DSIZE B on both servers" >&2
  prefill "$A_HOST" "$A_PORT" || exit 1
  prefill "$B_HOST" "$B_PORT" || exit 1
fi

RES=$(mktemp -t pair.XXXXXX)   # lines: side<TAB>round<TAB>csv
trap 'rm -f "$RES"' EXIT
echo "# pair: A=$LABEL_A ${POS[0]}  B=$LABEL_B ${POS[1]}  -c $CLIENTS -n $REQUESTS -P $PIPELINE -d $DSIZE -r $KEYSPACE rounds=$ROUNDS${THREADS:+ threads=$THREADS}" >&2
for ((round = 1; round <= ROUNDS; round++)); do
  # Alternate who goes first so warm-up and drift do not favour one side.
  if (( round % 2 )); then order="A B"; else order="B A"; fi
  for w in "${WORK[@]}"; do
    kind=${w%%	*}; arg=${w#*	}
    for side in $order; do
      if [ $side = A ]; then h=$A_HOST; p=$A_PORT; else h=$B_HOST; p=$B_PORT; fi
      lines=$(bench_once "$h" "$p" "$kind" "$arg") || exit 1
      while IFS= read -r l; do
        printf '%s\t%s\t%s\n' "$side" "$round" "$l" >>"$RES"
        if [ -n "$RAW" ]; then printf '%s,%s,%s\n' "$side" "$round" "$l" >>"$RAW"; fi
      done <<<"$lines"
      echo "# round $round $side $(echo "$lines" | cut -d, -f1,2 | tr '\n' ' ')" >&2
    done
  done
done

# Summary: medians per (test, side). CSV fields: "test","rps","avg","min","p50","p95","p99","max".
# Test names never contain '","', so split on it.
summary=$(awk -F'\t' -v la="$LABEL_A" -v lb="$LABEL_B" -v out="$OUT" '
  function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return "";
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    side = $1; round = $2; line = $3
    sub(/^"/, "", line); sub(/"$/, "", line)
    nf = split(line, f, "\",\"")
    name = f[1]
    if (!(name in seen)) { seen[name] = 1; order[++ntest] = name }
    k = name SUBSEP side
    rps[k] = rps[k] " " f[2]; p50[k] = p50[k] " " f[5]; p99[k] = p99[k] " " f[7]
    if (side == "A") ra[name, round] = f[2]; else rb[name, round] = f[2]
    rounds[name, round] = 1
  }
  END {
    fmt = "%-28s %12s %12s %7s %15s %9s %9s %9s %9s\n"
    printf fmt, "test", la " rps", lb " rps", "A/B", "A/B range", la " p50", la " p99", lb " p50", lb " p99"
    if (out != "") print "test,a_rps,b_rps,ratio,ratio_min,ratio_max,a_p50_ms,a_p99_ms,b_p50_ms,b_p99_ms" > out
    for (i = 1; i <= ntest; i++) {
      name = order[i]; ka = name SUBSEP "A"; kb = name SUBSEP "B"
      a = med(rps[ka]); b = med(rps[kb])
      rmin = ""; rmax = ""
      for (r = 1; r <= 1000; r++) if ((name, r) in rounds && rb[name, r] > 0) {
        q = ra[name, r] / rb[name, r]
        if (rmin == "" || q < rmin) rmin = q; if (rmax == "" || q > rmax) rmax = q
      }
      ratio = (b > 0) ? sprintf("%.2f", a / b) : "n/a"
      range = (rmin != "") ? sprintf("%.2f-%.2f", rmin, rmax) : "n/a"
      printf fmt, substr(name, 1, 28), sprintf("%.0f", a), sprintf("%.0f", b), ratio, range,
        med(p50[ka]) "ms", med(p99[ka]) "ms", med(p50[kb]) "ms", med(p99[kb]) "ms"
      if (out != "") printf "\"%s\",%.0f,%.0f,%s,%.3f,%.3f,%s,%s,%s,%s\n", name, a, b, ratio, rmin, rmax,
        med(p50[ka]), med(p99[ka]), med(p50[kb]), med(p99[kb]) > out
    }
  }' "$RES")
echo "# A=$LABEL_A ${POS[0]}  B=$LABEL_B ${POS[1]}  -c $CLIENTS -n $REQUESTS -P $PIPELINE -d $DSIZE -r $KEYSPACE, median of $ROUNDS rounds"
echo "$summary"
