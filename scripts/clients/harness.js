// Tiny check harness shared by the Node.js client checks: PASS/FAIL lines,
// a closing count, a watchdog so a check can never hang the run.
'use strict';
const assert = require('node:assert/strict');

function parseArgs(argv) {
  const a = { host: '127.0.0.1', port: 0, timeout: 90 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a)) throw new Error(`unknown option ${argv[i]}`);
    a[k] = k === 'host' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!a.port) throw new Error('--port is required');
  return a;
}

function harness(label, timeoutSecs) {
  const counts = { pass: 0, fail: 0 };
  const timer = setTimeout(() => {
    console.log(`FAIL  ${label}: gave up after ${timeoutSecs}s (watchdog)`);
    process.exit(1);
  }, timeoutSecs * 1000);
  timer.unref();
  return {
    async check(name, fn, perCheckSecs = 30) {
      let t;
      const limit = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`no answer within ${perCheckSecs}s`)), perCheckSecs * 1000); });
      try {
        const detail = await Promise.race([fn(), limit]);
        counts.pass++;
        console.log(`PASS  ${label}: ${name}${detail ? ` (${detail})` : ''}`);
      } catch (e) {
        counts.fail++;
        console.log(`FAIL  ${label}: ${name}\n      ${(e && e.stack ? e.stack : String(e)).split('\n').slice(0, 4).join('\n      ')}`);
      } finally {
        clearTimeout(t);
      }
    },
    done() {
      console.log(`# ${label}: ${counts.pass} passed, ${counts.fail} failed`);
      return counts.fail ? 1 : 0;
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// "a:1\r\nb:2" -> {a: '1', b: '2'} (INFO text, sections ignored)
function parseInfo(text) {
  const o = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

async function expectError(promise, text) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.message, text);
    return;
  }
  throw new Error(`expected error '${text}', got a reply`);
}

module.exports = { assert, parseArgs, harness, sleep, parseInfo, expectError };
