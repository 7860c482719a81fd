#!/usr/bin/env node
// ioredis with default options against a running server.
// Usage: node ioredis_check.js --port P [--host 127.0.0.1] [--timeout 90]
// Needs ioredis on NODE_PATH (scripts/client_matrix.sh installs it).
'use strict';
const { assert, parseArgs, harness, sleep, parseInfo, expectError } = require('./harness');
const Redis = require('ioredis');

async function main() {
  const a = parseArgs(process.argv);
  const version = require('ioredis/package.json').version;
  const label = `ioredis ${version}`;
  console.log(`# ${label} (default options)`);
  const h = harness(label, a.timeout);
  const p = `cm:ioredis:${process.pid}:`;
  const errors = [];
  const r = new Redis({ host: a.host, port: a.port });
  const other = new Redis({ host: a.host, port: a.port });
  r.on('error', (e) => errors.push(e.message));
  other.on('error', (e) => errors.push(e.message));

  await h.check('connect handshake (ready) and PING', async () => {
    if (r.status !== 'ready') await new Promise((res) => r.once('ready', res));
    assert.equal(await r.ping(), 'PONG');
    const info = parseInfo(await r.info('server'));
    return `server ${info.redis_version}`;
  });

  await h.check('SET/GET/DEL', async () => {
    const k = p + 'k';
    assert.equal(await r.set(k, 'hello'), 'OK');
    assert.equal(await r.get(k), 'hello');
    assert.equal(await r.get(p + 'missing'), null);
    assert.deepEqual(await r.mget(k, p + 'missing'), ['hello', null]);
    assert.equal(await r.exists(k), 1);
    assert.equal(await r.del(k, p + 'missing'), 1);
    assert.equal(await r.get(k), null);
    assert.equal(await r.set(k, 'a', 'NX'), 'OK');
    assert.equal(await r.set(k, 'b', 'NX'), null);
    assert.equal(await r.set(k, 'c', 'GET'), 'a');
    assert.equal(await r.incrbyfloat(p + 'f', '1.5'), '1.5');
  });

  await h.check('binary value (Buffer)', async () => {
    const k = p + 'bin';
    const v = Buffer.from([...Array(256).keys()]);
    assert.equal(await r.set(k, v), 'OK');
    assert.ok(v.equals(await r.getBuffer(k)));
  });

  await h.check('pipeline', async () => {
    const k = p + 'pipe';
    const pl = r.pipeline();
    for (let i = 0; i < 200; i++) pl.set(`${p}pp:${i}`, String(i));
    pl.set(k, 'x').incr(k).get(k);
    const res = await pl.exec();
    assert.equal(res.length, 203);
    assert.ok(res.slice(0, 200).every(([e, v]) => e === null && v === 'OK'));
    assert.equal(res[201][0].message, 'ERR value is not an integer or out of range');
    assert.deepEqual(res[202], [null, 'x']);
  });

  await h.check('MULTI/EXEC', async () => {
    const k = p + 'tx';
    assert.deepEqual(await r.multi().set(k, '10').incr(k).get(k).exec(), [[null, 'OK'], [null, 11], [null, '11']]);
    const res = await r.multi().set(k, 'x').incr(k).get(k).exec();
    assert.deepEqual(res[0], [null, 'OK']);
    assert.equal(res[1][0].message, 'ERR value is not an integer or out of range');
    assert.deepEqual(res[2], [null, 'x']);
    // A queueing error (wrong arity) aborts the whole transaction.
    await expectError(r.multi().set(k, 'never').call('get').exec(),
      'EXECABORT Transaction discarded because of previous errors.');
    assert.equal(await r.get(k), 'x');
  });

  await h.check('WATCH conflict (retried)', async () => {
    const k = p + 'watched';
    await r.set(k, '100');
    const seen = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await r.watch(k);
      const cur = Number(await r.get(k));
      seen.push(cur);
      if (attempt === 1) await other.set(k, '500'); // concurrent write between WATCH and EXEC
      const res = await r.multi().set(k, String(cur + 1)).exec();
      if (res !== null) break; // null: EXEC aborted by the conflict
    }
    assert.deepEqual(seen, [100, 500]);
    assert.equal(await r.get(k), '501');
    return 'retried once';
  });

  await h.check('scanStream over 1000 keys', async () => {
    const want = new Set();
    const pl = r.pipeline();
    for (let i = 0; i < 1000; i++) { want.add(`${p}scan:${i}`); pl.set(`${p}scan:${i}`, 'v'); }
    for (let i = 0; i < 300; i++) pl.set(`${p}noscan:${i}`, 'v');
    await pl.exec();
    const got = [];
    await new Promise((res, rej) => {
      const s = r.scanStream({ match: `${p}scan:*`, count: 100 });
      s.on('data', (batch) => got.push(...batch));
      s.on('end', res);
      s.on('error', rej);
    });
    const gotSet = new Set(got);
    assert.deepEqual([...gotSet].sort(), [...want].sort());
    return `${got.length} keys, ${got.length - gotSet.size} duplicates`;
  });

  await h.check('expiry (SET EX/PX, TTL)', async () => {
    const k = p + 'exp';
    assert.equal(await r.set(k, 'v', 'EX', 100), 'OK');
    const ttl = await r.ttl(k);
    assert.ok(ttl >= 98 && ttl <= 100, `TTL ${ttl}`);
    assert.equal(await r.persist(k), 1);
    assert.equal(await r.ttl(k), -1);
    assert.equal(await r.ttl(p + 'missing'), -2);
    assert.equal(await r.set(p + 'short', 'v', 'PX', 200), 'OK');
    await sleep(500);
    assert.equal(await r.get(p + 'short'), null);
  });

  await h.check('error replies', async () => {
    await expectError(r.call('get'), "ERR wrong number of arguments for 'get' command");
    await expectError(r.call('nosuchcmd', 'x'), "ERR unknown command 'nosuchcmd', with args beginning with: 'x' ");
    await r.set(p + 'e', 'abc');
    await expectError(r.incr(p + 'e'), 'ERR value is not an integer or out of range');
    assert.equal(await r.ping(), 'PONG');
  });

  await h.check('HELLO 3 fields (RESP3 client)', async () => {
    const flat = await r.call('hello', '3'); // ioredis gives maps as flat [k, v, ...] arrays
    assert.ok(Array.isArray(flat) && flat.length % 2 === 0, JSON.stringify(flat));
    const m = {};
    for (let i = 0; i < flat.length; i += 2) m[flat[i]] = flat[i + 1];
    for (const f of ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']) assert.ok(f in m, `missing ${f}`);
    assert.equal(m.proto, 3);
    assert.equal(typeof m.id, 'number');
    assert.ok(Array.isArray(m.modules));
    return Object.keys(m).map((f) => `${f}=${JSON.stringify(m[f])}`).join(', ');
  });

  await h.check('INFO parse', async () => {
    const info = parseInfo(await r.info());
    assert.ok(info.redis_version, 'redis_version');
    assert.equal(info.loading, '0');
    const db0 = parseInfo(await r.info('keyspace')).db0 || '';
    const keys = Number((db0.match(/keys=(\d+)/) || [])[1]);
    assert.ok(keys >= 1000, `db0: ${db0}`);
    return `${Object.keys(info).length} fields, db0 keys=${keys}`;
  });

  await h.check('CONFIG GET appendfsync', async () => {
    const c = await r.config('GET', 'appendfsync');
    assert.equal(c[0], 'appendfsync');
    assert.ok(['always', 'everysec', 'no'].includes(c[1]), JSON.stringify(c));
  });

  await h.check('no connection errors reported', async () => {
    assert.deepEqual(errors, []);
  });
  r.disconnect();
  other.disconnect();
  return h.done();
}

main().then((rc) => process.exit(rc), (e) => { console.log(`FAIL  ioredis: ${e.stack}`); process.exit(1); });
