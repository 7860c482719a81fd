#!/usr/bin/env bash
# cli_check.sh — check a RESP server the way a person meets it: with redis-cli.
#
# Usage: scripts/cli_check.sh [SERVER_CMD]
#   SERVER_CMD  command template of the server under test; {port} and {dir} are
#               replaced by a free loopback port and a fresh data directory.
#               Default: target/release/slowpoke --port {port} --bind 127.0.0.1 --dir {dir}
#               The word `redis` runs Debian's redis-server (AOF on) as the oracle:
#               redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --save '' --daemonize no
#
# Checks (exact expected redis-cli output): PING, SET/GET, binary values, INCR,
# EXPIRE/TTL, DEL, EXISTS, MSET/MGET, error texts, MULTI/EXEC from stdin, DBSIZE,
# `redis-cli --pipe` mass insertion of 100,000 keys, `redis-cli --scan --pattern`,
# KEYRANGE (Slowpoke only: skipped when INFO server has no slowpoke_version),
# and persistence across a SIGTERM restart on the same directory.
# Prints PASS/FAIL per check and a closing "N passed, N failed" line; exit 1 on any
# failure, 2 on bad usage or a server that does not start. Installs nothing
# (scripts/install_deps.sh does). Env: KEEP=1 keeps logs and data.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-} in -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
[ $# -le 1 ] || { echo "usage: $0 [SERVER_CMD]" >&2; exit 2; }
TEMPLATE=$(resolve_server_cmd "${1:-}")
[[ $TEMPLATE == *"{port}"* && $TEMPLATE == *"{dir}"* ]] || { echo "cli_check: SERVER_CMD needs {port} and {dir}" >&2; exit 2; }
for t in redis-cli python3 ss setsid timeout; do
  command -v $t >/dev/null || { echo "cli_check: $t not found (run scripts/install_deps.sh)" >&2; exit 2; }
done
first=${TEMPLATE%% *}
if [[ $first == */* && ! -x $first ]]; then
  echo "cli_check: $first not found or not executable (build it first: cargo build --release)" >&2; exit 2
fi

lib_init cli_check 300
echo "# cli_check: $(redis-cli --version); server: $TEMPLATE"
start_server sut "$TEMPLATE" || exit 2
echo "# server on 127.0.0.1:${SRV_PORT[sut]}, data in ${SRV_DIR[sut]}"
r() { rcli sut "$@" 2>&1 || true; }

# ---------------------------------------------------------------- basics
check "PING" "PONG" "$(r PING)"
check "PING with message" "hello world" "$(r PING 'hello world')"

# Mass insertion first, on the empty server, so DBSIZE is exact.
# Keys pipe:000000..pipe:099999; value of i is "val-<i>-" followed by (i % 97) 'x'.
N=100000
pipe_value() { printf 'val-%d-%s' "$1" "$(printf '%*s' $(($1 % 97)) '' | tr ' ' x)"; }
python3 - "$N" >"$WORK/pipe.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = []
for i in range(n):
    k = b"pipe:%06d" % i
    v = b"val-%d-" % i + b"x" * (i % 97)
    out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
sys.stdout.buffer.write(b"".join(out))
EOF
pipe_out=$(timeout 120 redis-cli -h 127.0.0.1 -p "${SRV_PORT[sut]}" --pipe <"$WORK/pipe.resp" 2>&1 || true)
if grep -q "errors: 0, replies: $N" <<<"$pipe_out"; then pass "--pipe mass insertion of $N SETs"
else fail "--pipe mass insertion of $N SETs" "$pipe_out"; fi
check "DBSIZE after --pipe" "$N" "$(r DBSIZE)"
spot_bad=""
for i in 0 1 96 97 12345 54321 99998 99999 $((RANDOM % N)) $((RANDOM * 3 % N)); do
  k=$(printf 'pipe:%06d' "$i")
  got=$(r GET "$k"); want=$(pipe_value "$i")
  [ "$got" == "$want" ] || spot_bad+="$k: expected '$want' got '$got'"$'\n'
done
check "spot-checked values after --pipe" "" "$spot_bad"

check "SET" "OK" "$(r SET greeting 'hello world')"
check "GET" "hello world" "$(r GET greeting)"
check "GET missing key (nil prints an empty line)" "" "$(r GET no:such:key)"
check "SET overwrites" "OK" "$(r SET greeting bye)"
check "GET after overwrite" "bye" "$(r GET greeting)"

# Binary-ish values: NUL, CR LF, high bytes, then all 256 byte values.
check "SET binary value with -x" "OK" "$(printf 'a\0b\r\n\xff' | r -x SET bin)"
check "GET binary value (--no-raw escapes)" '"a\x00b\r\n\xff"' "$(r --no-raw GET bin)"
check "STRLEN binary value" "6" "$(r STRLEN bin)"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$WORK/all256"
check "SET all 256 byte values" "OK" "$(r -x SET bin256 <"$WORK/all256")"
rcli sut GET bin256 >"$WORK/all256.got" 2>&1 || true
# redis-cli prints the raw bytes followed by a newline.
if head -c 256 "$WORK/all256.got" | cmp -s - "$WORK/all256" && [ "$(wc -c <"$WORK/all256.got")" -eq 257 ]; then
  pass "GET all 256 byte values back byte for byte"
else fail "GET all 256 byte values back byte for byte" "$(od -c "$WORK/all256.got" | head -20)"; fi
big=$(head -c 300000 /dev/zero | tr '\0' 'z')
check "SET 300 kB value" "OK" "$(printf '%s' "$big" | r -x SET bigval)"
check "STRLEN 300 kB value" "300000" "$(r STRLEN bigval)"
check "GET 300 kB value" "$(printf '%s' "$big" | md5sum)" "$(rcli sut GET bigval | head -c 300000 | md5sum)"

check "INCR new key" "1" "$(r INCR counter)"
check "INCR again" "2" "$(r INCR counter)"
check "INCRBY -5" "-3" "$(r INCRBY counter -5)"
check "DECR" "-4" "$(r DECR counter)"
check "GET counter is a string" "-4" "$(r GET counter)"

check "SET for EXPIRE" "OK" "$(r SET tmp v)"
check "TTL without expiry" "-1" "$(r TTL tmp)"
check "EXPIRE" "1" "$(r EXPIRE tmp 100)"
ttl=$(r TTL tmp)
if [[ $ttl =~ ^[0-9]+$ ]] && [ "$ttl" -ge 98 ] && [ "$ttl" -le 100 ]; then pass "TTL after EXPIRE 100 (got $ttl)"
else fail "TTL after EXPIRE 100" "expected 98..100, got '$ttl'"; fi
check "TTL missing key" "-2" "$(r TTL no:such:key)"
check "EXPIRE missing key" "0" "$(r EXPIRE no:such:key 100)"
check "PERSIST" "1" "$(r PERSIST tmp)"
check "TTL after PERSIST" "-1" "$(r TTL tmp)"
check "SET PX 300" "OK" "$(r SET shortlived v PX 300)"
check "key exists before expiry" "1" "$(r EXISTS shortlived)"
sleep 0.8
check "GET after expiry" "" "$(r GET shortlived)"
check "EXISTS after expiry" "0" "$(r EXISTS shortlived)"
check "TTL after expiry" "-2" "$(r TTL shortlived)"

check "SET for DEL" "OK" "$(r SET d1 x)"
check "SET for DEL 2" "OK" "$(r SET d2 x)"
check "EXISTS counts repeats" "3" "$(r EXISTS d1 d2 d1 missing)"
check "DEL two and a missing key" "2" "$(r DEL d1 d2 missing)"
check "EXISTS after DEL" "0" "$(r EXISTS d1 d2)"
check "DEL again" "0" "$(r DEL d1)"

check "MSET" "OK" "$(r MSET m1 one m2 two m3 'three 3')"
check "MGET with a missing key" $'one\n\nthree 3\ntwo' "$(r MGET m1 missing m3 m2)"
check "MGET --no-raw" $'1) "one"\n2) (nil)' "$(r --no-raw MGET m1 missing)"

# Error texts (redis-cli prints them as the bare message followed by an empty line).
check "wrong arity error" "ERR wrong number of arguments for 'get' command" "$(r GET)"
check "wrong arity error (SET)" "ERR wrong number of arguments for 'set' command" "$(r SET onlykey)"
check "unknown command error" "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b c' " \
  "$(r NOSUCHCMD a 'b c')"
check "unknown command without args" "ERR unknown command 'NOSUCHCMD', with args beginning with: " "$(r NOSUCHCMD)"
check "SET for INCR error" "OK" "$(r SET notanint abc)"
check "INCR on a non-integer" "ERR value is not an integer or out of range" "$(r INCR notanint)"
check "INCRBY with a non-integer argument" "ERR value is not an integer or out of range" "$(r INCRBY counter 1.5)"
check "SET syntax error" "ERR syntax error" "$(r SET k v NX XX)"
check "EXPIRE non-integer" "ERR value is not an integer or out of range" "$(r EXPIRE tmp soon)"
check "connection still usable after errors" "PONG" "$(printf 'GET\nNOSUCHCMD\nPING\n' | r | tail -1)"

# MULTI/EXEC with commands on stdin (one connection).
check "MULTI/EXEC from stdin" $'OK\nQUEUED\nQUEUED\nQUEUED\nOK\n11\n11' \
  "$(printf 'MULTI\nSET tx 10\nINCR tx\nGET tx\nEXEC\n' | r)"
check "MULTI/EXEC from stdin (--no-raw)" $'OK\nQUEUED\nQUEUED\n1) OK\n2) "a"' \
  "$(printf 'MULTI\nSET tx2 a\nGET tx2\nEXEC\n' | r --no-raw)"
check "MULTI/DISCARD" $'OK\nQUEUED\nOK\n11' "$(printf 'MULTI\nSET tx 99\nDISCARD\nGET tx\n' | r)"
check "EXEC with an error inside keeps going" \
  $'OK\nQUEUED\nQUEUED\nQUEUED\nOK\nERR value is not an integer or out of range\n\nx' \
  "$(printf 'MULTI\nSET tx3 x\nINCR tx3\nGET tx3\nEXEC\n' | r)"
check "EXECABORT after a queueing error" \
  $'OK\nERR unknown command \'NOSUCHCMD\', with args beginning with: \n\nEXECABORT Transaction discarded because of previous errors.' \
  "$(printf 'MULTI\nNOSUCHCMD\nEXEC\nGET tx4\n' | r)"
check "EXEC without MULTI" "ERR EXEC without MULTI" "$(r EXEC)"

# DBSIZE: the --pipe keys plus the keys set above.
others=(greeting bin bin256 bigval counter tmp m1 m2 m3 notanint tx tx2 tx3)
check "DBSIZE" "$((N + ${#others[@]}))" "$(r DBSIZE)"

# ---------------------------------------------------------------- SCAN
# 5,000 user:* keys among near misses; --scan walks the cursor to 0.
python3 - "$WORK/scan_expected" >"$WORK/scan.resp" <<'EOF'
import sys
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
want = [b"user:%d" % i for i in range(4990)]
want += [b"user:", b"user::", b"user:with space", b"user:*star", b"user:?q", b"user:[x]",
         "user:ünï".encode(), b"user:\\back", b"user:" + b"9" * 200, b"user:tab\there"]
near = [b"user", b"users:1", b"User:1", b"USER:1", b"auser:1", b"user;1", b"user_1", b"xuser:1", b"usr:1"]
near += [b"session:%d" % i for i in range(3000)]
out = [cmd(b"SET", k, b"v") for k in want + near]
sys.stdout.buffer.write(b"".join(out))
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(k + b"\n" for k in sorted(want)))
EOF
pipe_out=$(timeout 60 redis-cli -h 127.0.0.1 -p "${SRV_PORT[sut]}" --pipe <"$WORK/scan.resp" 2>&1 || true)
grep -q "errors: 0, replies: 8009" <<<"$pipe_out" || fail "load SCAN keys" "$pipe_out"
timeout 60 redis-cli -h 127.0.0.1 -p "${SRV_PORT[sut]}" --scan --pattern 'user:*' >"$WORK/scan_got" 2>&1 || true
LC_ALL=C sort -u "$WORK/scan_got" >"$WORK/scan_got_sorted"
LC_ALL=C sort "$WORK/scan_expected" >"$WORK/scan_expected_sorted"
if cmp -s "$WORK/scan_got_sorted" "$WORK/scan_expected_sorted"; then
  pass "--scan --pattern 'user:*' returns exactly the 5000 user:* keys"
else
  fail "--scan --pattern 'user:*' returns exactly the 5000 user:* keys" \
    "$(diff "$WORK/scan_expected_sorted" "$WORK/scan_got_sorted" | head -20)"
fi
dups=$(( $(wc -l <"$WORK/scan_got") - $(wc -l <"$WORK/scan_got_sorted") ))
[ "$dups" -eq 0 ] || echo "# note: --scan returned $dups duplicate keys (SCAN allows this only while the table is resized)"
timeout 30 redis-cli -h 127.0.0.1 -p "${SRV_PORT[sut]}" --scan --pattern 'session:1?9' >"$WORK/scan2" 2>&1 || true
check "--scan --pattern 'session:1?9'" "$(printf 'session:1%d9\n' 0 1 2 3 4 5 6 7 8 9)" \
  "$(LC_ALL=C sort -u "$WORK/scan2")"
check "KEYS with a pattern" $'user:*star\nuser:?q\nuser:[x]' "$(r KEYS 'user:[*?[]*' | LC_ALL=C sort)"

# ---------------------------------------------------------------- KEYRANGE
# Slowpoke's own command (ZRANGEBYLEX notation over the whole keyspace). Keys for it
# start with '!' (below every other key here) or '~' (above), so - and + are testable.
if is_slowpoke sut; then
  for k in a b c d e; do r SET "!kr:$k" "v$k" >/dev/null; r SET "~kr:$k" "w$k" >/dev/null; done
  check "KEYRANGE inclusive" $'!kr:b\n!kr:c\n!kr:d' "$(r KEYRANGE '[!kr:b' '[!kr:d')"
  check "KEYRANGE exclusive" '!kr:c' "$(r KEYRANGE '(!kr:b' '(!kr:d')"
  check "KEYRANGE - to inclusive" $'!kr:a\n!kr:b' "$(r KEYRANGE - '[!kr:b')"
  check "KEYRANGE exclusive to +" $'~kr:d\n~kr:e' "$(r KEYRANGE '(~kr:c' +)"
  check "KEYRANGE LIMIT" $'!kr:b\n!kr:c' "$(r KEYRANGE '[!kr:' '(!kr;' LIMIT 1 2)"
  check "KEYRANGE REV" $'!kr:d\n!kr:c\n!kr:b' "$(r KEYRANGE '[!kr:b' '[!kr:d' REV)"
  check "KEYRANGE REV LIMIT" $'~kr:e\n~kr:d' "$(r KEYRANGE '[~kr:' + REV LIMIT 0 2)"
  check "KEYRANGE WITHVALUES" $'!kr:a\nva\n!kr:b\nvb' "$(r KEYRANGE - '[!kr:b' WITHVALUES)"
  check "KEYRANGE REV LIMIT WITHVALUES" $'~kr:d\nwd' "$(r KEYRANGE '[~kr:' + REV LIMIT 1 1 WITHVALUES)"
  check "KEYRANGE empty range" "" "$(r KEYRANGE '(!kr:a' '(!kr:b')"
  check "KEYRANGE min above max is empty" "" "$(r KEYRANGE '[!kr:d' '[!kr:b')"
  r SET '!kr:bb' gone PX 200 >/dev/null; sleep 0.5
  check "KEYRANGE skips expired keys" $'!kr:b\n!kr:c' "$(r KEYRANGE '[!kr:b' '[!kr:c')"
  r DEL '!kr:c' >/dev/null
  check "KEYRANGE after DEL" $'!kr:b\n!kr:d' "$(r KEYRANGE '[!kr:b' '[!kr:d')"
  out=$(r KEYRANGE '!kr:a' '[!kr:b')
  if [[ $out == ERR* ]]; then pass "KEYRANGE rejects a bound without [ or ( ($out)"
  else fail "KEYRANGE rejects a bound without [ or (" "got: $out"; fi
  check "KEYRANGE wrong arity" "ERR wrong number of arguments for 'keyrange' command" "$(r KEYRANGE '[a')"
  r DEL '!kr:a' '!kr:b' '!kr:bb' '!kr:d' '!kr:e' '~kr:a' '~kr:b' '~kr:c' '~kr:d' '~kr:e' >/dev/null
else
  echo "SKIP  KEYRANGE: skipped on redis (INFO server has no slowpoke_version)"
  N_SKIP=$((N_SKIP + 1))
fi

# ---------------------------------------------------------------- restart
r SET p:1 one >/dev/null; r APPEND p:1 more >/dev/null; r SET p:2 two >/dev/null
r SET p:del x >/dev/null; r DEL p:del >/dev/null
r SET p:ttl v EX 1000 >/dev/null; r SET p:gone v PX 200 >/dev/null
r INCR p:cnt >/dev/null; r INCR p:cnt >/dev/null; r INCR p:cnt >/dev/null
r SET p:over first >/dev/null; r SET p:over second >/dev/null
sleep 0.4
r GET p:gone >/dev/null
# The key set, not DBSIZE, is compared: DBSIZE may count an expired key until the
# server reclaims it (Redis does the same), and a restart reclaims it.
rcli sut KEYS '*' 2>&1 | LC_ALL=C sort >"$WORK/keys.before" || true
rc=0; restart_server sut || rc=$?
case $rc in
  0) pass "SIGTERM stops the server within 30 s" ;;
  1) fail "SIGTERM stops the server within 30 s" "it needed SIGKILL" ;;
  *) fail "restart on the same directory" "$(tail -20 "$WORK/sut.log")"; summary; exit 1 ;;
esac
rcli sut KEYS '*' 2>&1 | LC_ALL=C sort >"$WORK/keys.after" || true
nkeys=$(wc -l <"$WORK/keys.after")
if cmp -s "$WORK/keys.before" "$WORK/keys.after"; then pass "same $nkeys keys after restart"
else fail "same keys after restart" "(< before, > after)
$(diff "$WORK/keys.before" "$WORK/keys.after" | grep '^[<>]' | head -10)"; fi
check "DBSIZE after restart" "$nkeys" "$(r DBSIZE)"
check "APPENDed value after restart" "onemore" "$(r GET p:1)"
check "value after restart" "two" "$(r GET p:2)"
check "overwritten value after restart" "second" "$(r GET p:over)"
check "deleted key stays deleted" "0" "$(r EXISTS p:del)"
check "expired key stays gone" "0" "$(r EXISTS p:gone)"
check "INCRed value after restart" "3" "$(r GET p:cnt)"
ttl=$(r TTL p:ttl)
if [[ $ttl =~ ^[0-9]+$ ]] && [ "$ttl" -ge 900 ] && [ "$ttl" -le 1000 ]; then pass "TTL kept across restart (got $ttl)"
else fail "TTL kept across restart" "expected 900..1000, got '$ttl'"; fi
check "TTL -1 kept across restart" "-1" "$(r TTL p:2)"
check "binary value after restart" '"a\x00b\r\n\xff"' "$(r --no-raw GET bin)"
check "--pipe value after restart" "$(pipe_value 4242)" "$(r GET pipe:004242)"
check "--pipe last value after restart" "$(pipe_value 99999)" "$(r GET pipe:099999)"

summary
