// SPDX-License-Identifier: Apache-2.0
// The official Alpaca SDK and Polygon client over wss:// with tokens: a
// throwaway CA and server certificate made with the openssl CLI, tickerd's
// gateway on --listen-tls (Alpaca dialect, and Polygon dialect) with
// --jwt-hs256-secret, tokens minted by the documented example issuer
// (examples/jwt_issue.py), and the clients run by wss_clients.mjs in a node
// process whose NODE_EXTRA_CA_CERTS trusts exactly that CA. A token
// restricted to AAPL receives AAPL data and is refused MSFT in both dialects;
// an expired one gets the dialect's auth error.
//
//   tests/sdk/run.sh
//
// Env: TICKERD (default build/asan-ubsan/tickerd), VERBOSE=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TICKERD = path.resolve(ROOT, process.env.TICKERD || 'build/asan-ubsan/tickerd');
const STEP_MS = 10_000;
const SECRET = 'sdk-test-secret-of-at-least-32-bytes';
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];

const procs = [];
let tmp;

const log = (...a) => { if (process.env.VERBOSE) console.error('[wss.test]', ...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

const openssl = (...args) => execFileSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA and a server certificate for 127.0.0.1 signed by it (ca.pem, server.pem, server.key). */
function makeCerts() {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=tickerd test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(tmp, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
}

/** A token from the example issuer (its command-line mode). */
function issue(...args) {
  return execFileSync('python3', [path.join(ROOT, 'examples', 'jwt_issue.py'), ...args],
    { env: { ...process.env, TICKERD_JWT_HS256_SECRET: SECRET } }).toString().trim();
}

const urls = {};

before(async () => {
  if (!fs.existsSync(TICKERD)) throw new Error(`${TICKERD} not found: build it or set TICKERD`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tickerd-wss-'));
  makeCerts();
  const tls = ['--tls-cert', path.join(tmp, 'server.pem'), '--tls-key', path.join(tmp, 'server.key'),
    '--stats-interval', '0'];
  const env = { TICKERD_JWT_HS256_SECRET: SECRET };
  for (const [dialect, upath, vendor] of [
    ['alpaca', '/v2/iex', { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor-secret' }],
    ['polygon', '/stocks', { POLYGON_API_KEY: 'PKVENDOR' }]]) {
    const simPort = await freePort();
    await startTickerd(`sim-${dialect}`, ['sim', '--listen', `127.0.0.1:${simPort}`, '--rate', '500',
      '--symbols', '10'], simPort);
    const [plain, secure] = [await freePort(), await freePort()];
    await startTickerd(`gateway-${dialect}`, ['run', '--feed', dialect, '--url', `ws://127.0.0.1:${simPort}${upath}`,
      '--listen', `127.0.0.1:${plain}`, '--listen-tls', `127.0.0.1:${secure}`, ...tls], secure,
    { ...vendor, ...env });
    urls[dialect] = `wss://127.0.0.1:${secure}`;
  }
});

after(async () => {
  for (const p of procs) await stop(p);
  if (tmp && !process.env.VERBOSE) fs.rmSync(tmp, { recursive: true, force: true });
});

test('Alpaca SDK and Polygon client over wss:// with tokens from the example issuer', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [path.join(HERE, 'wss_clients.mjs')], {
    cwd: HERE,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: path.join(tmp, 'ca.pem'),
      ALPACA_URL: `${urls.alpaca}/v2/iex`,
      POLYGON_BASE: urls.polygon,
      TOKEN: issue('--sub', 'sdk', '--ttl', '600', '--symbols', 'AAPL'),
      BAD_TOKEN: issue('--sub', 'late', '--ttl', '-10'),
      STEP_MS: String(STEP_MS),
    },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const t = setTimeout(() => child.kill('SIGKILL'), 80_000);
  const [code] = await once(child, 'exit');
  clearTimeout(t);
  assert.equal(code, 0, `wss_clients.mjs exited ${code}\n${err}`);
  const r = JSON.parse(out);
  log(JSON.stringify(r));
  // Alpaca: authenticated by the token; MSFT refused by its claim (409), AAPL streams
  assert.equal(r.alpaca.auth, 'authenticated', JSON.stringify(r.alpaca));
  assert.deepEqual(r.alpaca.subscription, ['AAPL']);
  assert.deepEqual(r.alpaca.quotes, ['AAPL']);
  assert.ok(r.alpaca.errors.some((e) => /insufficient subscription/.test(e)), JSON.stringify(r.alpaca.errors));
  assert.notEqual(r.alpacaBad.auth, 'authenticated', JSON.stringify(r.alpacaBad));
  assert.ok(r.alpacaBad.errors.some((e) => /auth failed/.test(e)), JSON.stringify(r.alpacaBad));
  // Polygon: the same token as its key
  assert.deepEqual(r.polygon.statuses.slice(0, 2), ['connected', 'auth_success']);
  assert.deepEqual(r.polygon.messages, ['insufficient subscription: T.MSFT', 'subscribed to: T.AAPL']);
  assert.deepEqual(r.polygon.topics, ['T.AAPL']);
  assert.deepEqual(r.polygonBad.statuses, ['connected', 'auth_failed']);
  assert.equal(r.polygonBad.closed, 1008);
});

test('the TLS gateways exit 0 on SIGTERM without sanitizer reports', async () => {
  for (const p of procs) {
    const r = await stop(p);
    const err = p.stderrText();
    assert.equal(r.code, 0, `${p.name} exit ${JSON.stringify(r)}\n${err.slice(-2000)}`);
    for (const m of SANITIZER_MARKERS) assert.ok(!err.includes(m), `${p.name}: ${m}\n${err.slice(-4000)}`);
    if (p.name.startsWith('gateway')) assert.match(err, /token of 'sdk'/);
  }
});
