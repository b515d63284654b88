// SPDX-License-Identifier: Apache-2.0
// Headless-browser test of the live quote board (web/) against `tickerd sim`.
//
//   tests/browser/run.sh                      (installs chromium + playwright-core if missing)
//   node --test tests/browser/                (if both are there already)
//
// Env:
//   TICKERD               tickerd binary for `tickerd sim` (default build/asan-ubsan/tickerd)
//   TICKERD_GATEWAY_URL   load the page from this base URL (the gateway serves web/ and
//                         /v2/iex itself, fed by its own upstream); no sim, no static server
//   CHROMIUM              browser binary (default /usr/bin/chromium)
//   UPDATE_DOCS_SCREENSHOT=1  also copy the screenshot to docs/board.png
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Procs, ROOT, STEP_MS, freePort, logger } from '../js/procs.mjs';

const WEB = path.join(ROOT, 'web');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const GATEWAY = process.env.TICKERD_GATEWAY_URL || '';

const log = logger('board.test');
const procs = new Procs(log);
const servers = [];
let browser;

let lastSimPort = 0; // the last sim started, for its REST history

/** The close of the daily bar before the latest one (Alpaca's snapshot
 * prevDailyBar), asked of the sim's REST history directly. */
async function simPrevClose(sym) {
  const start = new Date(Date.now() - 14 * 86400e3).toISOString().slice(0, 10);
  const res = await fetch(`http://127.0.0.1:${lastSimPort}/v2/stocks/bars?symbols=${sym}` +
    `&timeframe=1Day&start=${start}&limit=10000`,
  { headers: { 'APCA-API-KEY-ID': 'PKVENDOR', 'APCA-API-SECRET-KEY': 'vendor' } });
  assert.equal(res.status, 200);
  const bars = (await res.json()).bars[sym];
  assert.ok(bars.length >= 2, JSON.stringify(bars));
  return { close: bars[bars.length - 2].c, day: bars[bars.length - 2].t.slice(0, 10) };
}

/** Starts `tickerd sim`; returns its ws:// URL for /v2/iex. */
async function startSim(extra = []) {
  const port = await procs.sim('sim', ['--rate', '300', '--symbols', '10', ...extra]);
  log('sim options:', extra.join(' '));
  lastSimPort = port;
  return `ws://127.0.0.1:${port}/v2/iex`;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Tiny static server for web/ (stands in for the gateway's static files). */
async function startStatic() {
  const srv = http.createServer(async (req, res) => {
    try {
      const u = new URL(req.url, 'http://x');
      let rel = decodeURIComponent(u.pathname);
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(WEB, `.${rel}`);
      if (!file.startsWith(WEB + path.sep)) throw Object.assign(new Error('forbidden'), { code: 'ENOENT' });
      const body = await fsp.readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  servers.push(srv);
  return `http://127.0.0.1:${srv.address().port}/`;
}

/** Starts `tickerd run` with its gateway in front of the sim at `simWs`, from
 * the repository root so that it serves web/; returns the page's base URL. */
async function startGateway(simWs, { rest = true } = {}) {
  const port = await freePort();
  const args = ['run', '--listen', `127.0.0.1:${port}`, '--url', simWs, '--client', 'demo:demo',
    '--stats-interval', '0'];
  // the previous closes from the sim's REST daily bars (as from Alpaca's data API)
  if (rest) args.push('--rest-url', simWs.replace(/^ws:/, 'http:').replace(/\/v2\/iex$/, ''));
  const env = { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor' };
  await procs.tickerd('gateway', args, port, { env, cwd: path.resolve(WEB, '..') });
  return `http://127.0.0.1:${port}/`;
}

/** URL of the board with the given query parameters: served by tickerd's
 * gateway in front of the sim (viaGateway), or by a static server with the
 * page talking to the sim directly (for the sim's fault options). */
async function boardURL(query, simExtra = [], { viaGateway = false, rest = true } = {}) {
  if (GATEWAY) return `${GATEWAY.replace(/\/?$/, '/')}?${new URLSearchParams(query)}`;
  if (viaGateway) {
    const base = await startGateway(await startSim(simExtra), { rest });
    return `${base}?${new URLSearchParams(query)}`.replace(/%2C/g, ',');
  }
  const [ws, base] = await Promise.all([startSim(simExtra), startStatic()]);
  return `${base}?${new URLSearchParams({ ws, ...query })}`.replace(/%2C/g, ',');
}

/** New page whose console errors, page errors and failed requests are collected. */
async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 340 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') page.problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.sent = []; // every client->server WebSocket message, parsed
  page.received = []; // every server->client event, in order
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      try { page.sent.push(JSON.parse(f.payload)); } catch { page.sent.push(f.payload); }
    });
    ws.on('framereceived', (f) => {
      try { page.received.push(...[].concat(JSON.parse(f.payload))); } catch { /* binary */ }
    });
  });
  page.setDefaultTimeout(STEP_MS);
  return page;
}

/** Displayed numbers of one row. */
async function rowValues(page, sym) {
  return page.locator(`#rows tr[data-symbol="${sym}"]`).evaluate((tr) => ({
    bid: tr.querySelector('td.bid').textContent,
    ask: tr.querySelector('td.ask').textContent,
    last: tr.querySelector('td.last').textContent,
    time: tr.querySelector('td.time').textContent,
    points: Number(tr.querySelector('td.spark').dataset.points),
    polyline: tr.querySelector('svg polyline').getAttribute('points') || '',
  }));
}

/** Waits until the row shows a bid, an ask and a last trade. */
async function waitPopulated(page, sym) {
  await page.waitForFunction((s) => {
    const tr = document.querySelector(`#rows tr[data-symbol="${s}"]`);
    return tr && ['bid', 'ask', 'last'].every((c) => /\d/.test(tr.querySelector(`td.${c}`).textContent));
  }, sym, { timeout: STEP_MS });
}

const hasNums = (v) => /\d/.test(v.bid) && /\d/.test(v.ask) && /\d/.test(v.last);

before(async () => {
  await fsp.mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_MS * 2,
    // playwright-core adds --headless, --no-sandbox (chromiumSandbox: false) and a fresh
    // temporary --user-data-dir itself; these keep Chromium off the (closed) network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const s of servers) s.close();
  await procs.close(3000);
});

test('quote board streams, updates, adds and removes tickers', { timeout: 40_000 }, async () => {
  const page = await newPage();
  const url = await boardURL({ symbols: 'AAPL,MSFT,TSLA' }, [], { viaGateway: true });
  log('page', url);
  await page.goto(url, { waitUntil: 'load' });

  await page.waitForSelector('#status[data-state="streaming"]');
  assert.match(await page.locator('#status').textContent(), /streaming/);
  assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
  const rows = () => page.$$eval('#rows tr', (trs) => trs.map((tr) => tr.dataset.symbol));
  assert.deepEqual(await rows(), ['AAPL', 'MSFT', 'TSLA']);
  for (const s of ['AAPL', 'MSFT', 'TSLA']) await waitPopulated(page, s);

  // auth, then one subscribe with the initial set
  const auth = page.sent.find((m) => m.action === 'auth');
  assert.deepEqual(auth, { action: 'auth', key: 'demo', secret: 'demo' });
  assert.ok(page.sent.some((m) => m.action === 'subscribe' &&
    ['AAPL', 'MSFT', 'TSLA'].every((s) => m.trades?.includes(s) && m.quotes?.includes(s))),
  `initial subscribe sent: ${JSON.stringify(page.sent)}`);

  const before = {};
  for (const s of ['AAPL', 'MSFT', 'TSLA']) before[s] = await rowValues(page, s);
  await page.waitForTimeout(2000);
  const afterV = {};
  for (const s of ['AAPL', 'MSFT', 'TSLA']) afterV[s] = await rowValues(page, s);
  log('before', before, 'after', afterV);

  const changed = Object.keys(before).filter((s) =>
    ['bid', 'ask', 'last'].some((k) => before[s][k] !== afterV[s][k]));
  assert.ok(changed.length >= 2, `values changed for ${changed.join(',') || 'none'}`);
  for (const [s, v] of Object.entries(afterV)) {
    assert.ok(hasNums(v), `${s} shows numbers: ${JSON.stringify(v)}`);
    assert.match(v.time, /^\d\d:\d\d:\d\d\.\d{3}$/, `${s} update time`);
    assert.ok(v.points >= 2, `${s} sparkline has ${v.points} points`);
    assert.ok(v.polyline.trim().split(/\s+/).length === Math.min(v.points, 60), `${s} polyline`);
  }

  // add a 4th ticker through the input (Enter submits), see it populate
  await page.fill('#symbol-input', 'nvda');
  await page.press('#symbol-input', 'Enter');
  await page.waitForSelector('#rows tr[data-symbol="NVDA"]');
  await waitPopulated(page, 'NVDA');
  assert.equal(await page.inputValue('#symbol-input'), '');
  assert.ok(page.sent.some((m) => m.action === 'subscribe' &&
    JSON.stringify(m.trades) === '["NVDA"]' && JSON.stringify(m.quotes) === '["NVDA"]'),
  'incremental subscribe for NVDA');
  // and one with the button
  await page.fill('#symbol-input', 'AMZN');
  await page.click('#add-button');
  await waitPopulated(page, 'AMZN');
  // duplicates are refused with a hint
  await page.fill('#symbol-input', 'AAPL');
  await page.press('#symbol-input', 'Enter');
  await page.waitForFunction(() => /already/.test(document.getElementById('add-hint').textContent));
  // invalid input is refused with a hint and left in the box to fix
  await page.fill('#symbol-input', 'BAD!');
  await page.click('#add-button');
  await page.waitForFunction(() => /letters, digits/.test(document.getElementById('add-hint').textContent));
  assert.equal(await page.inputValue('#symbol-input'), 'BAD!');
  await page.fill('#symbol-input', '');

  // remove one: row gone, unsubscribe sent, late data does not bring it back
  await page.click('#rows tr[data-symbol="MSFT"] button.remove');
  await page.waitForSelector('#rows tr[data-symbol="MSFT"]', { state: 'detached' });
  assert.ok(page.sent.some((m) => m.action === 'unsubscribe' &&
    JSON.stringify(m.trades) === '["MSFT"]' && JSON.stringify(m.quotes) === '["MSFT"]'),
  'incremental unsubscribe for MSFT');
  await page.waitForTimeout(500);
  assert.deepEqual(await rows(), ['AAPL', 'TSLA', 'NVDA', 'AMZN']);
  assert.match(page.url(), /symbols=AAPL,TSLA,NVDA,AMZN/);

  await page.waitForTimeout(1500);
  await page.mouse.move(0, 0);
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(ARTIFACTS, 'board.png'), fullPage: true });
  assert.deepEqual(page.problems, [], 'no console errors');
  await page.context().close();
});

test('reconnects with backoff and resubscribes the current set',
  { timeout: 20_000, skip: GATEWAY ? 'needs a sim that drops connections' : false }, async () => {
    const page = await newPage();
    // the sim closes every connection 2 s after it opened
    const url = await boardURL({ symbols: 'AAPL,TSLA' }, ['--drop-every', '2']);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('#status[data-state="streaming"]');
    // change the set before the drop: the resubscribe must carry the new set
    await page.fill('#symbol-input', 'META');
    await page.press('#symbol-input', 'Enter');
    await page.click('#rows tr[data-symbol="AAPL"] button.remove');
    await page.waitForSelector('#status[data-state="disconnected"]');
    assert.match(await page.locator('#status').textContent(), /retrying in \d+ s/);
    await page.waitForSelector('#status[data-state="streaming"]');
    await waitPopulated(page, 'META');

    const auths = page.sent.filter((m) => m.action === 'auth').length;
    assert.ok(auths >= 2, `authenticated again (${auths} auths)`);
    const subs = page.sent.filter((m) => m.action === 'subscribe');
    const resub = subs[subs.length - 1];
    assert.deepEqual([...resub.trades].sort(), ['META', 'TSLA'], JSON.stringify(subs));
    assert.deepEqual([...resub.quotes].sort(), ['META', 'TSLA']);
    // sim drops are not errors on the page; the browser logs nothing for a clean close
    assert.deepEqual(page.problems, [], 'no console errors');
    await page.context().close();
  });

test('402 auth failed: says why and stops retrying', { timeout: 20_000, skip: !!GATEWAY && 'gateway credentials unknown' }, async () => {
  const page = await newPage();
  // the sim only accepts key "right"; the page sends demo/demo -> 402 auth failed
  const url = await boardURL({ symbols: 'AAPL' }, ['--key', 'right', '--secret', 'right']);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => /402/.test(document.getElementById('errors').textContent));
  const errors = await page.locator('#errors').textContent();
  assert.match(errors, /error 402: auth failed: the key "demo" and its secret were refused/);
  assert.match(errors, /\?key=KEY&secret=SECRET/);
  assert.match(errors, /not retrying/);
  assert.equal(await page.getAttribute('#errors', 'role'), 'alert');
  await page.waitForSelector('#status[data-state="failed"]');
  assert.match(await page.locator('#status').textContent(), /auth failed — not retrying/);
  assert.ok(await page.isVisible('#retry'), 'a manual retry stays possible');
  // the backoff would have retried within ~1.2 s: nothing more is sent in 3 s
  await page.waitForTimeout(3000);
  assert.equal(page.sent.filter((m) => m.action === 'auth').length, 1, JSON.stringify(page.sent));
  assert.equal(await page.getAttribute('#status', 'data-state'), 'failed');
  await page.context().close();
});

test('Chg is against the previous close, no-data state, sparklines fill their column',
  { timeout: 40_000, skip: !!GATEWAY && 'own gateway' }, async () => {
    const page = await newPage();
    // ZZZZ is a valid symbol that the sim never trades
    const url = await boardURL({ symbols: 'AAPL,ZZZZ' }, [], { viaGateway: true });
    await page.goto(url, { waitUntil: 'load' });
    await waitPopulated(page, 'AAPL');
    const prev = await simPrevClose('AAPL');
    // Chg = (last - previous close) / previous close, as displayed
    await page.waitForFunction(() => /%$/.test(
      document.querySelector('#rows tr[data-symbol="AAPL"] td.chg').textContent));
    await page.waitForTimeout(500);
    const shown = await page.locator('#rows tr[data-symbol="AAPL"]').evaluate((tr) => ({
      chg: tr.querySelector('td.chg').textContent,
      title: tr.querySelector('td.chg').title,
      last: tr.querySelector('td.last .px').textContent,
    }));
    assert.equal(shown.title, `vs the previous close ${prev.close.toFixed(2)} (${prev.day})`);
    const pct = Math.round(((Number(shown.last) - prev.close) / prev.close) * 10000) / 100;
    const sign = pct > 0 ? '+' : pct < 0 ? '−' : '±';
    assert.equal(shown.chg, `${sign}${Math.abs(pct).toFixed(2)}%`, JSON.stringify(shown));

    // no data for ZZZZ: said so in its row, while AAPL streams
    const zz = '#rows tr[data-symbol="ZZZZ"]';
    await page.waitForSelector(`${zz}[data-state="nodata"]`, { timeout: 12_000 });
    assert.ok(await page.isVisible(`${zz} td.nodata`));
    assert.match(await page.locator(`${zz} td.nodata`).textContent(), /^no data for ZZZZ yet/);
    assert.ok(!(await page.isVisible(`${zz} td.bid`)), 'price cells hidden');
    assert.equal(await page.getAttribute('#rows tr[data-symbol="AAPL"]', 'data-state'), null);

    // the sparkline spans its whole cell, from the oldest point to the newest
    const geo = await page.locator('#rows tr[data-symbol="AAPL"] td.spark').evaluate((td) => {
      const cs = getComputedStyle(td);
      const inner = td.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const svg = td.querySelector('svg');
      const pts = svg.querySelector('polyline').getAttribute('points').trim().split(/\s+/)
        .map((p) => Number(p.split(',')[0]));
      return { inner, svg: svg.getBoundingClientRect().width, vb: svg.viewBox.baseVal.width,
        x0: pts[0], x1: pts[pts.length - 1], n: pts.length, td: td.getBoundingClientRect().width };
    });
    assert.ok(Math.abs(geo.svg - geo.inner) <= 1, `svg ${geo.svg}px fills the cell's ${geo.inner}px`);
    assert.ok(geo.n >= 2 && geo.x0 <= 4 && geo.x1 >= geo.vb - 4, JSON.stringify(geo));
    assert.deepEqual(page.problems, [], 'no console errors');
    await page.context().close();
  });

test('without a previous close Chg says why, never a change since load',
  { timeout: 30_000, skip: !!GATEWAY && 'own gateway' }, async () => {
    const page = await newPage();
    const url = await boardURL({ symbols: 'AAPL' }, [], { viaGateway: true, rest: false });
    await page.goto(url, { waitUntil: 'load' });
    await waitPopulated(page, 'AAPL');
    await page.waitForFunction(() => /--rest-url/.test(
      document.querySelector('#rows tr[data-symbol="AAPL"] td.chg').title));
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('#rows tr[data-symbol="AAPL"] td.chg').textContent(), '—');
    await page.context().close();
  });

// What a new user sees a few seconds after `make run` and opening the board:
// the demo's simulator settings, the page without parameters. With
// UPDATE_DOCS_SCREENSHOT=1 this is docs/board.png.
test('a new user\'s first view (docs/board.png)', { timeout: 30_000, skip: !!GATEWAY && 'own gateway' }, async () => {
  const page = await newPage();
  const url = await boardURL({}, ['--rate', '20', '--symbols', '20'], { viaGateway: true });
  await page.goto(url.replace(/\?$/, ''), { waitUntil: 'load' });
  await page.waitForSelector('#status[data-state="streaming"]');
  await page.waitForTimeout(5000);
  assert.deepEqual(await page.$$eval('#rows tr', (trs) => trs.map((tr) => tr.dataset.symbol)),
    ['AAPL', 'MSFT', 'TSLA']);
  const shot = path.join(ARTIFACTS, 'board-first-view.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    await fsp.copyFile(shot, path.join(ROOT, 'docs', 'board.png'));
  }
  assert.deepEqual(page.problems, [], 'no console errors');
  await page.context().close();
});
