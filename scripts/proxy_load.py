#!/usr/bin/env python3
"""Write or read keys through a RESP endpoint (e.g. twemproxy) with pipelined raw RESP.

Standard library only, so it needs no client library and sends nothing but the
commands asked for (twemproxy closes the connection on commands it does not
support, such as the CLIENT SETINFO that redis-py sends on connect).

  proxy_load.py set  --port P --count N [--prefix tw:]    SET prefix<i> val-<i>-<prefix>
  proxy_load.py get  --port P --count N [--prefix tw:]    GET and compare every value
  proxy_load.py get  --port P --keys FILE                 GET the keys listed in FILE
Exit status 0 when every reply is as expected; mismatches are printed (first 10).
"""
import argparse
import socket
import sys


def value_for(key: bytes) -> bytes:
    return b"val-" + key


class Resp:
    def __init__(self, host, port, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-", b":"):
            return line
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        raise ValueError(f"unexpected reply {line[:80]!r}")

    def pipeline(self, cmds):
        out = []
        for c in cmds:
            out.append(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in c))
        self.s.sendall(b"".join(out))
        return [self.reply() for _ in cmds]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("set", "get"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--prefix", default="tw:")
    ap.add_argument("--keys", help="file with one key per line (get mode)")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    if a.keys:
        with open(a.keys, "rb") as f:
            keys = [k for k in f.read().split(b"\n") if k]
    else:
        keys = [b"%s%d" % (a.prefix.encode(), i) for i in range(a.count)]
    c = Resp(a.host, a.port, a.timeout)
    bad = []
    for i in range(0, len(keys), a.batch):
        chunk = keys[i:i + a.batch]
        if a.mode == "set":
            replies = c.pipeline([[b"SET", k, value_for(k)] for k in chunk])
            bad += [(k, r) for k, r in zip(chunk, replies) if r != b"+OK"]
        else:
            replies = c.pipeline([[b"GET", k] for k in chunk])
            bad += [(k, r) for k, r in zip(chunk, replies) if r != value_for(k)]
    for k, r in bad[:10]:
        print(f"  {a.mode} {k.decode(errors='replace')}: got {r!r}")
    print(f"{a.mode}: {len(keys) - len(bad)} of {len(keys)} as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
