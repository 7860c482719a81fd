#!/usr/bin/env python3
"""Differential tester: replay command sequences against two RESP servers and
compare the raw reply bytes of every command.

Usage:
  diff_redis.py [--a-cmd 'SERVER_CMD' | --a HOST:PORT] [--b-cmd 'SERVER_CMD' | --b HOST:PORT]
                [--cases FILE] [--case N ...] [--show] [--keep]
  diff_redis.py                                   # Slowpoke (default binary) vs redis-server
  diff_redis.py --a-cmd redis --b-cmd redis       # two redis-servers: must report no diff
  diff_redis.py --a 127.0.0.1:7000 --b 127.0.0.1:6379   # NOTE: sends FLUSHALL to both

A SERVER_CMD is a command template with {port} and {dir} (a free loopback port
and a fresh directory), as in scripts/lib.sh; the word `redis` means
  redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --save '' --daemonize no
Defaults: A = target/release/slowpoke --port {port} --bind 127.0.0.1 --dir {dir}, B = redis.
Servers started here run in their own process group and are stopped (SIGTERM,
then SIGKILL) on exit. Standard library only.

Case file (default scripts/diff_cases.txt): one command per line in redis-cli
quoting ("..." with \\n \\r \\t \\xHH \\" \\\\ escapes, '...' literal, bare words);
a blank line ends a case; `#` starts a comment line. Every case runs on fresh
connections and begins with FLUSHALL (sent by this tool; its reply is compared
too). Lines starting with `!` are directives:
  !sleep SECONDS     wait (for expiry cases; keep margins wide)
  !conn N            send the following commands on connection N (1 is the default;
                     each connection opens lazily, in RESP2)
  !inline TEXT       send TEXT + CRLF as an inline command, compare one reply
A command line starting with `?` is compared by shape only: reply types, aggregate
sizes and map keys, not the values (for HELLO, whose id and version differ).

Output: one DIFF block per differing reply (case number, file line, command, both
replies as Python bytes literals), then "diff_redis: N passed, N failed" counting
cases. Exit status 1 if any reply differed, 2 on bad usage or a server that did not start.
"""
import argparse
import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_A = os.path.join(ROOT, "target/release/slowpoke") + " --port {port} --bind 127.0.0.1 --dir {dir}"
REDIS = "redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --save '' --daemonize no"
REPLY_TIMEOUT = 10.0


# ------------------------------------------------------------------ quoting
def split_args(line):
    """Split a line like redis-cli (sdssplitargs): returns a list of bytes, or raises ValueError."""
    out, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced double quote")
                c = line[i]
                if c == "\\" and i + 1 < n:
                    nx = line[i + 1]
                    if nx == "x" and i + 3 < n and all(h in "0123456789abcdefABCDEF" for h in line[i + 2:i + 4]):
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "a": b"\a"}.get(nx, nx.encode())
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    break
                cur += c.encode()
                i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced single quote")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if c == "'":
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    break
                cur += c.encode()
                i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
        out.append(bytes(cur))


def encode_command(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


# ------------------------------------------------------------------ RESP framing
AGG = {b"*": 1, b"~": 1, b">": 1, b"%": 2, b"|": 2}


def frame_end(buf, pos):
    """End offset of the complete RESP2/RESP3 reply starting at pos, or None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    t, head = bytes(buf[pos:pos + 1]), bytes(buf[pos + 1:nl])
    end = nl + 2
    if t in (b"$", b"=", b"!"):  # blob string, verbatim string, blob error
        if head == b"?":
            raise ValueError("streamed strings are not supported")
        size = int(head)
        if size < 0:
            return end
        return end + size + 2 if len(buf) >= end + size + 2 else None
    if t in AGG:
        count = int(head)
        if t == b"|":  # an attribute map precedes the actual reply
            for _ in range(count * 2):
                end = frame_end(buf, end)
                if end is None:
                    return None
            return frame_end(buf, end)
        for _ in range(max(count, 0) * AGG[t]):
            end = frame_end(buf, end)
            if end is None:
                return None
        return end
    if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return end
    raise ValueError(f"not RESP: {bytes(buf[pos:pos + 40])!r}")


def shape(buf, pos=0):
    """(shape, end): a structural description of one reply, values left out but map keys kept."""
    nl = buf.find(b"\r\n", pos)
    t, head = bytes(buf[pos:pos + 1]), bytes(buf[pos + 1:nl])
    end = nl + 2
    if t in (b"$", b"=", b"!"):
        size = int(head)
        return (t.decode() + ("nil" if size < 0 else ""), end if size < 0 else end + size + 2)
    if t in AGG and t != b"|":
        count, items = int(head), []
        for _ in range(max(count, 0)):
            if t == b"%":
                ks = frame_end(buf, end)
                key = bytes(buf[end:ks])
                vs, end = shape(buf, ks)
                items.append((key, vs))
            else:
                s, end = shape(buf, end)
                items.append(s)
        return ((t.decode(), count, tuple(items)), end)
    if t == b"|":
        for _ in range(int(head) * 2):
            end = frame_end(buf, end)
        return shape(buf, end)
    if t == b"-":  # errors are compared whole
        return (bytes(buf[pos:end]), end)
    return (t.decode(), end)


class Conn:
    def __init__(self, addr):
        host, port = addr
        self.s = socket.create_connection((host, port), timeout=REPLY_TIMEOUT)
        self.s.settimeout(REPLY_TIMEOUT)
        self.buf = bytearray()

    def send(self, data):
        self.s.sendall(data)

    def read_reply(self):
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            end = frame_end(self.buf, 0) if self.buf else None
            if end is not None:
                reply = bytes(self.buf[:end])
                del self.buf[:end]
                return reply
            if time.monotonic() > deadline:
                raise TimeoutError("no complete reply")
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ------------------------------------------------------------------ servers
class Server:
    """A server this tool started (or an address it was given)."""

    def __init__(self, label, addr=None, template=None, keep=False):
        self.label, self.proc, self.dir, self.keep = label, None, None, keep
        if addr:
            host, _, port = addr.rpartition(":")
            self.addr = (host or "127.0.0.1", int(port))
            return
        template = REDIS if template == "redis" else template
        self.dir = tempfile.mkdtemp(prefix=f"diff_redis.{label}.")
        port = free_port()
        cmd = template.replace("{port}", str(port)).replace("{dir}", self.dir)
        self.addr = ("127.0.0.1", port)
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.cmd = cmd
        self.proc = subprocess.Popen(["bash", "-c", "exec " + cmd], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)
        self.wait_ready(60)

    def wait_ready(self, secs):
        deadline = time.monotonic() + secs
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with status {self.proc.returncode}: {self.cmd}\n{self.tail()}")
            try:
                c = Conn(self.addr)
                c.send(encode_command([b"PING"]))
                r = c.read_reply()
                c.close()
                if r == b"+PONG\r\n":
                    return
                last = repr(r)
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not answer PING within {secs}s ({last}): {self.cmd}\n{self.tail()}")

    def tail(self):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        if self.dir and os.path.isdir(self.dir):
            if self.keep:
                print(f"# {self.label}: kept {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def describe(self):
        return f"{self.label} {self.addr[0]}:{self.addr[1]}" + (f" ({self.cmd})" if self.proc else "")


_USED_PORTS = set()


def free_port():
    """A loopback port below the ephemeral range that no socket uses (bind test without SO_REUSEADDR)."""
    import random
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = map(int, f.read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    for _ in range(500):
        port = random.randrange(20000, lo) if lo > 21000 else random.randrange(hi + 1, 65536)
        if port in _USED_PORTS:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _USED_PORTS.add(port)
        return port
    raise RuntimeError("no free port found")


# ------------------------------------------------------------------ cases
def load_cases(path):
    """[(first line number, [(line number, kind, payload, text)])]"""
    cases, cur, start = [], [], None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            if cur:
                cases.append((start, cur))
            cur, start = [], None
            continue
        if line.startswith("#"):
            continue
        if start is None:
            start = no
        if line.startswith("!"):
            word, _, rest = line[1:].partition(" ")
            if word == "sleep":
                cur.append((no, "sleep", float(rest), line))
            elif word == "conn":
                cur.append((no, "conn", int(rest), line))
            elif word == "inline":
                cur.append((no, "send", rest.encode() + b"\r\n", line))
            else:
                raise SystemExit(f"{path}:{no}: unknown directive {line!r}")
            continue
        shape_only = line.startswith("?")
        try:
            args = split_args(line[1:] if shape_only else line)
        except ValueError as e:
            raise SystemExit(f"{path}:{no}: {e}: {line!r}")
        cur.append((no, "shape" if shape_only else "send", encode_command(args), line))
    if cur:
        cases.append((start, cur))
    return cases


class Side:
    """The connections of one server during one case."""

    def __init__(self, server):
        self.server, self.conns, self.dead = server, {}, None

    def conn(self, n):
        if n not in self.conns:
            self.conns[n] = Conn(self.server.addr)
        return self.conns[n]

    def roundtrip(self, n, data):
        if self.dead:
            return self.dead
        try:
            c = self.conn(n)
            c.send(data)
            return c.read_reply()
        except (OSError, ConnectionError, TimeoutError, ValueError) as e:
            self.dead = f"<{type(e).__name__}: {e}>".encode()
            return self.dead

    def close(self):
        for c in self.conns.values():
            c.close()


def same(kind, ra, rb):
    if ra == rb:
        return True
    if kind != "shape" or ra.startswith(b"<") or rb.startswith(b"<"):
        return False
    try:
        return shape(ra)[0] == shape(rb)[0]
    except (ValueError, IndexError):
        return False


def run_case(num, path, start, steps, a, b, show):
    sa, sb = Side(a), Side(b)
    diffs = 0
    conn = 1
    try:
        for no, kind, payload, text in [(start, "send", encode_command([b"FLUSHALL"]), "FLUSHALL (added)")] + steps:
            if kind == "sleep":
                time.sleep(payload)
                continue
            if kind == "conn":
                conn = payload
                continue
            ra = sa.roundtrip(conn, payload)
            rb = sb.roundtrip(conn, payload)
            if show:
                print(f"  {no} [{conn}] {text}  =>  {ra!r}" + ("" if ra == rb else f"  |  b: {rb!r}"))
            if not same(kind, ra, rb):
                diffs += 1
                print(f"DIFF case {num} ({path}:{no}), connection {conn}: {text}")
                print(f"  a {a.label}: {ra!r}")
                print(f"  b {b.label}: {rb!r}")
                if kind == "shape":
                    print("  (compared by shape: types, sizes and map keys)")
            if sa.dead or sb.dead:
                side = "a" if sa.dead else "b"
                print(f"  ({side}'s connection is unusable: rest of case {num} skipped)")
                diffs += 0 if sa.dead and sb.dead and sa.dead == sb.dead else 1
                break
    finally:
        sa.close()
        sb.close()
    return diffs


def main():
    global REPLY_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", help="HOST:PORT of a running server A")
    ap.add_argument("--b", help="HOST:PORT of a running server B")
    ap.add_argument("--a-cmd", help="server A command template (default: the Slowpoke binary)")
    ap.add_argument("--b-cmd", help="server B command template (default: redis)")
    ap.add_argument("--a-label", default=None)
    ap.add_argument("--b-label", default=None)
    ap.add_argument("--cases", default=os.path.join(HERE, "diff_cases.txt"))
    ap.add_argument("--case", type=int, action="append", help="run only case N (repeatable; 1-based)")
    ap.add_argument("--show", action="store_true", help="print every command and reply")
    ap.add_argument("--timeout", type=float, default=REPLY_TIMEOUT, help="seconds to wait for one reply")
    ap.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    a = ap.parse_args()
    REPLY_TIMEOUT = a.timeout
    if a.a and a.a_cmd or a.b and a.b_cmd:
        ap.error("give either --a or --a-cmd (and --b or --b-cmd), not both")

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    cases = load_cases(a.cases)
    servers = []
    try:
        for side, addr, cmd, label in (("a", a.a, a.a_cmd, a.a_label), ("b", a.b, a.b_cmd, a.b_label)):
            if not addr and not cmd:
                cmd = DEFAULT_A if side == "a" else "redis"
            if cmd and "{port}" not in cmd and cmd != "redis":
                ap.error(f"--{side}-cmd needs {{port}} (and {{dir}})")
            if cmd and cmd != "redis":
                exe = shlex.split(cmd)[0]
                if "/" in exe and not os.access(exe, os.X_OK):
                    print(f"diff_redis: {exe} not found or not executable (cargo build --release)", file=sys.stderr)
                    return 2
            label = label or (side + ("=redis" if cmd == "redis" else ""))
            servers.append(Server(label, addr=addr, template=cmd, keep=a.keep))
    except RuntimeError as e:
        print(f"diff_redis: {e}", file=sys.stderr)
        return 2
    sa, sb = servers
    print(f"# diff_redis: {len(cases)} cases from {a.cases}")
    print(f"# a: {sa.describe()}\n# b: {sb.describe()}")
    path = os.path.relpath(a.cases)
    passed = failed = total_diffs = 0
    t0 = time.monotonic()
    for num, (start, steps) in enumerate(cases, 1):
        if a.case and num not in a.case:
            continue
        if a.show:
            print(f"case {num} ({path}:{start})")
        d = run_case(num, path, start, steps, sa, sb, a.show)
        total_diffs += d
        if d:
            failed += 1
        else:
            passed += 1
    commands = sum(1 for _, steps in cases for s in steps if s[1] in ("send", "shape")) + len(cases)
    print(f"# {commands} commands in {len(cases)} cases, {total_diffs} differing replies, {time.monotonic() - t0:.1f}s")
    for s in servers:
        if s.proc and s.proc.poll() is not None:
            failed += 1
            print(f"# {s.label} exited during the run (status {s.proc.returncode}); last output:\n{s.tail()}")
    print(f"diff_redis: {passed} passed, {failed} failed")
    for s in servers:
        s.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
