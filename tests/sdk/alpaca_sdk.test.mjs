// SPDX-License-Identifier: Apache-2.0
// The official Alpaca JavaScript SDK (@alpacahq/alpaca-trade-api 4.x, pinned in
// package.json) as a client of tickerd's gateway: `tickerd sim` upstream,
// `tickerd run --listen` in front of it, and the SDK's stock data stream pointed
// at the gateway with tickerd-issued keys. The SDK's market-data streams always
// speak MessagePack (upgrade header Content-Type: application/msgpack, binary
// frames, timestamps as msgpack timestamp extensions), so this checks tickerd's
// msgpack mode end to end against the vendor's own decoder: the handshake,
// subscription confirmations, decoded trades/quotes compared field by field with
// the sim's --record file, ns timestamps, unsubscribe, clean close, and 402 on a
// wrong secret. tickerd must exit 0 on SIGTERM without sanitizer reports.
//
//   tests/sdk/run.sh                (installs node_modules if missing)
//   node --test tests/sdk/          (if node_modules is there already)
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
import { Alpaca } from '@alpacahq/alpaca-trade-api';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TICKERD = path.resolve(ROOT, process.env.TICKERD || 'build/asan-ubsan/tickerd');
const STEP_MS = 10_000; // bound on every single wait
const COLLECT_MS = 3_000;
const SYMBOLS = ['AAPL', 'MSFT'];
const CLIENT = { keyId: 'PKSDK', secret: 'sdk-secret' }; // issued by tickerd (--client)
const VENDOR = { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor-secret' };
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];

const procs = [];
const streams = [];
let tmp;
let recordFile;
let gwPort;
let gwUrl;

function log(...a) {
  if (process.env.VERBOSE) console.error('[sdk.test]', ...a);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** promise, or a rejection after ms (the timer is cleared either way). */
async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when pred() is true; rejects after ms with what. */
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

async function waitForPort(port, child, ms = STEP_MS) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${child.name} exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
}

/** Spawns `tickerd <args>` listening on port; waits for the port. */
async function startTickerd(name, args, port, env = {}) {
  const child = spawn(TICKERD, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
      ...env,
    },
  });
  child.name = name;
  child.args = args;
  let errText = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { errText += d; });
  child.stderrText = () => errText;
  child.exited = once(child, 'exit');
  procs.push(child);
  await waitForPort(port, child).catch((e) => {
    throw new Error(`${e.message}\n${TICKERD} ${args.join(' ')}\n${errText.slice(-4000)}`);
  });
  log(name, 'on', port);
  return child;
}

/** SIGTERM, wait (bounded), SIGKILL if needed; returns { code, signal, killed }. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode, killed: false };
  }
  child.kill('SIGTERM');
  try {
    await withTimeout(child.exited, STEP_MS, `${child.name} to exit`);
  } catch {
    child.kill('SIGKILL');
    await child.exited;
    return { code: child.exitCode, signal: child.signalCode, killed: true };
  }
  return { code: child.exitCode, signal: child.signalCode, killed: false };
}

async function metric(name) {
  const res = await fetch(`http://127.0.0.1:${gwPort}/metrics`, { signal: AbortSignal.timeout(STEP_MS) });
  const body = await res.text();
  const m = body.match(new RegExp(`^tickerd_${name} (\\d+)$`, 'm'));
  assert.ok(m, `no tickerd_${name} in /metrics`);
  return Number(m[1]);
}

/** The SDK's stock data stream, pointed at the gateway. */
function sdkStream(credentials, extra = {}) {
  const alpaca = new Alpaca({ keyId: credentials.keyId, secret: credentials.secret });
  const stream = alpaca.marketData.stockStream({
    url: gwUrl, // StockDataStream: `url ?? wss://stream.data.alpaca.markets/v2/${feed}`
    feed: 'iex',
    reconnect: false,
    pingIntervalMs: 500, // exercise ws ping/pong with the gateway during the test
    pongWaitMs: 3000,
    ...extra,
  });
  const seen = { errors: [], states: [], subscriptions: [], trades: [], quotes: [], others: [] };
  stream.onError((e) => { log('error', e); seen.errors.push(e); });
  stream.onStateChange((s) => { log('state', s); seen.states.push(s); });
  stream.on('subscription', (s) => { log('subscription', JSON.stringify(s)); seen.subscriptions.push(s); });
  stream.onTrade((t) => seen.trades.push({ ...t, at: Date.now() }));
  stream.onQuote((q) => seen.quotes.push({ ...q, at: Date.now() }));
  stream.onCorrection((c) => seen.others.push({ ...c, T: 'c' }));
  stream.onCancelError((x) => seen.others.push({ ...x, T: 'x' }));
  for (const ev of ['bar', 'updated_bar', 'daily_bar', 'status', 'luld', 'imbalance', 'orderbook', 'news']) {
    stream.on(ev, (e) => seen.others.push({ ...e, T: ev }));
  }
  streams.push(stream);
  return { stream, seen };
}

/** The raw ws socket under the SDK stream (SDK internal; for close checks and frame capture). */
function socketOf(stream) {
  const sock = stream.conn;
  assert.ok(sock, 'SDK stream has no socket');
  return sock;
}

/** RFC 3339 with 0-9 fractional digits → { text9, ms } (9 digits, epoch ms floored). */
function normTs(s) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(s);
  assert.ok(m, `bad recorded timestamp ${s}`);
  const frac = (m[2] || '').padEnd(9, '0');
  return { text9: `${m[1]}.${frac}Z`, ms: Date.parse(`${m[1]}Z`) + Math.floor(Number(frac) / 1e6) };
}

function readRecord() {
  return fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Picks up to n items spread over arr. */
function spread(arr, n) {
  if (arr.length <= n) return arr;
  return Array.from({ length: n }, (_, k) => arr[Math.floor((k * (arr.length - 1)) / (n - 1))]);
}

before(async () => {
  if (!fs.existsSync(TICKERD)) {
    throw new Error(`${TICKERD} not found: build it (make test) or set TICKERD=path/to/tickerd`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tickerd-sdk-'));
  recordFile = path.join(tmp, 'sim.record.jsonl');
  const simPort = await freePort();
  await startTickerd('sim', ['sim', '--listen', `127.0.0.1:${simPort}`, '--rate', '500',
    '--symbols', '10', '--record', recordFile], simPort);
  gwPort = await freePort();
  await startTickerd('gateway', ['run', '--listen', `127.0.0.1:${gwPort}`,
    '--url', `ws://127.0.0.1:${simPort}/v2/iex`, '--client', `${CLIENT.keyId}:${CLIENT.secret}`,
    '--stats-interval', '0'], gwPort, VENDOR);
  gwUrl = `ws://127.0.0.1:${gwPort}/v2/iex`;
});

after(async () => {
  for (const s of streams) s.disconnect();
  for (const p of procs) await stop(p);
  if (tmp && !process.env.VERBOSE) fs.rmSync(tmp, { recursive: true, force: true });
});

test('SDK stock stream: auth, subscribe, trades and quotes decoded as recorded, unsubscribe, close', async () => {
  const { stream, seen } = sdkStream(CLIENT);
  stream.connect();
  const auth = await stream.waitForAuthenticationResult(STEP_MS);
  assert.equal(auth.status, 'authenticated', `auth: ${JSON.stringify(auth)}; errors: ${seen.errors}`);
  assert.equal(stream.getState(), 'authenticated');

  const sock = socketOf(stream);
  let binary = 0;
  let text = 0;
  sock.on('message', (_data, isBinary) => { if (isBinary) binary++; else text++; });

  const subCount = seen.subscriptions.length;
  stream.subscribeForTrades(SYMBOLS);
  stream.subscribeForQuotes(SYMBOLS);
  const full = (s) => ['trades', 'quotes'].every((ch) => [...s[ch]].sort().join() === SYMBOLS.join());
  await until(() => seen.subscriptions.slice(subCount).some(full), 'the subscription confirmation');
  const conf = seen.subscriptions.at(-1);
  assert.deepEqual([...conf.trades].sort(), SYMBOLS);
  assert.deepEqual([...conf.quotes].sort(), SYMBOLS);
  for (const ch of ['bars', 'updatedBars', 'dailyBars', 'statuses', 'lulds']) {
    assert.deepEqual(conf[ch], [], `confirmation ${ch}`);
  }

  const t0 = Date.now();
  await sleep(COLLECT_MS);
  log(`collected ${seen.trades.length} trades, ${seen.quotes.length} quotes in ${Date.now() - t0} ms`);
  assert.deepEqual(seen.errors, [], 'SDK reported errors while streaming');
  assert.equal(stream.getState(), 'authenticated', `states: ${seen.states}`);
  assert.ok(binary > 0 && text === 0, `msgpack mode: ${binary} binary, ${text} text frames`);

  for (const sym of SYMBOLS) {
    assert.ok(seen.trades.some((t) => t.symbol === sym), `no trade for ${sym}`);
    assert.ok(seen.quotes.some((q) => q.symbol === sym), `no quote for ${sym}`);
  }
  for (const ev of [...seen.trades, ...seen.quotes]) {
    assert.ok(SYMBOLS.includes(ev.symbol), `event for unsubscribed ${ev.symbol}`);
  }

  // the same events in the sim's record (flushed every tick)
  await sleep(100);
  const rec = readRecord();
  const recTrades = new Map();
  const recQuotes = new Map();
  for (const e of rec) {
    if (e.T === 't') recTrades.set(`${e.S}/${e.i}`, e);
    if (e.T === 'q') {
      const k = `${e.S}/${normTs(e.t).text9}`;
      recQuotes.set(k, [...(recQuotes.get(k) || []), e]);
    }
  }

  const checkTs = (got, want, what) => {
    const w = normTs(want);
    assert.equal(got.timestampRaw, w.text9, `${what}: timestamp (ns)`);
    assert.ok(got.timestamp instanceof Date, `${what}: timestamp is a Date`);
    assert.equal(got.timestamp.getTime(), w.ms, `${what}: timestamp (ms)`);
  };

  let checkedTrades = 0;
  for (const sym of SYMBOLS) {
    const mine = seen.trades.filter((t) => t.symbol === sym);
    for (const t of spread(mine, 10)) {
      const what = `trade ${sym} #${t.idRaw}`;
      const r = recTrades.get(`${sym}/${t.idRaw}`);
      assert.ok(r, `${what} not in the sim's record`);
      assert.equal(t.id, r.i, `${what}: id`);
      assert.equal(t.price, r.p, `${what}: price`);
      assert.equal(t.size, r.s, `${what}: size`);
      assert.equal(typeof t.price, 'number');
      assert.equal(typeof t.size, 'number');
      assert.equal(t.exchange, r.x, `${what}: exchange`);
      assert.deepEqual(t.conditions, r.c ?? [], `${what}: conditions`);
      assert.equal(t.tape, r.z, `${what}: tape`);
      checkTs(t, r.t, what);
      // the instant is plausible: sent within the collection window (sim timestamps = send time)
      assert.ok(Math.abs(t.timestamp.getTime() - t.at) < 5_000, `${what}: timestamp ${t.timestampRaw} far from now`);
      checkedTrades++;
    }
  }

  let checkedQuotes = 0;
  for (const sym of SYMBOLS) {
    const mine = seen.quotes.filter((q) => q.symbol === sym);
    for (const q of spread(mine, 10)) {
      const what = `quote ${sym} @${q.timestampRaw}`;
      const cands = recQuotes.get(`${sym}/${q.timestampRaw}`);
      assert.ok(cands, `${what} not in the sim's record`);
      const r = cands.find((c) => c.bp === q.bidPrice && c.ap === q.askPrice) || cands[0];
      assert.equal(q.bidPrice, r.bp, `${what}: bid price`);
      assert.equal(q.bidSize, r.bs, `${what}: bid size`);
      assert.equal(q.bidExchange, r.bx, `${what}: bid exchange`);
      assert.equal(q.askPrice, r.ap, `${what}: ask price`);
      assert.equal(q.askSize, r.as, `${what}: ask size`);
      assert.equal(q.askExchange, r.ax, `${what}: ask exchange`);
      assert.deepEqual(q.conditions, r.c ?? [], `${what}: conditions`);
      assert.equal(q.tape, r.z, `${what}: tape`);
      checkTs(q, r.t, what);
      checkedQuotes++;
    }
  }
  // corrections and cancel errors come with trades (PROTOCOLS.md §1.4); whatever arrived must be as recorded
  for (const o of seen.others) {
    assert.ok(o.T === 'c' || o.T === 'x', `unexpected ${o.T} event ${JSON.stringify(o)}`);
    assert.ok(SYMBOLS.includes(o.symbol), `${o.T} for unsubscribed ${o.symbol}`);
    const r = rec.find((e) => e.T === o.T && e.S === o.symbol && normTs(e.t).text9 === o.timestampRaw);
    assert.ok(r, `${o.T} ${o.symbol} @${o.timestampRaw} not in the sim's record`);
    if (o.T === 'x') {
      assert.deepEqual([o.idRaw, o.price, o.size, o.exchange, o.action, o.tape],
        [String(r.i), r.p, r.s, r.x, r.a, r.z], 'cancel error fields');
    } else {
      assert.deepEqual([o.originalIdRaw, o.originalPrice, o.originalSize, o.originalConditions,
        o.correctedIdRaw, o.correctedPrice, o.correctedSize, o.correctedConditions, o.exchange, o.tape],
      [String(r.oi), r.op, r.os, r.oc ?? [], String(r.ci), r.cp, r.cs, r.cc ?? [], r.x, r.z], 'correction fields');
    }
  }
  log(`checked ${checkedTrades} trades, ${checkedQuotes} quotes, ${seen.others.length} corrections/cancel errors`);
  assert.ok(checkedTrades >= 2 && checkedQuotes >= 2, `${checkedTrades} trades, ${checkedQuotes} quotes checked`);

  // every recorded AAPL/MSFT trade sent after the confirmation reached the SDK: none lost or mangled
  const gotIds = new Set(seen.trades.map((t) => `${t.symbol}/${t.idRaw}`));
  const firstAt = Math.min(...seen.trades.map((t) => t.timestamp.getTime()));
  const lastAt = Math.max(...seen.trades.map((t) => t.timestamp.getTime()));
  const missing = rec.filter((e) => e.T === 't' && SYMBOLS.includes(e.S))
    .filter((e) => { const ms = normTs(e.t).ms; return ms > firstAt && ms < lastAt; })
    .filter((e) => !gotIds.has(`${e.S}/${e.i}`));
  assert.deepEqual(missing, [], 'recorded trades the SDK did not deliver');

  // unsubscribe: confirmation with empty lists, then no more data
  const subCount2 = seen.subscriptions.length;
  stream.unsubscribeFromTrades(SYMBOLS);
  stream.unsubscribeFromQuotes(SYMBOLS);
  const empty = (s) => s.trades.length === 0 && s.quotes.length === 0;
  await until(() => seen.subscriptions.slice(subCount2).some(empty), 'the unsubscribe confirmation');
  assert.deepEqual(stream.getSubscriptions().trades, []);
  assert.deepEqual(stream.getSubscriptions().quotes, []);
  const n = seen.trades.length + seen.quotes.length;
  await sleep(700);
  assert.equal(seen.trades.length + seen.quotes.length, n, 'data after the unsubscribe confirmation');
  assert.equal(await metric('clients_authenticated'), 1);

  // clean close: a close frame both ways, then the gateway forgets the client
  const closed = once(sock, 'close');
  stream.disconnect();
  assert.equal(stream.getState(), 'disconnected');
  const [code] = await withTimeout(closed, STEP_MS, 'the socket to close');
  assert.ok(code === 1000 || code === 1005, `close code ${code}`);
  const end = Date.now() + STEP_MS;
  while ((await metric('clients')) !== 0) {
    assert.ok(Date.now() < end, 'gateway still counts the client after close');
    await sleep(50);
  }
  assert.deepEqual(seen.errors, []);
  assert.ok(!seen.states.includes('waiting to reconnect'), `states: ${seen.states}`);
});

test('SDK stock stream: wrong secret → 402 auth failed, no reconnect, no data', async () => {
  const before402 = await metric('client_auth_failures_total');
  const { stream, seen } = sdkStream({ keyId: CLIENT.keyId, secret: 'wrong-secret' }, { reconnect: true });
  stream.subscribeForTrades(SYMBOLS); // would be sent right after a successful auth
  stream.connect();
  const auth = await stream.waitForAuthenticationResult(STEP_MS);
  assert.equal(auth.authenticated, false);
  assert.equal(auth.status, 'server_rejected', `auth: ${JSON.stringify(auth)}`);
  assert.equal(auth.code, 402, `auth: ${JSON.stringify(auth)}`);
  assert.equal(auth.message, 'auth failed');
  assert.deepEqual(seen.errors, ['auth failed']);
  await sleep(1000);
  assert.equal(stream.getState(), 'disconnected');
  assert.ok(!seen.states.includes('authenticated'), `states: ${seen.states}`);
  assert.ok(!seen.states.includes('waiting to reconnect'), `states: ${seen.states}`);
  assert.equal(seen.trades.length + seen.quotes.length, 0, 'data without auth');
  assert.equal(await metric('client_auth_failures_total'), before402 + 1);
});

test('tickerd sim and gateway exit 0 on SIGTERM without sanitizer reports', async () => {
  assert.ok(procs.length === 2, 'processes were not started');
  for (const s of streams) s.disconnect();
  for (const p of [...procs].reverse()) { // gateway first, then the sim
    const r = await stop(p);
    const err = p.stderrText();
    const tail = `\n${p.name}: ${TICKERD} ${p.args.join(' ')}\n--- stderr (tail) ---\n${err.slice(-6000)}`;
    assert.ok(!r.killed, `${p.name} did not exit within ${STEP_MS} ms of SIGTERM${tail}`);
    assert.equal(r.code, 0, `${p.name} exit ${r.code} (signal ${r.signal})${tail}`);
    for (const m of SANITIZER_MARKERS) assert.ok(!err.includes(m), `${p.name}: "${m}"${tail}`);
  }
});
