// SPDX-License-Identifier: Apache-2.0
// Headless Chromium loads the quote board over https from tickerd's TLS
// listener (--listen-tls, a certificate from a throwaway CA made with the
// openssl CLI), gets a token from the example issuer (examples/jwt_issue.py
// --serve over https, ?issuer=URL) and streams over wss:// authenticated by
// that token; --allow-origin admits the https page and refuses the same
// board served from the plain listener (another origin). Chromium trusts
// the test certificate by its key only (--ignore-certificate-errors-spki-list
// with the SPKI hash): nothing else is accepted, no system trust store touched.
//
//   tests/browser/run.sh
//
// Env: TICKERD (default build/asan-ubsan/tickerd), CHROMIUM, VERBOSE=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Procs, ROOT, STEP_MS, freePort, logger, makeCerts, metric, sleep, spkiHash } from '../js/procs.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-test-secret-of-at-least-32-bytes';

const procs = new Procs(logger('board_tls.test'));
let browser;
let page;
const ports = {};

before(async () => {
  const certs = makeCerts(procs.tmpDir('board-tls'));
  const spki = spkiHash(certs.key);
  ports.sim = await procs.sim('sim', ['--rate', '300', '--symbols', '10'], { cwd: ROOT });
  for (const k of ['plain', 'tls', 'issuer']) ports[k] = await freePort();
  const board = `https://127.0.0.1:${ports.tls}`;
  await procs.tickerd('gateway', ['run', '--url', `ws://127.0.0.1:${ports.sim}/v2/iex`,
    '--listen', `127.0.0.1:${ports.plain}`, '--listen-tls', `127.0.0.1:${ports.tls}`,
    '--tls-cert', certs.cert, '--tls-key', certs.key,
    '--allow-origin', board, '--rest-url', `http://127.0.0.1:${ports.sim}`,
    '--stats-interval', '0'], ports.tls,
  { cwd: ROOT, env: { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor', TICKERD_JWT_HS256_SECRET: SECRET } });
  await procs.issuer(ports.issuer, SECRET, ['--origin', board, '--sub', 'board', '--ttl', '600',
    '--cert', certs.cert, '--key', certs.key], { cwd: ROOT });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_MS * 2,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await procs.close(3000);
});

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 340 } });
  const p = await ctx.newPage();
  p.problems = [];
  p.on('console', (m) => { if (m.type() === 'error') p.problems.push(`console.error: ${m.text()}`); });
  p.on('pageerror', (e) => p.problems.push(`pageerror: ${e.message}`));
  p.on('response', (r) => { if (r.status() >= 400) p.problems.push(`HTTP ${r.status()} ${r.url()}`); });
  p.sockets = [];
  p.sent = [];
  p.on('websocket', (ws) => {
    p.sockets.push(ws.url());
    ws.on('framesent', (f) => { try { p.sent.push(JSON.parse(f.payload)); } catch { p.sent.push(f.payload); } });
  });
  p.setDefaultTimeout(STEP_MS);
  return p;
}

test('the board over https gets a token from the example issuer and streams over wss', { timeout: 60_000 }, async () => {
  page = await newPage();
  const issuer = `https://127.0.0.1:${ports.issuer}/token`;
  const url = `https://127.0.0.1:${ports.tls}/?symbols=AAPL,MSFT&issuer=${encodeURIComponent(issuer)}`;
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  const sec = await res.securityDetails();
  assert.ok(sec && /^TLS 1\.[23]$/.test(sec.protocol), `TLS: ${JSON.stringify(sec)}`);
  assert.equal(sec.issuer, 'tickerd test CA');
  await page.waitForSelector('#status[data-state="streaming"]', { timeout: STEP_MS * 2 }).catch(async (e) => {
    const why = await page.evaluate(() => `${document.getElementById('status').textContent} | ${document.getElementById('errors').textContent}`);
    throw new Error(`${e.message}\nboard: ${why}\nproblems: ${page.problems.join('; ')}\nsockets: ${page.sockets}`);
  });
  await page.waitForFunction(() => {
    const tr = document.querySelector('#rows tr[data-symbol="AAPL"]');
    return tr && ['bid', 'ask'].every((c) => /\d/.test(tr.querySelector(`td.${c}`).textContent));
  }, null, { timeout: STEP_MS });
  assert.deepEqual(page.sockets, [`wss://127.0.0.1:${ports.tls}/v2/iex`]);
  const auth = page.sent.find((m) => m && m.action === 'auth');
  assert.equal(auth.key, 'jwt');
  assert.equal(auth.secret.split('.').length, 3, 'a compact JWT');
  assert.deepEqual(page.problems, []);
  assert.ok(await metric(ports.plain, 'client_token_auths_total') >= 1);
  fs.mkdirSync(path.join(ROOT, 'tests', 'artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'tests', 'artifacts', 'board-tls.png') });
  await page.context().close();
});

test('the same board from another origin (the plain listener) is refused at the upgrade', { timeout: 30_000 }, async () => {
  const refusals = () => metric(ports.plain, 'upgrade_refusals_total{reason="origin"}');
  const before = await refusals();
  const p = await newPage();
  await p.goto(`http://127.0.0.1:${ports.plain}/?symbols=AAPL&key=x&secret=y`, { waitUntil: 'load' });
  const end = Date.now() + STEP_MS;
  let n = before;
  while (n === before && Date.now() < end) {
    await sleep(100);
    n = await refusals();
  }
  assert.ok(n > before, 'no upgrade refused for its Origin');
  assert.notEqual(await p.getAttribute('#status', 'data-state'), 'streaming');
  await p.context().close();
});
