#!/usr/bin/env python3
"""redis-py against a running server: what an application using redis-py does.

Usage: redispy_check.py --port P [--host 127.0.0.1] [--protocol 2|3] [--prefix P]
Without --protocol the client's default is used (RESP3 since redis-py 8); --protocol 3 passes
protocol=3 (redis-py then sends HELLO 3 on connect). Prints PASS/FAIL per check
and exits 1 on any failure. Keys are namespaced with --prefix.
"""
import argparse
import os
import sys
import time
import traceback

import redis

RESULTS = {"pass": 0, "fail": 0}


def check(name, fn):
    try:
        detail = fn()
    except Exception as e:  # a failed check, not a crash of the whole run
        RESULTS["fail"] += 1
        print(f"FAIL  {name}\n      {type(e).__name__}: {e}")
        if not isinstance(e, AssertionError):
            print("      " + traceback.format_exc().strip().splitlines()[-2].strip())
        return
    RESULTS["pass"] += 1
    print(f"PASS  {name}" + (f" ({detail})" if detail else ""))


def eq(want, got, what=""):
    assert want == got, f"{what} expected {want!r}, got {got!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--protocol", type=int, choices=(2, 3))
    ap.add_argument("--prefix", default=None)
    a = ap.parse_args()
    default_proto = redis.utils.DEFAULT_RESP_VERSION if hasattr(redis, "utils") else "?"
    proto = a.protocol or default_proto
    p = a.prefix or f"cm:py{proto}:{os.getpid()}:"
    kw = dict(host=a.host, port=a.port, socket_timeout=10, socket_connect_timeout=5)
    if a.protocol:
        kw["protocol"] = a.protocol
    label = f"redis-py {redis.__version__} RESP{proto}"
    how = f"protocol={a.protocol}" if a.protocol else f"client default, RESP{default_proto}"
    print(f"# {label} ({how})")

    r = redis.Redis(decode_responses=True, **kw)
    rb = redis.Redis(decode_responses=False, **kw)
    other = redis.Redis(decode_responses=True, **kw)  # a second client for concurrent writes

    def handshake():
        assert r.ping() is True, "PING"
        conn = r.connection_pool.get_connection()
        try:
            eq(proto, conn.protocol, "protocol")
            if proto == 3:  # redis-py sent HELLO 3 and checked its proto field
                hm = conn.handshake_metadata or {}
                eq(3, hm.get("proto", hm.get(b"proto")), "HELLO reply proto")
        finally:
            r.connection_pool.release(conn)
        return f"server {r.info('server').get('redis_version', '?')}"
    check(f"{label}: connect handshake and PING", handshake)

    def set_get_del():
        k = p + "k"
        assert r.set(k, "hello") is True
        eq("hello", r.get(k), "GET")
        eq(None, r.get(p + "missing"), "GET missing")
        eq(["hello", None], r.mget([k, p + "missing"]), "MGET")
        eq(1, r.exists(k), "EXISTS")
        eq(1, r.delete(k, p + "missing"), "DEL")
        eq(None, r.get(k), "GET after DEL")
        assert r.set(k, "a", nx=True) is True
        eq(None, r.set(k, "b", nx=True), "SET NX on existing")
        eq("a", r.set(k, "c", get=True), "SET GET")
        eq(5, r.append(k, "defg"), "APPEND")
        eq("cdefg", r.getdel(k), "GETDEL")
    check(f"{label}: SET/GET/DEL", set_get_del)

    def binary():
        k = (p + "bin").encode()
        v = bytes(range(256)) * 3
        assert rb.set(k, v) is True
        eq(v, rb.get(k), "binary GET")
        eq(768, rb.strlen(k), "STRLEN")
    check(f"{label}: binary value", binary)

    def numbers():
        k = p + "n"
        eq(1, r.incr(k))
        eq(11, r.incrby(k, 10))
        eq(10, r.decr(k))
        f = p + "f"
        eq(1.5, r.incrbyfloat(f, 1.5), "INCRBYFLOAT")
        eq("1.5", r.get(f))
    check(f"{label}: INCR/INCRBYFLOAT", numbers)

    def pipeline_tx():
        k = p + "pt"
        pipe = r.pipeline()  # transaction=True by default: MULTI ... EXEC
        pipe.set(k, "1").incr(k).incrby(k, 5).get(k)
        eq([True, 2, 7, "7"], pipe.execute(), "transactional pipeline")
        pipe = r.pipeline()
        pipe.set(k, "x").incr(k).get(k)
        res = pipe.execute(raise_on_error=False)
        assert res[0] is True and res[2] == "x", res
        assert isinstance(res[1], redis.ResponseError), res
        eq("value is not an integer or out of range", str(res[1]), "error inside EXEC")
        pipe = r.pipeline()
        pipe.set(k, "never").execute_command("GET")  # wrong arity: queueing error -> EXECABORT
        try:
            pipe.execute()
            raise AssertionError("EXECABORT pipeline did not raise")
        except redis.ResponseError as e:
            assert "wrong number of arguments for 'get' command" in str(e), str(e)
        eq("x", r.get(k), "value after EXECABORT")
    check(f"{label}: pipeline (transactional, default)", pipeline_tx)

    def pipeline_plain():
        pipe = r.pipeline(transaction=False)
        for i in range(200):
            pipe.set(f"{p}pp:{i}", i)
        for i in range(200):
            pipe.get(f"{p}pp:{i}")
        pipe.incr(p + "pp:0").get(p + "pp:missing").execute_command("GET")
        res = pipe.execute(raise_on_error=False)
        eq([True] * 200, res[:200], "SETs")
        eq([str(i) for i in range(200)], res[200:400], "GETs")
        eq(1, res[400], "INCR")
        eq(None, res[401], "GET missing")
        assert isinstance(res[402], redis.ResponseError), res[402]
    check(f"{label}: pipeline (transaction=False, 403 commands)", pipeline_plain)

    def multi_exec_raw():
        conn = r.connection_pool.get_connection()
        try:
            k = p + "raw"
            conn.send_command("MULTI")
            eq("OK", conn.read_response(), "MULTI")
            conn.send_command("SET", k, "10")
            eq("QUEUED", conn.read_response(), "queued SET")
            conn.send_command("INCR", k)
            eq("QUEUED", conn.read_response(), "queued INCR")
            conn.send_command("EXEC")
            res = conn.read_response()
            eq(["OK", 11], list(res), "EXEC")
            conn.send_command("MULTI")
            conn.read_response()
            conn.send_command("INCR", k)
            conn.read_response()
            conn.send_command("DISCARD")
            eq("OK", conn.read_response(), "DISCARD")
            eq("11", r.get(k), "after DISCARD")
        finally:
            r.connection_pool.release(conn)
    check(f"{label}: MULTI/EXEC/DISCARD on one connection", multi_exec_raw)

    def watch_conflict():
        k = p + "watched"
        r.set(k, "100")
        calls = []

        def fn(pipe):
            cur = int(pipe.get(k))
            calls.append(cur)
            if len(calls) == 1:
                other.set(k, "500")  # a concurrent write between WATCH and EXEC
            pipe.multi()
            pipe.set(k, cur + 1)
        r.transaction(fn, k)
        eq([100, 500], calls, "values seen by the transaction function (retried once)")
        eq("501", r.get(k), "final value")
        with r.pipeline() as pipe:
            pipe.watch(k)
            pipe.multi()
            pipe.set(k, "ok")
            eq([True], pipe.execute(), "WATCH without conflict")
        with r.pipeline() as pipe:
            pipe.watch(k)
            other.set(k, "changed")
            pipe.multi()
            pipe.set(k, "lost")
            try:
                pipe.execute()
                raise AssertionError("EXEC after a conflicting write did not raise WatchError")
            except redis.WatchError:
                pass
        eq("changed", r.get(k), "value after aborted EXEC")
        return "retried once"
    check(f"{label}: WATCH conflict (transaction() retries)", watch_conflict)

    def scan():
        pipe = r.pipeline(transaction=False)
        want = {f"{p}scan:{i}" for i in range(1000)}
        for k in want:
            pipe.set(k, "v")
        for i in range(300):
            pipe.set(f"{p}noscan:{i}", "v")
        pipe.execute()
        got = list(r.scan_iter(match=p + "scan:*", count=100))
        missing, extra = want - set(got), set(got) - want
        assert not missing and not extra, f"missing {sorted(missing)[:5]} extra {sorted(extra)[:5]}"
        got2 = set(r.scan_iter(match=p + "scan:*"))
        eq(want, got2, "scan_iter with the default COUNT")
        return f"{len(got)} keys, {len(got) - len(set(got))} duplicates"
    check(f"{label}: scan_iter over 1000 keys", scan)

    def expiry():
        k = p + "exp"
        assert r.set(k, "v", ex=100)
        ttl = r.ttl(k)
        assert 98 <= ttl <= 100, ttl
        pttl = r.pttl(k)
        assert 97000 < pttl <= 100000, pttl
        assert r.persist(k) is True
        eq(-1, r.ttl(k), "TTL after PERSIST")
        eq(-2, r.ttl(p + "missing"), "TTL missing")
        assert r.expire(k, 1000) is True
        assert r.set(p + "short", "v", px=200)
        time.sleep(0.5)
        eq(None, r.get(p + "short"), "GET after expiry")
        eq(0, r.exists(p + "short"), "EXISTS after expiry")
        assert r.set(p + "sx", "v", exat=int(time.time()) + 50)
        assert 48 <= r.ttl(p + "sx") <= 50
    check(f"{label}: expiry (SET EX/PX, TTL, PTTL, PERSIST)", expiry)

    def errors():
        for args, text in [
            (("GET",), "wrong number of arguments for 'get' command"),
            (("SET", p + "e"), "wrong number of arguments for 'set' command"),
            (("NOSUCHCMD", "x"), "unknown command 'NOSUCHCMD', with args beginning with: 'x' "),
        ]:
            try:
                r.execute_command(*args)
                raise AssertionError(f"{args} did not raise")
            except redis.ResponseError as e:
                eq(text, str(e), f"{args[0]} error text")
        r.set(p + "e", "abc")
        try:
            r.incr(p + "e")
            raise AssertionError("INCR on a string did not raise")
        except redis.ResponseError as e:
            eq("value is not an integer or out of range", str(e), "INCR error")
        assert r.ping() is True, "connection usable after errors"
    check(f"{label}: error replies", errors)

    if proto == 3:
        def hello3():
            h = r.execute_command("HELLO", "3")
            assert isinstance(h, dict), f"HELLO 3 is a map, got {type(h).__name__}: {h!r}"
            want = {"server", "version", "proto", "id", "mode", "role", "modules"}
            assert want <= set(h), f"HELLO 3 fields {sorted(h)} lack {sorted(want - set(h))}"
            eq(3, h["proto"], "proto")
            assert isinstance(h["id"], int), h["id"]
            assert isinstance(h["modules"], list), h["modules"]
            return ", ".join(f"{k}={h[k]}" for k in sorted(h))
        check(f"{label}: HELLO 3 map fields", hello3)

    def info():
        i = r.info()
        assert isinstance(i, dict) and i, i
        assert "redis_version" in i, sorted(i)[:20]
        eq(0, i.get("loading"), "loading")
        s = r.info("server")
        assert "redis_version" in s, sorted(s)
        ks = r.info("keyspace")
        assert "db0" in ks and ks["db0"]["keys"] >= 1000, ks
        return f"{len(i)} fields, db0 keys={ks['db0']['keys']}"
    check(f"{label}: INFO parse", info)

    def config_get():
        c = r.config_get("appendfsync")
        assert isinstance(c, dict), c
        assert c.get("appendfsync") in ("always", "everysec", "no"), c
        return f"appendfsync={c['appendfsync']}"
    check(f"{label}: CONFIG GET appendfsync", config_get)

    for c in (r, rb, other):
        c.close()
    print(f"# {label}: {RESULTS['pass']} passed, {RESULTS['fail']} failed")
    return 1 if RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
