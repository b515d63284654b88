// SPDX-License-Identifier: Apache-2.0
// What the JavaScript suites (tests/browser, tests/sdk) share: free loopback
// ports; tickerd (or another server) started and waited for on its port,
// stopped with SIGTERM then SIGKILL, its stderr checked for sanitizer
// reports; tickerd's /metrics; a throwaway CA and server certificate made
// with the openssl CLI; tokens from the example issuer
// (examples/jwt_issue.py). Node's standard library only: each suite installs
// its own node_modules, which this file (outside both) cannot see.
//
//   import { Procs, freePort, STEP_MS } from '../js/procs.mjs';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TICKERD = path.resolve(ROOT, process.env.TICKERD || 'build/asan-ubsan/tickerd');
export const JWT_ISSUER = path.join(ROOT, 'examples', 'jwt_issue.py');
export const STEP_MS = 10_000; // bound on every single wait

/** What tickerd's sanitized build prints when it finds a fault (stderr). */
export const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];
/** Given to every tickerd started here (as tests/integration/harness.py does). */
export const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};

/** log(...) to stderr as "[tag] ..." when VERBOSE is set. */
export const logger = (tag) => (...a) => {
  if (process.env.VERBOSE) console.error(`[${tag}]`, ...a);
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves when pred() is true; rejects after ms with what. */
export async function until(pred, what, ms = STEP_MS) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** promise, or a rejection after ms (the timer is cleared either way). */
export async function withTimeout(promise, ms, what) {
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

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => {
    srv.once('listening', resolve);
    srv.once('error', reject);
  });
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Whether 127.0.0.1:port accepts a connection now. */
function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

const gone = (child) => child.exitCode !== null || child.signalCode !== null || !!child.spawnError;

async function waitForPort(port, child, ms = STEP_MS) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.spawnError) throw new Error(`${child.name} did not start: ${child.spawnError.message}`);
    if (gone(child)) throw new Error(`${child.name} exited with ${child.exitCode ?? child.signalCode}`);
    if (await accepts(port)) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
}

/** Throws unless the tickerd binary to test is there. */
function requireTickerd() {
  if (!fs.existsSync(TICKERD)) {
    throw new Error(`${TICKERD} not found: build it (make test) or set TICKERD=path/to/tickerd`);
  }
}

/** SIGTERM, wait (at most ms), SIGKILL if needed; returns { code, signal, killed }. */
export async function stop(child, ms = STEP_MS) {
  if (gone(child)) return { code: child.exitCode, signal: child.signalCode, killed: false };
  child.kill('SIGTERM');
  let killed = false;
  const t = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, ms);
  await child.exited;
  clearTimeout(t);
  return { code: child.exitCode, signal: child.signalCode, killed };
}

/** Stops p and asserts that it exited 0 within STEP_MS of SIGTERM with no
 * sanitizer report on its stderr; returns that stderr. */
export async function stopClean(p) {
  const r = await stop(p);
  const err = p.stderrText();
  const tail = `\n${p.name}: ${p.cmd} ${p.args.join(' ')}\n--- stderr (tail) ---\n${err.slice(-6000)}`;
  assert.ok(!r.killed, `${p.name} did not exit within ${STEP_MS} ms of SIGTERM${tail}`);
  assert.equal(r.code, 0, `${p.name} exit ${r.code} (signal ${r.signal})${tail}`);
  for (const m of SANITIZER_MARKERS) assert.ok(!err.includes(m), `${p.name}: "${m}"${tail}`);
  return err;
}

/** The processes and temporary directories of a test file, gone together
 * after close() in its after(). */
export class Procs {
  list = [];
  dirs = [];

  constructor(log = () => {}) {
    this.log = log;
  }

  /** Spawns cmd (stdout drained, stderr kept) and waits until 127.0.0.1:port
   * accepts connections. The child carries name, cmd, args, stderrText() and
   * exited (settles when it is gone and its stderr read to the end). */
  async start(name, cmd, args, port, { env = {}, cwd } = {}) {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: { ...process.env, ...env } });
    Object.assign(child, { name, cmd, args });
    let errText = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (d) => { errText += d; });
    child.stderrText = () => errText;
    child.exited = new Promise((resolve) => {
      child.once('close', resolve);
      child.once('error', (e) => { child.spawnError = e; resolve(); });
    });
    this.list.push(child);
    await waitForPort(port, child).catch((e) => {
      throw new Error(`${e.message}\n${cmd} ${args.join(' ')}\n${errText.slice(-4000)}`);
    });
    this.log(name, 'on', port);
    return child;
  }

  /** `tickerd <args>` listening on port, with SANITIZER_ENV. */
  tickerd(name, args, port, { env = {}, cwd } = {}) {
    requireTickerd();
    return this.start(name, TICKERD, args, port, { env: { ...SANITIZER_ENV, ...env }, cwd });
  }

  /** `tickerd sim --listen 127.0.0.1:PORT <args>` on a free port; returns PORT. */
  async sim(name, args, opts) {
    const port = await freePort();
    await this.tickerd(name, ['sim', '--listen', `127.0.0.1:${port}`, ...args], port, opts);
    return port;
  }

  /** The example token issuer serving https on port (examples/jwt_issue.py --serve). */
  issuer(port, secret, args, { cwd } = {}) {
    return this.start('issuer', 'python3', [JWT_ISSUER, '--serve', `127.0.0.1:${port}`, ...args], port,
      { env: { TICKERD_JWT_HS256_SECRET: secret }, cwd });
  }

  /** A new directory under the system's temporary one, removed by close(). */
  tmpDir(prefix) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tickerd-${prefix}-`));
    this.dirs.push(dir);
    return dir;
  }

  /** Stops every process still running (SIGKILL after ms), in the order
   * started; then removes the temporary directories (kept with VERBOSE). */
  async close(ms = STEP_MS) {
    for (const p of this.list) await stop(p, ms);
    if (!process.env.VERBOSE) for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** A token from the example issuer's command-line mode, signed with secret. */
export function issueToken(secret, ...args) {
  return execFileSync('python3', [JWT_ISSUER, ...args],
    { env: { ...process.env, TICKERD_JWT_HS256_SECRET: secret } }).toString().trim();
}

/** tickerd's /metrics value of the series name (without "tickerd_", labels included). */
export async function metric(port, name) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(STEP_MS) });
  const quoted = `tickerd_${name}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = (await res.text()).match(new RegExp(`^${quoted} (\\d+)$`, 'm'));
  assert.ok(m, `no tickerd_${name} in /metrics`);
  return Number(m[1]);
}

/** The objects of a JSON-lines file (a sim --record file). */
export function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** A throwaway CA and a server certificate for 127.0.0.1 (and localhost)
 * signed by it, made with the openssl CLI in dir: { ca, cert, key } paths. */
export function makeCerts(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=tickerd test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

/** Base64 SHA-256 of the SubjectPublicKeyInfo of a PEM private key (what
 * Chromium's --ignore-certificate-errors-spki-list takes). */
export function spkiHash(keyFile) {
  const spki = crypto.createPublicKey(fs.readFileSync(keyFile)).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(spki).digest('base64');
}
