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
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TICKERD = path.resolve(ROOT, process.env.TICKERD || 'build/asan-ubsan/tickerd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 10_000;
const SECRET = 'browser-test-secret-of-at-least-32-bytes';

const procs = [];
let browser;
let tmp;
let page;
const ports = {};

const log = (...a) => { if (process.env.VERBOSE) console.error('[board_tls.test]', ...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Spawns cmd and waits until 127.0.0.1:port accepts connections. */
async function start(name, cmd, args, port, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: { ...process.env, ...env } });
  child.name = name;
  let errText = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { errText = (errText + d).slice(-8000); });
  child.stderrText = () => errText;
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

const openssl = (...args) => execFileSync('openssl', args, { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });

/** CA, server certificate for 127.0.0.1, and the base64 SHA-256 of the server key's SPKI. */
function makeCerts() {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=tickerd test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(tmp, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  const spki = openssl('pkey', '-in', 'server.key', '-pubout', '-outform', 'DER');
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: spki }).toString('base64');
}

async function metric(name) {
  const res = await fetch(`http://127.0.0.1:${ports.plain}/metrics`, { signal: AbortSignal.timeout(STEP_MS) });
  const m = (await res.text()).match(new RegExp(`^tickerd_${name} (\\d+)$`, 'm'));
  assert.ok(m, `no tickerd_${name} in /metrics`);
  return Number(m[1]);
}

before(async () => {
  if (!fs.existsSync(TICKERD)) throw new Error(`${TICKERD} not found: build it or set TICKERD`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tickerd-board-tls-'));
  const spki = makeCerts();
  for (const k of ['sim', 'plain', 'tls', 'issuer']) ports[k] = await freePort();
  const board = `https://127.0.0.1:${ports.tls}`;
  await start('sim', TICKERD, ['sim', '--listen', `127.0.0.1:${ports.sim}`, '--rate', '300', '--symbols', '10'], ports.sim);
  await start('gateway', TICKERD, ['run', '--url', `ws://127.0.0.1:${ports.sim}/v2/iex`,
    '--listen', `127.0.0.1:${ports.plain}`, '--listen-tls', `127.0.0.1:${ports.tls}`,
    '--tls-cert', path.join(tmp, 'server.pem'), '--tls-key', path.join(tmp, 'server.key'),
    '--allow-origin', board, '--rest-url', `http://127.0.0.1:${ports.sim}`,
    '--stats-interval', '0'], ports.tls,
  { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor', TICKERD_JWT_HS256_SECRET: SECRET });
  await start('issuer', 'python3', [path.join(ROOT, 'examples', 'jwt_issue.py'), '--serve',
    `127.0.0.1:${ports.issuer}`, '--origin', board, '--sub', 'board', '--ttl', '600',
    '--cert', path.join(tmp, 'server.pem'), '--key', path.join(tmp, 'server.key')], ports.issuer,
  { TICKERD_JWT_HS256_SECRET: SECRET });
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
  for (const p of procs) {
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await once(p, 'exit').catch(() => {});
      clearTimeout(t);
    }
  }
  if (tmp && !process.env.VERBOSE) fs.rmSync(tmp, { recursive: true, force: true });
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
  assert.ok(await metric('client_token_auths_total') >= 1);
  fs.mkdirSync(path.join(ROOT, 'tests', 'artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'tests', 'artifacts', 'board-tls.png') });
  await page.context().close();
});

test('the same board from another origin (the plain listener) is refused at the upgrade', { timeout: 30_000 }, async () => {
  const before = (await (await fetch(`http://127.0.0.1:${ports.plain}/metrics`)).text())
    .match(/^tickerd_upgrade_refusals_total\{reason="origin"\} (\d+)$/m);
  const p = await newPage();
  await p.goto(`http://127.0.0.1:${ports.plain}/?symbols=AAPL&key=x&secret=y`, { waitUntil: 'load' });
  const end = Date.now() + STEP_MS;
  let n = Number(before[1]);
  while (n === Number(before[1]) && Date.now() < end) {
    await sleep(100);
    n = Number((await (await fetch(`http://127.0.0.1:${ports.plain}/metrics`)).text())
      .match(/^tickerd_upgrade_refusals_total\{reason="origin"\} (\d+)$/m)[1]);
  }
  assert.ok(n > Number(before[1]), 'no upgrade refused for its Origin');
  assert.notEqual(await p.getAttribute('#status', 'data-state'), 'streaming');
  await p.context().close();
});
