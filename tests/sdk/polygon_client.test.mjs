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
import path from 'node:path';
import { websocketClient } from '@polygon.io/client-js';
import { Procs, freePort, logger, readJsonl, sleep, stopClean, until } from '../js/procs.mjs';

const KEY = 'PKPOLY'; // issued by tickerd (--client PKPOLY:x; Polygon clients send the key only)

const log = logger('polygon.test');
const procs = new Procs(log);
const sockets = [];
let recordFile;
let base;

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
  recordFile = path.join(procs.tmpDir('polygon'), 'sim.record.jsonl');
  const simPort = await procs.sim('sim', ['--rate', '500', '--symbols', '10', '--record', recordFile]);
  const gwPort = await freePort();
  await procs.tickerd('gateway', ['run', '--feed', 'polygon', '--url', `ws://127.0.0.1:${simPort}/stocks`,
    '--listen', `127.0.0.1:${gwPort}`, '--client', `${KEY}:x`, '--stats-interval', '0'], gwPort,
  { env: { POLYGON_API_KEY: 'PKVENDOR' } });
  base = `ws://127.0.0.1:${gwPort}`; // the client appends /stocks
});

after(async () => {
  for (const s of sockets) s.close();
  await procs.close();
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
  const record = readJsonl(recordFile);
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
  for (const p of procs.list) await stopClean(p);
});
