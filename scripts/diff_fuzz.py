#!/usr/bin/env python3
"""Differential fuzzer: seeded random command sequences against two RESP servers.

Usage:
  diff_fuzz.py [--seed S] [--rounds N] [--len L] [--round R] [--show]
               [--a-cmd 'SERVER_CMD' | --a HOST:PORT] [--b-cmd 'SERVER_CMD' | --b HOST:PORT]
  diff_fuzz.py --seed 1 --rounds 200 --len 60       # Slowpoke (default binary) vs redis-server
  diff_fuzz.py --a-cmd redis --b-cmd redis          # two redis-servers: proves the fuzzer is deterministic
  diff_fuzz.py --seed 7 --round 42 --show           # replay one round of a run, every reply printed

Servers are started (and stopped) as in scripts/diff_redis.py, whose server,
connection and RESP code this tool imports. Standard library only.

Each round builds a sequence of --len commands from random.Random(f"{seed}:{round}")
over the string, keyspace, transaction, connection and iteration commands Slowpoke
implements (plus COMMAND GETKEYS of those, CLIENT SETNAME/GETNAME/NO-EVICT,
SELECT): valid forms, every option combination including invalid ones, wrong
arities, mixed-case and unknown names, bad/huge/negative/float numbers, empty and
binary strings, random glob patterns; on a small key space so commands interact,
over two connections (so WATCH sees another client's writes), in RESP2 or RESP3
(HELLO), one command at a time or in pipelines (Slowpoke groups pipelined writes),
with WATCH/MULTI/EXEC blocks; it ends by reading every key's value and PTTL and
DBSIZE from a third connection. Each round starts with FLUSHALL on a fresh
connection and runs on both servers in lockstep; replies are compared byte for
byte, except where the reply is nondeterministic by design:
  TTL/PTTL/EXPIRETIME/PEXPIRETIME  equal, or both positive within 1 s (250 ms)
  KEYS                             the array sorted
  SCAN 0 ...                       iterated to the end on each server (cursors differ
                                   by design); compared as the sorted set of keys
  SCAN inside EXEC                 the element's shape only
  HELLO                            the shape (types, sizes, map keys: ids differ)
  errors                           Redis's text with invalid UTF-8 replaced by U+FFFD
                                   (Slowpoke's texts are UTF-8 on purpose, README)
Relative expiries are long (>= 10,000 s) and never repeat within a round (so GT/LT
never compare two equal "now + x"), absolute ones are fixed times (the past, or
about 2100), so no key expires during a round. SET never gets a past EXAT/PXAT
(Redis keeps such a key until its active expiry finds it, so DBSIZE would depend on
timing); GETEX and EXPIREAT do (Redis deletes at once). Left out because they
differ on purpose (README): FLUSHALL/FLUSHDB after the start (Slowpoke breaks
every WATCH), SELECT and COPY ... DB other than 0, CLIENT SETINFO/NO-TOUCH (Redis
7.2), commands Slowpoke does not implement; and RANDOMKEY (random).

On a divergence the round's sequence is shrunk (greedy delta debugging: drop
chunks of commands while a command of the same name still diverges, then
connection switches and pipelines if not needed) and printed in
scripts/diff_cases.txt syntax, with both raw replies of the diverging command and
the line to replay the round. Prints the number of commands run; exit status 1 on
any divergence, 2 on bad usage or a server that did not start.
"""
import argparse
import collections
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_redis as dr  # noqa: E402

# ------------------------------------------------------------------ generation
KEYS = [b"k0", b"k1", b"k2", b"k3", b"k4", b"", b"k\x00\xff", b"key with space", b"k*", b"k[1]", b"k\\", b"K1",
        b"k10"]
KEY_WEIGHTS = [8, 8, 6, 5, 3, 1, 1, 1, 1, 1, 1, 1, 1]
GLOB_CHARS = b"kK01*?[]^!-\\ae"

PATTERNS = [b"*", b"k*", b"k?", b"k[0-2]", b"k[^1]", b"*1*", b"k[1-0]", b"\\*", b"[", b"k[", b"*\\",
            b"", b"k\\1", b"key*", b"k[!0]", b"*[a-z]", b"k\x00*", b"*e*s*", b"??", b"[k]0", b"K*"]
INT_EDGE = [b"0", b"1", b"-1", b"2", b"10", b"100", b"-100", b"9223372036854775807", b"-9223372036854775808",
            b"9223372036854775806", b"-9223372036854775807", b"4611686018427387904", b"1000000"]
INT_BAD = [b"", b" 1", b"1 ", b"+1", b"01", b"-0", b"1.0", b"1.5", b"0x10", b"1e3", b"abc", b"9223372036854775808",
           b"-9223372036854775809", b"99999999999999999999999", b"\x001", b"1\x00", b"--1", b"-", b"\xef\xbc\x91"]
FLOAT_EDGE = [b"0", b"1", b"-1", b"0.1", b"-0.1", b"1.5", b"-0", b"-0.0", b"1e3", b"1E3", b"1e-3", b"3.0e2", b"5.0e3",
              b"1e308", b"-1e308", b"1.7976931348623157e308", b"1e-300", b"4.9e-324", b"1e309", b".5", b"5.",
              b"0.30000000000000004", b"123456789012345678901234567890", b"1.23456789012345678901234567890",
              b"10.5", b"-10.5", b"3.14159265358979323846", b"9223372036854775807", b"0x10", b"1e", b"e1",
              b"inf", b"-inf", b"+inf", b"nan", b"Infinity", b" 1", b"1 ", b"", b"abc", b"1.5x", b"+1.5", b"00.5",
              b"1e+2", b"1e400", b"-1e400", b"2.5e-310", b"0.000001", b"1000000000000000000000"]
STR_VALS = [b"", b"v", b"abc", b"hello world", b"\x00", b"\x00\x01\xff\r\n", b"\r\n", b"foo bar baz", b"*",
            b"\xe2\x82\xac", b"x" * 40]
PAST_S = [b"1", b"1000", b"1600000000"]
FUTURE_S = [b"4102444800", b"4102444801", b"4102444900", b"4102444799"]
HUGE = [b"9223372036854775807", b"9223372036854775", b"9223372036854776", b"9223372036854774", b"9223372036854",
        b"-9223372036854775808", b"-9223372036854775", b"-9223372036854776", b"4611686018427387904"]
NAMES_UNKNOWN = [b"GETT", b"SETT", b"FOO", b"EXPIREATT", b"MULTII", b"ge t", b"", b"\xff\xfe", b"GETALL", b"XYZZY"]


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.used_ms = set()

    # ---- atoms
    def key(self):
        return self.r.choices(KEYS, KEY_WEIGHTS)[0]

    def keys(self, lo=1, hi=4):
        return [self.key() for _ in range(self.r.randint(lo, hi))]

    def int_arg(self):
        r = self.r.random()
        if r < 0.45:
            return str(self.r.randint(-20, 20)).encode()
        if r < 0.7:
            return self.r.choice(INT_EDGE)
        if r < 0.85:
            return str(self.r.randint(-(10 ** self.r.randint(1, 18)), 10 ** self.r.randint(1, 18))).encode()
        return self.r.choice(INT_BAD)

    def float_arg(self):
        r = self.r.random()
        if r < 0.1:  # long double range, long mantissas
            digits = "".join(self.r.choice("0123456789") for _ in range(self.r.randint(1, 40)))
            dot = self.r.randint(0, len(digits))
            mant = (digits[:dot] + "." + digits[dot:]) if self.r.random() < 0.7 else digits
            exp = self.r.choice(["", "e%d" % self.r.randint(-4960, 4960), "e%d" % self.r.randint(-30, 30),
                                 "E+%d" % self.r.randint(0, 400)])
            return (self.r.choice(["", "-", "+"]) + mant + exp).encode()
        if r < 0.35:
            return self.r.choice(FLOAT_EDGE)
        if r < 0.55:
            return str(self.r.randint(-1000, 1000)).encode()
        if r < 0.75:
            return repr(self.r.uniform(-1e6, 1e6)).encode()
        if r < 0.9:
            m = self.r.choice(["%.3f", "%.17g", "%g", "%.1e", "%.20f", "%e"])
            return (m % (self.r.uniform(-10, 10) * 10 ** self.r.randint(-20, 20))).encode()
        return self.int_arg()

    def pattern(self):
        if self.r.random() < 0.5:
            return self.r.choice(PATTERNS)
        return bytes(self.r.choice(GLOB_CHARS) for _ in range(self.r.randint(1, 7)))

    def value(self):
        r = self.r.random()
        if r < 0.02:  # numbers around Redis's 5 KB float parsing limit
            return self.r.choice([b"1" * 5120, b"1" * 5121, b"0." + b"0" * 5117 + b"1", b"0." + b"0" * 5200 + b"1",
                                  b"1" * 21, b"1" * 400])
        if r < 0.3:
            return self.r.choice(STR_VALS)
        if r < 0.55:
            return self.int_arg()
        if r < 0.75:
            return self.float_arg()
        if r < 0.9:
            n = self.r.choice([1, 2, 5, 16, 100, 1000, 5000])
            return bytes(self.r.choice(b"abcxyz0123456789") for _ in range(n))
        return bytes(self.r.randrange(256) for _ in range(self.r.randint(0, 20)))

    def _unique_ms(self, sec_unit):
        """A fresh relative expiry >= 10,000 s, at least 500 ms from any other of this round."""
        while True:
            s = self.r.randint(10_000, 2_000_000)
            ms = s * 1000 + (0 if sec_unit else 500)
            if ms not in self.used_ms:
                self.used_ms.add(ms)
                return s if sec_unit else ms

    def rel_time(self, ms):
        r = self.r.random()
        if r < 0.7:
            return str(self._unique_ms(not ms)).encode()
        if r < 0.78:
            return self.r.choice([b"0", b"-1", b"-100", b"-9999"])
        if r < 0.9:
            return self.r.choice(HUGE)
        return self.r.choice(INT_BAD)

    def abs_time(self, ms, past=True):
        r = self.r.random()
        if r < 0.4 or not past and r < 0.78:
            v = self.r.choice(FUTURE_S)
        elif r < 0.7:
            v = self.r.choice(PAST_S)
        elif r < 0.78:
            v = self.r.choice([b"0", b"-1"])
        elif r < 0.9:
            return self.r.choice(HUGE)
        else:
            return self.r.choice(INT_BAD)
        if ms and v not in (b"0", b"-1"):
            v += self.r.choice([b"000", b"000", b"001", b"999"])
        return v

    def word(self, w):
        """An option keyword, sometimes in mixed case."""
        if self.r.random() < 0.25:
            return bytes(c ^ 0x20 if chr(c).isalpha() and self.r.random() < 0.5 else c for c in w)
        return w

    def expire_opt(self, past=True):
        """SET/GETEX expiry options, sometimes malformed. SET leaves a key whose
        EXAT/PXAT is in the past for Redis's active expiry, so DBSIZE would
        depend on timing: SET gets past=False."""
        kind = self.r.choice([b"EX", b"PX", b"EXAT", b"PXAT"])
        t = self.rel_time(kind == b"PX") if kind in (b"EX", b"PX") else self.abs_time(kind == b"PXAT", past)
        if self.r.random() < 0.05:
            return [self.word(kind)]  # missing value
        return [self.word(kind), t]

    # ---- commands
    def command(self):
        r = self.r
        c = r.choices(list(self.TABLE), [w for w, _ in self.TABLE.values()])[0]
        args = self.TABLE[c][1](self)
        argv = [c] + args
        x = r.random()
        if x < 0.04 and len(argv) > 1:
            argv = argv[:r.randint(1, len(argv) - 1)]  # too few arguments (sometimes still valid)
        elif x < 0.07:
            argv = argv + [r.choice([self.key(), self.value(), b"NX", b"EX", b"10"])]  # one too many
        if r.random() < 0.15:
            argv[0] = bytes(ch ^ 0x20 if chr(ch).isalpha() and r.random() < 0.5 else ch for ch in argv[0])
        if r.random() < 0.01:
            argv[0] = r.choice(NAMES_UNKNOWN)
        if argv[0].lower() == b"scan" and len(argv) > 1:
            digits = argv[1].split(b"\x00")[0].lstrip(b"+-")  # what strtoul reads
            if digits.isdigit() and int(digits) != 0:
                argv[1] = b"0"  # a cursor SCAN did not hand out: Redis answers in hash order
        if argv[0].lower() == b"command" and len(argv) == 1:
            argv.append(b"GETKEYS")  # bare COMMAND lists commands in hash order (and Redis has more)
        if argv[0].lower() == b"set":  # an extra argument may have made a past EXAT/PXAT
            for i in range(3, len(argv) - 1):
                unit = {b"exat": 1, b"pxat": 1000}.get(argv[i].lower())
                if unit and argv[i + 1].isdigit() and 0 < int(argv[i + 1]) < 4102444800 * unit:
                    argv[i + 1] = str(4102444800 * unit).encode()
        return argv

    def g_set(self):
        r = self.r
        args = [self.key(), self.value()]
        pool = [[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], None, None, None, [b"PERSIST"], [b"FOO"], [b"EX"]]
        for _ in range(r.choices([0, 1, 2, 3, 4], [3, 4, 3, 1, 0.3])[0]):
            o = r.choice(pool)
            args += self.expire_opt(past=False) if o is None else [self.word(w) for w in o]
        return args

    def g_getex(self):
        r = self.r
        args = [self.key()]
        for _ in range(r.choices([0, 1, 2], [3, 6, 1])[0]):
            if r.random() < 0.2:
                args.append(self.word(r.choice([b"PERSIST", b"KEEPTTL", b"NX", b"FOO"])))
            else:
                args += self.expire_opt()
        return args

    def g_expire(self, ms, absolute):
        r = self.r
        args = [self.key(), self.abs_time(ms) if absolute else self.rel_time(ms)]
        for _ in range(r.choices([0, 1, 2], [5, 4, 1])[0]):
            args.append(self.word(r.choice([b"NX", b"XX", b"GT", b"LT", b"NX", b"XX", b"GT", b"LT", b"FOO"])))
        return args

    def g_mset(self):
        n = self.r.randint(1, 3)
        args = []
        for _ in range(n):
            args += [self.key(), self.value()]
        return args

    def g_range(self):
        def off():
            r = self.r.random()
            if r < 0.7:
                return str(self.r.randint(-12, 12)).encode()
            if r < 0.85:
                return self.r.choice(INT_EDGE)
            return self.int_arg()
        return [self.key(), off(), off()]

    def g_setrange(self):
        r = self.r.random()
        if r < 0.75:
            off = str(self.r.randint(-2, 30)).encode()
        elif r < 0.85:
            off = self.r.choice([b"536870912", b"1000000000", b"100000", b"9223372036854775807"])
        else:
            off = self.int_arg()
            if off.isdigit() and 1_000_000 < int(off) < 536_870_912:
                off = b"536870912"  # a valid offset this large would build a ~0.5 GB string
        v = self.value() if self.r.random() < 0.8 else b""
        return [self.key(), off, v]

    def g_copy(self):
        r = self.r
        args = [self.key(), self.key()]
        for _ in range(r.choices([0, 1, 2], [5, 4, 1])[0]):
            if r.random() < 0.6:
                args.append(self.word(b"REPLACE"))
            else:
                args += [self.word(b"DB"), r.choice([b"0", b"abc", b"-1", b"16", b"1.5"])]
        return args

    def g_scan(self):
        r = self.r
        cur = b"0" if r.random() < 0.9 else r.choice([b"abc", b"", b"1.5", b"1x", b"0x10", b"-"])
        args = [cur]
        for _ in range(r.choices([0, 1, 2, 3], [3, 4, 2, 1])[0]):
            o = r.choice([b"MATCH", b"COUNT", b"TYPE", b"FOO"])
            if o == b"MATCH":
                args += [self.word(o), self.pattern()]
            elif o == b"COUNT":
                args += [self.word(o), r.choice([b"1", b"2", b"3", b"10", b"1000", b"0", b"-1", b"abc", b"",
                                                           b"9223372036854775807", b"-9223372036854775808",
                                                           b"1.5", b"99999999999999999999"])]
            elif o == b"TYPE":
                args += [self.word(o), r.choice([b"string", b"STRING", b"hash", b"list", b"foo", b""])]
            else:
                args += [o] if r.random() < 0.5 else [o, b"bar"]
        if r.random() < 0.05:
            args.pop()
        return args

    def g_hello(self):
        r = self.r
        args = [r.choice([b"3", b"2", b"3", b"2", b"4", b"abc", b"1", b"-1", b"3.0"])] if r.random() < 0.9 else []
        if args and r.random() < 0.2:
            args += r.choice([[self.word(b"SETNAME"), r.choice([b"fuzz", b"a b", b"", b"x\x00y"])],
                              [self.word(b"AUTH"), b"default"], [self.word(b"FOO")], [self.value()]])
        return args

    TABLE = {
        b"GET": (8, lambda g: [g.key()]),
        b"SET": (12, g_set),
        b"SETNX": (2, lambda g: [g.key(), g.value()]),
        b"SETEX": (2, lambda g: [g.key(), g.rel_time(False), g.value()]),
        b"PSETEX": (2, lambda g: [g.key(), g.rel_time(True), g.value()]),
        b"GETSET": (2, lambda g: [g.key(), g.value()]),
        b"GETDEL": (2, lambda g: [g.key()]),
        b"GETEX": (3, g_getex),
        b"MGET": (2, lambda g: g.keys()),
        b"MSET": (2, g_mset),
        b"MSETNX": (2, g_mset),
        b"APPEND": (3, lambda g: [g.key(), g.value()]),
        b"STRLEN": (2, lambda g: [g.key()]),
        b"GETRANGE": (3, g_range),
        b"SUBSTR": (1, g_range),
        b"SETRANGE": (3, g_setrange),
        b"INCR": (3, lambda g: [g.key()]),
        b"DECR": (2, lambda g: [g.key()]),
        b"INCRBY": (3, lambda g: [g.key(), g.int_arg()]),
        b"DECRBY": (2, lambda g: [g.key(), g.int_arg()]),
        b"INCRBYFLOAT": (5, lambda g: [g.key(), g.float_arg()]),
        b"DEL": (3, lambda g: g.keys()),
        b"UNLINK": (1, lambda g: g.keys()),
        b"EXISTS": (3, lambda g: g.keys()),
        b"TOUCH": (1, lambda g: g.keys()),
        b"TYPE": (2, lambda g: [g.key()]),
        b"RENAME": (2, lambda g: [g.key(), g.key()]),
        b"RENAMENX": (2, lambda g: [g.key(), g.key()]),
        b"COPY": (2, g_copy),
        b"DBSIZE": (2, lambda g: []),
        b"EXPIRE": (3, lambda g: g.g_expire(False, False)),
        b"PEXPIRE": (3, lambda g: g.g_expire(True, False)),
        b"EXPIREAT": (3, lambda g: g.g_expire(False, True)),
        b"PEXPIREAT": (3, lambda g: g.g_expire(True, True)),
        b"TTL": (3, lambda g: [g.key()]),
        b"PTTL": (2, lambda g: [g.key()]),
        b"PERSIST": (2, lambda g: [g.key()]),
        b"EXPIRETIME": (2, lambda g: [g.key()]),
        b"PEXPIRETIME": (2, lambda g: [g.key()]),
        b"MULTI": (3, lambda g: []),
        b"EXEC": (3, lambda g: []),
        b"DISCARD": (1, lambda g: []),
        b"WATCH": (2, lambda g: g.keys(1, 2)),
        b"UNWATCH": (1, lambda g: []),
        b"ECHO": (1, lambda g: [g.value()]),
        b"PING": (1, lambda g: [] if g.r.random() < 0.6 else [g.value()]),
        b"SCAN": (3, g_scan),
        b"KEYS": (2, lambda g: [g.pattern()]),
        b"HELLO": (0.4, g_hello),
        b"COMMAND": (0.5, lambda g: [g.word(b"GETKEYS")] + g.command()),
        b"CLIENT": (0.4, lambda g: g.r.choice([[b"SETNAME", b"fuzz"], [b"SETNAME", b""], [b"SETNAME", b"a b"],
                                                [b"GETNAME"], [b"NO-EVICT", b"on"], [b"NO-EVICT", b"off"],
                                                [b"NO-EVICT", b"maybe"], [b"SETNAME"], [b"FOO"]])),
        b"SELECT": (0.2, lambda g: [g.r.choice([b"0", b"16", b"-1", b"abc", b"", b"0.0", b"2147483648"])]),
    }


    def transaction(self, conn):
        """A WATCH ... MULTI ... EXEC block on `conn`, with writes from either
        connection in between: [(connection, argv)]."""
        r = self.r
        out = [(conn, [b"WATCH"] + self.keys(1, 3))]
        for _ in range(r.randint(0, 3)):
            out.append((r.choice([conn, 3 - conn]), self.command()))
        out.append((conn, [b"MULTI"]))
        for _ in range(r.randint(0, 4)):
            out.append((conn, self.command()))
        if r.random() < 0.5:
            out.append((3 - conn, self.command()))
        out.append((conn, [r.choices([b"EXEC", b"DISCARD"], [9, 1])[0]]))
        return out


def generate(seed, rnd, length):
    """[(connection number, argv, batch)] for one round: consecutive commands of
    one connection with the same batch number are sent as one pipeline."""
    rng = random.Random(f"{seed}:{rnd}")
    g = Gen(rng)
    out, conn, batch = [], 1, 0
    while len(out) < length:
        batch += 1
        x = rng.random()
        if rng.random() < 0.1:
            conn = 3 - conn
        if x < 0.06:
            block = g.transaction(conn)
            if rng.random() < 0.3:  # the whole block in one pipeline, when it is all one connection's
                out += [(c, argv, batch if all(c2 == conn for c2, _ in block) else batch + i)
                        for i, (c, argv) in enumerate(block)]
            else:
                out += [(c, argv, batch + i) for i, (c, argv) in enumerate(block)]
            batch += len(block)
        elif x < 0.15:
            out += [(conn, g.command(), batch) for _ in range(rng.randint(2, 12))]
        else:
            out.append((conn, g.command(), batch))
    out = out[:length]
    # The final state, from a third connection (never inside MULTI).
    batch += 1
    out.append((3, [b"MGET"] + KEYS, batch))
    out += [(3, [b"PTTL", k], batch) for k in KEYS]
    out.append((3, [b"DBSIZE"], batch))
    return out


# ------------------------------------------------------------------ comparison
def split_array(reply):
    """The elements of an array reply (list of raw bytes), or None for anything else."""
    if not reply.startswith(b"*"):
        return None
    nl = reply.index(b"\r\n")
    n = int(reply[1:nl])
    if n < 0:
        return None
    items, pos = [], nl + 2
    for _ in range(n):
        end = dr.frame_end(reply, pos)
        items.append(reply[pos:end])
        pos = end
    return items


def bulk_value(item):
    nl = item.index(b"\r\n")
    return item[nl + 2:-2] if item.startswith(b"$") and not item.startswith(b"$-") else item


TIME_TOL = {b"ttl": 1, b"expiretime": 1, b"pttl": 250, b"pexpiretime": 250}


def kind_of(argv):
    """How a command's reply is compared: exact, time, keys, scan (None if not special)."""
    name = argv[0].lower()
    if name in TIME_TOL and len(argv) == 2:
        return "time"
    if name == b"keys" and len(argv) == 2:
        return "keys"
    if name == b"scan" and len(argv) > 1:
        return "scan"
    if name == b"hello":
        return "shape"
    return "exact"


def same_reply(argv, ra, rb, in_exec=False):
    if ra == rb:
        return True
    kind = kind_of(argv)
    if ra.startswith(b"-") and rb.startswith(b"-"):
        # Deliberate (docs/RELIABILITY.md): Slowpoke echoes a client's invalid
        # UTF-8 in an error text as U+FFFD, Redis echoes the raw bytes.
        return ra == rb.decode("utf-8", "replace").encode()
    if ra.startswith(b"-") or rb.startswith(b"-") or ra.startswith(b"<") or rb.startswith(b"<"):
        return False
    if kind == "time":
        if not (ra.startswith(b":") and rb.startswith(b":")):
            return False
        a, b = int(ra[1:-2]), int(rb[1:-2])
        return a > 0 and b > 0 and abs(a - b) <= TIME_TOL[argv[0].lower()]
    if kind == "keys":
        ia, ib = split_array(ra), split_array(rb)
        return ia is not None and ib is not None and sorted(ia) == sorted(ib)
    if kind == "shape":
        try:
            return dr.shape(ra)[0] == dr.shape(rb)[0]
        except (ValueError, IndexError):
            return False
    if kind == "scan" and in_exec:
        try:
            return dr.shape(ra)[0] == dr.shape(rb)[0] or (ra.startswith(b"*2\r\n") and rb.startswith(b"*2\r\n"))
        except (ValueError, IndexError):
            return False
    return False


def same_exec(queued, ra, rb):
    """EXEC replies: element by element with the queued commands' comparisons."""
    if ra == rb:
        return True
    ia, ib = split_array(ra), split_array(rb)
    if ia is None or ib is None or len(ia) != len(ib) or len(ia) != len(queued):
        return False
    return all(same_reply(argv, x, y, in_exec=True) for argv, x, y in zip(queued, ia, ib))


class Side:
    """One server's connections during one run of a sequence."""

    def __init__(self, server):
        self.inner = dr.Side(server)

    def send(self, conn, argv):
        return self.inner.roundtrip(conn, dr.encode_command(argv))

    def scan_all(self, conn, argv):
        """SCAN 0 ... iterated to the end: a synthetic reply holding the sorted set of keys."""
        reply = self.send(conn, argv)
        found, calls = set(), 0
        while True:
            items = split_array(reply)
            if items is None or len(items) != 2 or not items[0].startswith(b"$"):
                return reply  # an error, QUEUED, ...
            found.update(bulk_value(k) for k in split_array(items[1]))
            cursor = bulk_value(items[0])
            calls += 1
            if cursor == b"0":
                return b"<scan: " + repr(sorted(found)).encode() + b">"
            if calls > 10_000:
                return b"<scan did not end>"
            reply = self.send(conn, [argv[0], cursor] + argv[2:])

    def pipeline(self, conn, argvs):
        """Sends argvs in one write, then reads their replies."""
        inner = self.inner
        if inner.dead:
            return [inner.dead] * len(argvs)
        try:
            c = inner.conn(conn)
            c.send(b"".join(dr.encode_command(a) for a in argvs))
            return [c.read_reply() for _ in argvs]
        except (OSError, ConnectionError, TimeoutError, ValueError) as e:
            inner.dead = f"<{type(e).__name__}: {e}>".encode()
            return [inner.dead] * len(argvs)

    def close(self):
        self.inner.close()


def batches(seq):
    """Index ranges [i, j) of the pipelines of seq (a SCAN iteration runs alone)."""
    i = 0
    while i < len(seq):
        j = i + 1
        while (j < len(seq) and seq[j][0] == seq[i][0] and seq[j][2] == seq[i][2]
               and not is_scan(seq[j][1]) and not is_scan(seq[i][1])):
            j += 1
        yield i, j
        i = j


def is_scan(argv):
    return argv[0].lower() == b"scan" and len(argv) > 1


def run_sequence(servers, seq, verbose=False):
    """Runs seq on both servers; None if every reply matched, else (index, reply a, reply b)."""
    sa, sb = Side(servers[0]), Side(servers[1])
    queued = collections.defaultdict(list)
    try:
        for side in (sa, sb):
            side.send(0, [b"FLUSHALL"])
        for i, j in batches(seq):
            conn = seq[i][0]
            if is_scan(seq[i][1]):
                replies = [(sa.scan_all(conn, seq[i][1]), sb.scan_all(conn, seq[i][1]))]
            elif j - i == 1:
                replies = [(sa.send(conn, seq[i][1]), sb.send(conn, seq[i][1]))]
            else:
                argvs = [argv for _, argv, _ in seq[i:j]]
                replies = list(zip(sa.pipeline(conn, argvs), sb.pipeline(conn, argvs)))
            for k, (ra, rb) in enumerate(replies, i):
                argv = seq[k][1]
                name = argv[0].lower()
                if verbose:
                    print(f"  [{conn}{'|' if j - i > 1 else ''}] {cut(quote_line(argv))}  =>  {cut(repr(ra))}"
                          + ("" if ra == rb else f"  |  b: {cut(repr(rb))}"))
                if name == b"exec" and len(argv) == 1 and ra.startswith(b"*"):
                    ok = same_exec(queued[conn], ra, rb)
                else:
                    ok = same_reply(argv, ra, rb)
                if ra == b"+QUEUED\r\n":
                    queued[conn].append(argv)
                elif name in (b"exec", b"discard"):
                    queued[conn] = []
                if not ok or sa.inner.dead or sb.inner.dead:
                    return k, ra, rb
        return None
    finally:
        sa.close()
        sb.close()


# ------------------------------------------------------------------ shrinking and output
def cut(text, n=300):
    return text if len(text) <= n else text[:n] + f"... ({len(text)} chars)"


def quote_arg(a):
    if a and all(0x21 <= c <= 0x7e and c not in b"\"'\\" for c in a) and a[:1] not in (b"#", b"!", b"?"):
        return a.decode()
    out = []
    for c in a:
        if c == 0x22:
            out.append('\\"')
        elif c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c <= 0x7e:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


def quote_line(argv):
    return " ".join(quote_arg(a) for a in argv)


def case_text(seq):
    lines, conn = [], 1
    for i, j in batches(seq):
        c = seq[i][0]
        if c != conn:
            lines.append(f"!conn {c}")
            conn = c
        if j - i > 1:
            lines.append(f"# pipelined: the next {j - i} commands in one write")
        lines += [("?" if kind_of(argv) == "shape" else "") + quote_line(argv) for _, argv, _ in seq[i:j]]
    return "\n".join(lines)


def shrink(servers, seq, name):
    """Greedy delta debugging: drop chunks while a command named `name` still diverges."""
    def fails(s):
        for srv in servers:
            srv.ensure_alive()
        res = run_sequence(servers, s)
        return res is not None and s[res[0]][1][0].lower() == name
    n = max(len(seq) // 2, 1)
    while True:
        i, changed = 0, False
        while i < len(seq):
            cand = seq[:i] + seq[i + n:]
            if cand and fails(cand):
                seq, changed = cand, True
            else:
                i += n
        if n == 1 and not changed:
            break
        n = max(n // 2, 1)
    # Drop connection switches and pipelines the divergence does not need.
    if any(c != 1 for c, _, _ in seq):
        one = [(1, argv, b) for _, argv, b in seq]
        if fails(one):
            seq = one
    single = [(c, argv, k) for k, (c, argv, _) in enumerate(seq)]
    if single != seq and fails(single):
        seq = single
    return seq


# ------------------------------------------------------------------ servers
class FuzzServer(dr.Server):
    """A diff_redis Server that can be restarted after a crash (for shrinking)."""

    def __init__(self, label, addr=None, template=None, keep=False):
        self.args = (label, addr, template, keep)
        super().__init__(label, addr=addr, template=template, keep=keep)

    def crashed(self):
        return self.proc is not None and self.proc.poll() is not None

    def ensure_alive(self):
        if self.crashed():
            self.stop()
            self.__init__(*self.args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=100, help="sequences to run (default 100)")
    ap.add_argument("--len", type=int, default=60, help="commands per sequence (default 60)")
    ap.add_argument("--round", type=int, help="run only this round of the seed")
    ap.add_argument("--max-failures", type=int, default=3, help="stop after this many diverging rounds")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--show", action="store_true", help="print every command and reply of the rounds run")
    ap.add_argument("--a", help="HOST:PORT of a running server A (NOTE: sends FLUSHALL)")
    ap.add_argument("--b", help="HOST:PORT of a running server B")
    ap.add_argument("--a-cmd", help="server A command template (default: the Slowpoke binary)")
    ap.add_argument("--b-cmd", help="server B command template (default: redis)")
    ap.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    a = ap.parse_args()
    if a.a and a.a_cmd or a.b and a.b_cmd:
        ap.error("give either --a or --a-cmd (and --b or --b-cmd), not both")

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    servers = []
    try:
        for side, addr, cmd in (("a", a.a, a.a_cmd), ("b", a.b, a.b_cmd)):
            if not addr and not cmd:
                cmd = dr.DEFAULT_A if side == "a" else "redis"
            if cmd and cmd != "redis":
                exe = cmd.split()[0]
                if "/" in exe and not os.access(exe, os.X_OK):
                    print(f"diff_fuzz: {exe} not found or not executable (cargo build --release)", file=sys.stderr)
                    return 2
            servers.append(FuzzServer(side + ("=redis" if cmd == "redis" else ""), addr=addr, template=cmd,
                                      keep=a.keep))
    except RuntimeError as e:
        print(f"diff_fuzz: {e}", file=sys.stderr)
        return 2
    print(f"# diff_fuzz: seed {a.seed}, " + (f"round {a.round}" if a.round is not None else f"{a.rounds} rounds")
          + f" of {a.len} commands")
    print(f"# a: {servers[0].describe()}\n# b: {servers[1].describe()}")
    rounds = [a.round] if a.round is not None else range(a.rounds)
    t0, commands, failures = time.monotonic(), 0, 0
    for rnd in rounds:
        seq = generate(a.seed, rnd, a.len)
        commands += len(seq)
        if a.show:
            print(f"round {rnd}")
        res = run_sequence(servers, seq, verbose=a.show)
        if res is None:
            continue
        failures += 1
        i, ra, rb = res
        name = seq[i][1][0].lower()
        print(f"DIVERGENCE seed {a.seed} round {rnd} at command {i + 1}: {cut(quote_line(seq[i][1]), 2000)}")
        print(f"  a {servers[0].label}: {ra!r}")
        print(f"  b {servers[1].label}: {rb!r}")
        for srv in servers:
            if srv.crashed():
                print(f"  {srv.label} exited (status {srv.proc.returncode}); last output:\n{srv.tail()}")
        if not a.no_shrink:
            small = shrink(servers, seq[:i + 1], name)
            for srv in servers:
                srv.ensure_alive()
            res = run_sequence(servers, small)
            print(f"  shrunk to {len(small)} commands (diff_cases.txt syntax):")
            print("    " + case_text(small).replace("\n", "\n    "))
            if res:
                j, ra, rb = res
                print(f"  at command {j + 1}: {cut(quote_line(small[j][1]), 2000)}")
                print(f"    a {servers[0].label}: {ra!r}")
                print(f"    b {servers[1].label}: {rb!r}")
        print(f"  replay: {sys.argv[0]} --seed {a.seed} --round {rnd} --len {a.len} --show")
        for srv in servers:
            srv.ensure_alive()
        if failures >= a.max_failures:
            print(f"# stopping after {failures} diverging rounds")
            break
    print(f"# {commands} commands in {len(rounds)} rounds, {time.monotonic() - t0:.1f}s")
    print(f"diff_fuzz: {failures} diverging rounds")
    for s in servers:
        s.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
