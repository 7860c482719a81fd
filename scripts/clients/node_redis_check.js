#!/usr/bin/env node
// node-redis (npm `redis`) with default options against a running server.
// Usage: node node_redis_check.js --port P [--host 127.0.0.1] [--timeout 90]
// Needs `redis` on NODE_PATH (scripts/client_matrix.sh installs it).
'use strict';
const { assert, parseArgs, harness, sleep, parseInfo, expectError } = require('./harness');
const { createClient, WatchError, RESP_TYPES } = require('redis');

async function main() {
  const a = parseArgs(process.argv);
  const version = require('redis/package.json').version;
  const label = `node-redis ${version}`;
  console.log(`# ${label} (default options)`);
  const h = harness(label, a.timeout);
  const p = `cm:noderedis:${process.pid}:`;
  const errors = [];
  const c = createClient({ socket: { host: a.host, port: a.port } });
  const other = createClient({ socket: { host: a.host, port: a.port } });
  c.on('error', (e) => errors.push(e.message));
  other.on('error', (e) => errors.push(e.message));

  let connected = false;
  await h.check('connect handshake (HELLO 3 ...) and PING', async () => {
    await c.connect();
    await other.connect();
    connected = true;
    assert.ok(c.isReady);
    assert.equal(await c.ping(), 'PONG');
    const info = parseInfo(await c.info('server'));
    return `server ${info.redis_version}`;
  }, 20);
  if (!connected) {
    // node-redis never becomes ready when HELLO 3 fails: nothing else can run.
    console.log(`# errors: ${JSON.stringify(errors.slice(0, 3))}`);
    return h.done();
  }

  await h.check('SET/GET/DEL', async () => {
    const k = p + 'k';
    assert.equal(await c.set(k, 'hello'), 'OK');
    assert.equal(await c.get(k), 'hello');
    assert.equal(await c.get(p + 'missing'), null);
    assert.deepEqual(await c.mGet([k, p + 'missing']), ['hello', null]);
    assert.equal(await c.exists(k), 1);
    assert.equal(await c.del([k, p + 'missing']), 1);
    assert.equal(await c.get(k), null);
    assert.equal(await c.set(k, 'a', { NX: true }), 'OK');
    assert.equal(await c.set(k, 'b', { NX: true }), null);
    assert.equal(await c.set(k, 'c', { GET: true }), 'a');
    assert.equal(await c.incrByFloat(p + 'f', 1.5), '1.5');
  });

  await h.check('binary value (Buffer)', async () => {
    const k = p + 'bin';
    const v = Buffer.from([...Array(256).keys()]);
    assert.equal(await c.set(k, v), 'OK');
    const got = await c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(k);
    assert.ok(v.equals(got));
  });

  await h.check('pipeline (auto-pipelined and execAsPipeline)', async () => {
    const sets = [];
    for (let i = 0; i < 200; i++) sets.push(c.set(`${p}pp:${i}`, String(i))); // same tick: one write
    assert.ok((await Promise.all(sets)).every((v) => v === 'OK'));
    const k = p + 'pipe';
    const res = await c.multi().set(k, '1').incr(k).get(k).execAsPipeline();
    assert.deepEqual(res, ['OK', 2, '2']);
  });

  await h.check('MULTI/EXEC', async () => {
    const k = p + 'tx';
    assert.deepEqual(await c.multi().set(k, '10').incr(k).get(k).exec(), ['OK', 11, '11']);
    try {
      await c.multi().set(k, 'x').incr(k).get(k).exec();
      throw new Error('an error inside EXEC did not reject');
    } catch (e) {
      assert.equal(e.constructor.name, 'MultiErrorReply', e.stack);
      assert.equal(e.replies[0], 'OK');
      assert.equal(e.replies[1].message, 'ERR value is not an integer or out of range');
      assert.equal(e.replies[2], 'x');
    }
    // A queueing error (wrong arity) aborts the transaction; node-redis rejects with that
    // queueing error rather than EXEC's EXECABORT.
    await expectError(c.multi().set(k, 'never').addCommand(['GET']).exec(),
      "ERR wrong number of arguments for 'get' command");
    assert.equal(await c.get(k), 'x');
  });

  await h.check('WATCH conflict (retried)', async () => {
    const k = p + 'watched';
    await c.set(k, '100');
    const seen = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await c.watch(k);
      const cur = Number(await c.get(k));
      seen.push(cur);
      if (attempt === 1) await other.set(k, '500'); // concurrent write between WATCH and EXEC
      try {
        await c.multi().set(k, String(cur + 1)).exec();
        break;
      } catch (e) {
        if (!(e instanceof WatchError)) throw e;
      }
    }
    assert.deepEqual(seen, [100, 500]);
    assert.equal(await c.get(k), '501');
    return 'retried once';
  });

  await h.check('scanIterator over 1000 keys', async () => {
    const want = new Set();
    const w = [];
    for (let i = 0; i < 1000; i++) { want.add(`${p}scan:${i}`); w.push(c.set(`${p}scan:${i}`, 'v')); }
    for (let i = 0; i < 300; i++) w.push(c.set(`${p}noscan:${i}`, 'v'));
    await Promise.all(w);
    const got = [];
    for await (const batch of c.scanIterator({ MATCH: `${p}scan:*`, COUNT: 100 })) got.push(...batch);
    const gotSet = new Set(got);
    assert.deepEqual([...gotSet].sort(), [...want].sort());
    return `${got.length} keys, ${got.length - gotSet.size} duplicates`;
  });

  await h.check('expiry (SET EX/PX, TTL)', async () => {
    const k = p + 'exp';
    assert.equal(await c.set(k, 'v', { EX: 100 }), 'OK');
    const ttl = await c.ttl(k);
    assert.ok(ttl >= 98 && ttl <= 100, `TTL ${ttl}`);
    assert.equal(await c.persist(k), 1);
    assert.equal(await c.ttl(k), -1);
    assert.equal(await c.ttl(p + 'missing'), -2);
    assert.equal(await c.set(p + 'short', 'v', { PX: 200 }), 'OK');
    await sleep(500);
    assert.equal(await c.get(p + 'short'), null);
  });

  await h.check('error replies', async () => {
    await expectError(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
    await expectError(c.sendCommand(['NOSUCHCMD', 'x']), "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ");
    await c.set(p + 'e', 'abc');
    await expectError(c.incr(p + 'e'), 'ERR value is not an integer or out of range');
    assert.equal(await c.ping(), 'PONG');
  });

  await h.check('HELLO 3 map fields', async () => {
    const m = await c.hello('3');
    for (const f of ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']) assert.ok(f in m, `missing ${f}: ${JSON.stringify(m)}`);
    assert.equal(m.proto, 3);
    assert.equal(typeof m.id, 'number');
    assert.ok(Array.isArray(m.modules));
    const raw = await c.sendCommand(['HELLO', '3']);
    assert.ok(raw && !Array.isArray(raw) && typeof raw === 'object', `HELLO 3 is a map: ${JSON.stringify(raw)}`);
    return Object.keys(m).map((f) => `${f}=${JSON.stringify(m[f])}`).join(', ');
  });

  await h.check('INFO parse', async () => {
    const info = parseInfo(await c.info());
    assert.ok(info.redis_version, 'redis_version');
    assert.equal(info.loading, '0');
    const db0 = parseInfo(await c.info('keyspace')).db0 || '';
    const keys = Number((db0.match(/keys=(\d+)/) || [])[1]);
    assert.ok(keys >= 1000, `db0: ${db0}`);
    return `${Object.keys(info).length} fields, db0 keys=${keys}`;
  });

  await h.check('CONFIG GET appendfsync (map)', async () => {
    const cfg = await c.configGet('appendfsync');
    assert.ok(['always', 'everysec', 'no'].includes(cfg.appendfsync), JSON.stringify(cfg));
  });

  await h.check('no connection errors reported', async () => {
    assert.deepEqual(errors, []);
  });
  c.destroy();
  other.destroy();
  return h.done();
}

main().then((rc) => process.exit(rc), (e) => { console.log(`FAIL  node-redis: ${e.stack}`); process.exit(1); });
