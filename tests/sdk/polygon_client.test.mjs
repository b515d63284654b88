// SPDX-License-Identifier: Apache-2.0
// The official Polygon.io JavaScript client (@polygon.io/client-js 8.x, pinned
// in package.json) as a client of tickerd's gateway on its Polygon paths:
// `tickerd sim` upstream, `tickerd run --feed polygon --listen` in front of it,
// and the client's `websocketClient(key, base).stocks()` (a W3C WebSocket on
// `${base}/stocks` that sends {"action":"auth","params":KEY} on open) with a
// tickerd-issued key: auth_success, one success status per topic, trades and
// quotes of the subscribed tickers equal to the sim's --record, and
// auth_failed then a close (1008) for a key tickerd did not issue. tickerd
// must exit 0 on SIGTERM without sanitizer reports.
//
//   tests/sdk/run.sh                (installs node_modules if missing)
//
// Env: TICKERD (default build/asan-ubsan/tickerd), VERBOSE=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { websocketClient } from '@polygon.io/client-js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TICKERD = path.resolve(ROOT, process.env.TICKERD || 'build/asan-ubsan/tickerd');
const STEP_MS = 10_000;
const KEY = 'PKPOLY'; // issued by tickerd (--client PKPOLY:x; Polygon clients send the key only)
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];

const procs = [];
const sockets = [];
let tmp;
let recordFile;
let base;

const log = (...a) => { if (process.env.VERBOSE) console.error('[polygon.test]', ...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(pred, what, ms = STEP_MS) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function startTickerd(name, args, port, env = {}) {
  const child = spawn(TICKERD, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1', ...env },
  });
  child.name = name;
  let errText = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { errText += d; });
  child.stderrText = () => errText;
  child.exited = once(child, 'exit');
  procs.push(child);
  const end = Date.now() + STEP_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}\n${errText}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return child;
    if (Date.now() > end) throw new Error(`${name} not listening on ${port}\n${errText}`);
    await sleep(50);
  }
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode };
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), STEP_MS);
  await child.exited;
  clearTimeout(t);
  return { code: child.exitCode, signal: child.signalCode };
}

/** The official client's stocks socket on the gateway; every message's array
 * elements are collected (statuses and events). */
function stocks(key) {
  const ws = websocketClient(key, base).stocks();
  const seen = { messages: [], closed: null, errors: [] };
  ws.onmessage = ({ data }) => { for (const m of JSON.parse(data)) seen.messages.push(m); };
  ws.onerror = (e) => seen.errors.push(e);
  ws.onclose = (e) => { seen.closed = e.code; };
  sockets.push(ws);
  return { ws, seen, statuses: () => seen.messages.filter((m) => m.ev === 'status') };
}

before(async () => {
  if (!fs.existsSync(TICKERD)) throw new Error(`${TICKERD} not found: build it or set TICKERD`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tickerd-polygon-'));
  recordFile = path.join(tmp, 'sim.record.jsonl');
  const simPort = await freePort();
  await startTickerd('sim', ['sim', '--listen', `127.0.0.1:${simPort}`, '--rate', '500',
    '--symbols', '10', '--record', recordFile], simPort);
  const gwPort = await freePort();
  await startTickerd('gateway', ['run', '--feed', 'polygon', '--url', `ws://127.0.0.1:${simPort}/stocks`,
    '--listen', `127.0.0.1:${gwPort}`, '--client', `${KEY}:x`, '--stats-interval', '0'], gwPort,
  { POLYGON_API_KEY: 'PKVENDOR' });
  base = `ws://127.0.0.1:${gwPort}`; // the client appends /stocks
});

after(async () => {
  for (const s of sockets) s.close();
  for (const p of procs) await stop(p);
  if (tmp && !process.env.VERBOSE) fs.rmSync(tmp, { recursive: true, force: true });
});

test('official Polygon client: auth, per-topic statuses, trades and quotes as recorded', async () => {
  const { ws, seen, statuses } = stocks(KEY);
  await until(() => statuses().some((s) => s.status === 'auth_success'), 'auth_success');
  assert.deepEqual(statuses().slice(0, 2), [
    { ev: 'status', status: 'connected', message: 'Connected Successfully' },
    { ev: 'status', status: 'auth_success', message: 'authenticated' },
  ]);
  ws.send(JSON.stringify({ action: 'subscribe', params: 'T.AAPL,Q.AAPL,T.MSFT' }));
  await until(() => statuses().length >= 5, 'the subscribe statuses');
  assert.deepEqual(statuses().slice(2).map((s) => s.message),
    ['subscribed to: T.AAPL', 'subscribed to: Q.AAPL', 'subscribed to: T.MSFT']);
  const data = () => seen.messages.filter((m) => m.ev !== 'status');
  await until(() => new Set(data().map((m) => `${m.ev}.${m.sym}`)).size === 3
    && data().length >= 30, 'trades and quotes of AAPL and MSFT');
  const events = data();
  log(events.length, 'events');
  for (const m of events) assert.ok(['T.AAPL', 'Q.AAPL', 'T.MSFT'].includes(`${m.ev}.${m.sym}`), JSON.stringify(m));
  await sleep(300); // the record is written as the sim sends
  const record = fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const want = record.filter((r) => ['T.AAPL', 'Q.AAPL', 'T.MSFT'].includes(`${r.ev}.${r.sym}`));
  const k = want.findIndex((r) => JSON.stringify(r) === JSON.stringify(events[0]));
  assert.ok(k >= 0, 'the first event is not in the record');
  assert.deepEqual(events, want.slice(k, k + events.length)); // all of them, in order, unchanged
  ws.send(JSON.stringify({ action: 'unsubscribe', params: 'T.MSFT' }));
  await until(() => statuses().some((s) => s.message === 'unsubscribed to: T.MSFT'), 'unsubscribe');
});

test('official Polygon client: a key tickerd did not issue gets auth_failed and a close', async () => {
  const { seen, statuses } = stocks('PKVENDOR');
  await until(() => seen.closed !== null, 'the close');
  assert.deepEqual(statuses().map((s) => s.status), ['connected', 'auth_failed']);
  assert.equal(statuses()[1].message, 'authentication failed');
  assert.equal(seen.closed, 1008);
});

test('tickerd sim and gateway exit 0 on SIGTERM without sanitizer reports', async () => {
  for (const s of sockets) s.close();
  await sleep(200);
  for (const p of procs) {
    const r = await stop(p);
    const err = p.stderrText();
    assert.equal(r.code, 0, `${p.name} exit ${JSON.stringify(r)}\n${err.slice(-2000)}`);
    for (const m of SANITIZER_MARKERS) assert.ok(!err.includes(m), `${p.name}: ${m}\n${err.slice(-4000)}`);
  }
});
