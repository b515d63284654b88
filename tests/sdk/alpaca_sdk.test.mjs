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
import { once } from 'node:events';
import path from 'node:path';
import { Alpaca } from '@alpacahq/alpaca-trade-api';
import {
  Procs, STEP_MS, freePort, logger, metric as metricAt, readJsonl, sleep, stopClean, until, withTimeout,
} from '../js/procs.mjs';

const COLLECT_MS = 3_000;
const SYMBOLS = ['AAPL', 'MSFT'];
const CLIENT = { keyId: 'PKSDK', secret: 'sdk-secret' }; // issued by tickerd (--client)
const VENDOR = { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor-secret' };

const log = logger('sdk.test');
const procs = new Procs(log);
const streams = [];
let recordFile;
let gwPort;
let gwUrl;

const metric = (name) => metricAt(gwPort, name);

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

/** Picks up to n items spread over arr. */
function spread(arr, n) {
  if (arr.length <= n) return arr;
  return Array.from({ length: n }, (_, k) => arr[Math.floor((k * (arr.length - 1)) / (n - 1))]);
}

before(async () => {
  recordFile = path.join(procs.tmpDir('sdk'), 'sim.record.jsonl');
  const simPort = await procs.sim('sim', ['--rate', '500', '--symbols', '10', '--record', recordFile]);
  gwPort = await freePort();
  await procs.tickerd('gateway', ['run', '--listen', `127.0.0.1:${gwPort}`,
    '--url', `ws://127.0.0.1:${simPort}/v2/iex`, '--client', `${CLIENT.keyId}:${CLIENT.secret}`,
    '--stats-interval', '0'], gwPort, { env: VENDOR });
  gwUrl = `ws://127.0.0.1:${gwPort}/v2/iex`;
});

after(async () => {
  for (const s of streams) s.disconnect();
  await procs.close();
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
  const rec = readJsonl(recordFile);
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
  assert.ok(procs.list.length === 2, 'processes were not started');
  for (const s of streams) s.disconnect();
  for (const p of [...procs.list].reverse()) await stopClean(p); // gateway first, then the sim
});
