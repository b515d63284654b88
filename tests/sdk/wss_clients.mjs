// SPDX-License-Identifier: Apache-2.0
// Run by wss_token.test.mjs in a node process of its own, whose
// NODE_EXTRA_CA_CERTS names the test CA (Node reads it at startup only): the
// official Alpaca SDK and Polygon client connect over wss:// to tickerd's
// --listen-tls with tokens, as an application would, and what they saw is
// printed as one JSON object on stdout.
//
// Env: ALPACA_URL (wss://HOST:PORT/v2/iex), POLYGON_BASE (wss://HOST:PORT),
//      TOKEN (allows AAPL only), BAD_TOKEN (expired), STEP_MS.
import { Alpaca } from '@alpacahq/alpaca-trade-api';
import { websocketClient } from '@polygon.io/client-js';
import { until as untilWithin } from '../js/procs.mjs';

const STEP_MS = Number(process.env.STEP_MS || 10_000);
const until = (pred, what) => untilWithin(pred, what, STEP_MS);

/** The SDK's stock stream with key "jwt" and the token as its secret. */
async function alpaca(token, subscribe) {
  const sdk = new Alpaca({ keyId: 'jwt', secret: token });
  const stream = sdk.marketData.stockStream({ url: process.env.ALPACA_URL, feed: 'iex', reconnect: false });
  const seen = { errors: [], quotes: [], subscriptions: [] };
  stream.onError((e) => seen.errors.push(String(e?.message ?? e)));
  stream.onQuote((q) => seen.quotes.push(q.symbol));
  stream.on('subscription', (s) => seen.subscriptions.push(s));
  stream.connect();
  const auth = await stream.waitForAuthenticationResult(STEP_MS).catch((e) => ({ status: 'error', msg: String(e) }));
  const out = { auth: auth.status, errors: seen.errors };
  if (subscribe && auth.status === 'authenticated') {
    stream.subscribeForQuotes(subscribe);
    await until(() => seen.quotes.length >= 5, 'Alpaca quotes');
    out.quotes = [...new Set(seen.quotes)].sort();
    out.subscription = seen.subscriptions.at(-1)?.quotes;
  }
  stream.disconnect();
  return out;
}

/** The Polygon client's stocks socket with the token as its key. */
async function polygon(token, params) {
  const ws = websocketClient(token, process.env.POLYGON_BASE).stocks();
  const seen = { messages: [], closed: null };
  ws.onmessage = ({ data }) => { for (const m of JSON.parse(data)) seen.messages.push(m); };
  ws.onclose = (e) => { seen.closed = e.code; };
  const statuses = () => seen.messages.filter((m) => m.ev === 'status');
  await until(() => statuses().length >= 2 || seen.closed !== null, 'Polygon auth');
  const out = { statuses: statuses().map((s) => s.status) };
  if (params && out.statuses[1] === 'auth_success') {
    ws.send(JSON.stringify({ action: 'subscribe', params }));
    const data = () => seen.messages.filter((m) => m.ev !== 'status');
    await until(() => data().length >= 5, 'Polygon trades');
    out.topics = [...new Set(data().map((m) => `${m.ev}.${m.sym}`))].sort();
    out.messages = statuses().slice(2).map((s) => s.message);
  } else {
    await until(() => seen.closed !== null, 'the close');
  }
  out.closed = seen.closed;
  ws.close();
  return out;
}

const { TOKEN, BAD_TOKEN } = process.env;
const result = {
  alpaca: await alpaca(TOKEN, ['AAPL', 'MSFT']),
  alpacaBad: await alpaca(BAD_TOKEN),
  polygon: await polygon(TOKEN, 'T.AAPL,T.MSFT'),
  polygonBad: await polygon(BAD_TOKEN),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
