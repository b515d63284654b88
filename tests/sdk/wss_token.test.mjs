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
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Procs, STEP_MS, freePort, issueToken, logger, makeCerts, stopClean } from '../js/procs.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECRET = 'sdk-test-secret-of-at-least-32-bytes';

const log = logger('wss.test');
const procs = new Procs(log);
let certs;

const urls = {};

before(async () => {
  certs = makeCerts(procs.tmpDir('wss'));
  const tls = ['--tls-cert', certs.cert, '--tls-key', certs.key, '--stats-interval', '0'];
  const env = { TICKERD_JWT_HS256_SECRET: SECRET };
  for (const [dialect, upath, vendor] of [
    ['alpaca', '/v2/iex', { APCA_API_KEY_ID: 'PKVENDOR', APCA_API_SECRET_KEY: 'vendor-secret' }],
    ['polygon', '/stocks', { POLYGON_API_KEY: 'PKVENDOR' }]]) {
    const simPort = await procs.sim(`sim-${dialect}`, ['--rate', '500', '--symbols', '10']);
    const [plain, secure] = [await freePort(), await freePort()];
    await procs.tickerd(`gateway-${dialect}`, ['run', '--feed', dialect, '--url', `ws://127.0.0.1:${simPort}${upath}`,
      '--listen', `127.0.0.1:${plain}`, '--listen-tls', `127.0.0.1:${secure}`, ...tls], secure,
    { env: { ...vendor, ...env } });
    urls[dialect] = `wss://127.0.0.1:${secure}`;
  }
});

after(async () => {
  await procs.close();
});

test('Alpaca SDK and Polygon client over wss:// with tokens from the example issuer', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [path.join(HERE, 'wss_clients.mjs')], {
    cwd: HERE,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: certs.ca,
      ALPACA_URL: `${urls.alpaca}/v2/iex`,
      POLYGON_BASE: urls.polygon,
      TOKEN: issueToken(SECRET, '--sub', 'sdk', '--ttl', '600', '--symbols', 'AAPL'),
      BAD_TOKEN: issueToken(SECRET, '--sub', 'late', '--ttl', '-10'),
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
  for (const p of procs.list) {
    const err = await stopClean(p);
    if (p.name.startsWith('gateway')) assert.match(err, /token of 'sdk'/);
  }
});
