// SPDX-License-Identifier: Apache-2.0
// tickerd live quote board: plain JS, no build step, no external resources.
// Speaks the vendor's stream protocol (Alpaca v2, JSON mode) to the same origin
// (/v2/iex) or to ?ws=URL: connected -> auth -> incremental subscribe/unsubscribe.
//
// URL parameters (all optional):
//   symbols=AAPL,MSFT   the tickers shown (default AAPL,MSFT,TSLA); kept in sync
//   key=K&secret=S      the client key tickerd issued ([clients] / --client; default demo/demo)
//   token=JWT           authenticate with a token instead (sent as key "jwt")
//   issuer=URL          fetch a token before each connection: URL answers {"token": "..."}
//                       (examples/jwt_issue.py --serve)
//   ws=ws://HOST:PORT/v2/iex   another stream than this page's origin
//
// Chg is the change of the last trade against the previous close: the close of
// the symbol's prevDailyBar, from GET /v2/stocks/snapshots?symbols=... on the
// stream's host (Alpaca's REST shape and headers; tickerd serves it when run
// with --rest-url), when the stream is on the page's own host. Without it, Chg
// shows "—" and its tooltip says why.
'use strict';

(() => {
  const SPARK_POINTS = 60;
  const SPARK_W = 120;
  const SPARK_H = 26;
  const CONNECT_TIMEOUT_MS = 5000; // no greeting / auth reply within this: drop and retry
  const NODATA_MS = 5000; // subscribed this long with no quote or trade: say so
  const PREV_RETRY_MS = 2000; // previous closes not known yet: ask again after this
  const PREV_SLOW_MS = 60000; // ... and after PREV_FAST_TRIES, this
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const DEFAULT_SYMBOLS = ['AAPL', 'MSFT', 'TSLA'];
  const SYMBOL_RE = /^[A-Z0-9][A-Z0-9./-]{0,15}$/;
  const STOCK_RE = /^[A-Z0-9.-]{1,64}$/; // what stock snapshots take (crypto pairs: not here)
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const params = new URLSearchParams(location.search);
  const wsURL = params.get('ws') ||
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v2/iex`;
  const PREV_FAST_TRIES = 15;
  // the previous closes: Alpaca's snapshots endpoint on the stream's host
  const snapshotsURL = (() => {
    try {
      const u = new URL(wsURL);
      // another host would need CORS, which the gateway does not answer
      if (u.host !== location.host) return '';
      return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}/v2/stocks/snapshots`;
    } catch {
      return '';
    }
  })();
  const key = params.get('key') || 'demo';
  const secret = params.get('secret') || 'demo';
  const issuer = params.get('issuer');
  let token = params.get('token');

  const $ = (id) => document.getElementById(id);
  const statusEl = $('status');
  const statusText = $('status-text');
  const countdownEl = $('countdown'); // not live: screen readers hear the state, not every tick
  const retryBtn = $('retry');
  const rowsEl = $('rows');
  const emptyEl = $('empty');
  const errorsEl = $('errors');
  const form = $('add-form');
  const input = $('symbol-input');
  const hint = $('add-hint');
  const rateEl = $('rate');
  $('endpoint').textContent = wsURL;

  /** symbol -> row state; insertion order is display order */
  const tickers = new Map();
  const dirty = new Set();
  let ws = null;
  let authed = false;
  let attempt = 0;
  let retryTimer = 0;
  let countdownTimer = 0;
  let connectTimer = 0;
  let rafPending = false;
  let eventsThisSecond = 0;
  let fatal = ''; // why the server will not take us (402): no automatic retry
  let prevTimer = 0;
  let prevTries = 0;
  let prevInFlight = false;
  let prevUnavailable = ''; // why no previous close can be had (no endpoint, refused)

  // ---------- status ----------
  function setStatus(state, text, countdown = '') {
    if (countdownEl.textContent !== countdown) countdownEl.textContent = countdown;
    statusEl.dataset.state = state;
    document.body.dataset.conn = state;
    if (statusText.textContent !== text) statusText.textContent = text;
  }

  function showError(text) {
    const line = document.createElement('div');
    const when = new Date().toLocaleTimeString([], { hour12: false });
    line.textContent = `${when} ${text}`;
    errorsEl.prepend(line);
    while (errorsEl.childElementCount > 3) errorsEl.lastElementChild.remove();
    errorsEl.hidden = false;
  }

  // ---------- symbols / URL ----------
  function normalize(s) {
    return String(s || '').trim().toUpperCase();
  }

  function initialSymbols() {
    const p = params.get('symbols');
    if (p === null) return DEFAULT_SYMBOLS;
    return p.split(',').map(normalize).filter((s) => SYMBOL_RE.test(s));
  }

  function syncURL() {
    const p = new URLSearchParams(location.search);
    p.set('symbols', [...tickers.keys()].join(','));
    history.replaceState(null, '', `${location.pathname}?${p.toString().replace(/%2C/g, ',')}`);
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  function subMsg(action, syms) {
    return { action, trades: syms, quotes: syms };
  }

  function addTicker(sym, { quiet = false } = {}) {
    sym = normalize(sym);
    if (!SYMBOL_RE.test(sym)) {
      if (!quiet) hint.textContent = `“${sym}”: letters, digits, “.”, “/” or “-” only.`;
      return false;
    }
    if (tickers.has(sym)) {
      if (!quiet) hint.textContent = `${sym} is already on the board.`;
      flashRow(tickers.get(sym));
      return false;
    }
    const t = makeRow(sym);
    tickers.set(sym, t);
    rowsEl.append(t.tr);
    emptyEl.hidden = true;
    if (authed) send(subMsg('subscribe', [sym]));
    schedulePrev(300);
    return true;
  }

  function removeTicker(sym) {
    const t = tickers.get(sym);
    if (!t) return;
    const next = t.tr.nextElementSibling || t.tr.previousElementSibling;
    tickers.delete(sym);
    dirty.delete(sym);
    clearTimeout(t.nodataTimer);
    t.tr.remove();
    emptyEl.hidden = tickers.size > 0;
    if (authed) send(subMsg('unsubscribe', [sym]));
    syncURL();
    // keep keyboard focus somewhere sensible
    const btn = next && next.querySelector('button.remove');
    (btn || input).focus();
  }

  // ---------- rows ----------
  function cell(cls) {
    const td = document.createElement('td');
    td.className = cls;
    return td;
  }

  function makeRow(sym) {
    const tr = document.createElement('tr');
    tr.dataset.symbol = sym;
    tr.dataset.sub = 'pending';
    const symTd = document.createElement('th');
    symTd.scope = 'row';
    symTd.className = 'sym';
    symTd.textContent = sym;
    const bid = cell('num bid');
    const ask = cell('num ask');
    const last = cell('num last');
    const chg = cell('num chg');
    const sparkTd = cell('spark');
    const time = cell('num time');
    const act = cell('act');
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'remove';
    rm.textContent = '×';
    rm.title = `Remove ${sym}`;
    rm.setAttribute('aria-label', `Remove ${sym}`);
    rm.addEventListener('click', () => removeTicker(sym));
    act.append(rm);

    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute('width', SPARK_W);
    svg.setAttribute('height', SPARK_H);
    svg.setAttribute('class', 'sparkline');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${sym} recent prices`);
    const area = document.createElementNS(SVG_NS, 'polygon');
    area.setAttribute('class', 'area');
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'line');
    const dot = document.createElementNS(SVG_NS, 'circle');
    dot.setAttribute('r', '0'); // shown once there is a point
    dot.setAttribute('class', 'end');
    svg.append(area, line, dot);
    sparkTd.append(svg);
    sparkTd.dataset.points = '0';

    for (const td of [bid, ask, last, chg, time]) td.textContent = '—';
    // shown instead of the price cells while the subscribed symbol has no data
    const nodata = cell('nodata');
    nodata.colSpan = 5;
    nodata.hidden = true;
    nodata.textContent = `no data for ${sym} yet: the feed has sent no quote or trade for it`;
    tr.append(symTd, bid, ask, last, chg, sparkTd, nodata, time, act);

    return {
      sym, tr,
      el: { bid, ask, last, chg, spark: sparkTd, nodata, time, svg, area, line, dot },
      hasData: false,
      nodataTimer: 0,
      bp: null, bs: null, ap: null, as: null, // last quote
      p: null, s: null, // last trade
      prev: null, // previous close (prevDailyBar.c) and its bar's start, for Chg
      prevDay: '',
      ts: null, // vendor timestamp of the last update
      trades: [], // last SPARK_POINTS trade prices
      mids: [], // last SPARK_POINTS quote mid prices
      shown: {}, // what each cell currently displays (to flash on change)
    };
  }

  function setNoData(t, on) {
    const { bid, ask, last, chg, spark, nodata } = t.el;
    for (const td of [bid, ask, last, chg, spark]) td.hidden = on;
    nodata.hidden = !on;
    if (on) t.tr.dataset.state = 'nodata';
    else delete t.tr.dataset.state;
  }

  // Subscribed (confirmed): if nothing comes within NODATA_MS, say so.
  function watchNoData(t) {
    if (t.hasData || t.nodataTimer) return;
    t.nodataTimer = setTimeout(() => {
      t.nodataTimer = 0;
      if (!t.hasData && tickers.get(t.sym) === t && t.tr.dataset.sub === 'yes') setNoData(t, true);
    }, NODATA_MS);
  }

  function gotData(t) {
    if (t.hasData) return;
    t.hasData = true;
    clearTimeout(t.nodataTimer);
    t.nodataTimer = 0;
    if (t.tr.dataset.state === 'nodata') setNoData(t, false);
  }

  function flashRow(t) {
    t.tr.animate([{ backgroundColor: 'rgba(250, 204, 21, 0.35)' }, { backgroundColor: 'rgba(250, 204, 21, 0)' }],
      { duration: 700, easing: 'ease-out' });
  }

  function decimals(px) {
    const a = Math.abs(px);
    if (a >= 1) return 2;
    if (a >= 0.01) return 4;
    return 8;
  }

  const fmtPx = (px) => px.toFixed(decimals(px));
  const fmtSize = (n) => (n >= 10000 ? `${(n / 1000).toFixed(0)}k` : String(n));

  function fmtTime(ts) {
    // RFC 3339 with 0-9 fractional digits; Date handles milliseconds.
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(ts || '');
    if (!m) return '—';
    const d = new Date(`${m[1]}.${((m[2] || '') + '000').slice(0, 3)}${m[3]}`);
    if (Number.isNaN(d.getTime())) return '—';
    const hms = d.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  }

  const FLASH = {
    up: [{ backgroundColor: 'rgba(52, 211, 153, 0.30)' }, { backgroundColor: 'rgba(52, 211, 153, 0)' }],
    down: [{ backgroundColor: 'rgba(248, 113, 113, 0.30)' }, { backgroundColor: 'rgba(248, 113, 113, 0)' }],
  };

  // Flash a cell green/red (Web Animations: no forced layout, no inline styles).
  function flash(el, up) {
    el.dataset.dir = up ? 'up' : 'down';
    el.animate(up ? FLASH.up : FLASH.down, { duration: 600, easing: 'ease-out' });
  }

  // A price cell: <span class="px">123.45</span><span class="sz">× 100</span>, built once.
  function pxCell(td) {
    const px = document.createElement('span');
    px.className = 'px';
    const sz = document.createElement('span');
    sz.className = 'sz';
    td.replaceChildren(px, sz);
    return { px, sz };
  }

  function render(t) {
    const { el } = t;
    const cells = [
      ['bid', el.bid, t.bp, t.bs],
      ['ask', el.ask, t.ap, t.as],
      ['last', el.last, t.p, t.s],
    ];
    for (const [name, td, px, sz] of cells) {
      if (px === null) continue;
      let shown = t.shown[name];
      if (!shown) shown = t.shown[name] = { ...pxCell(td), value: null, size: null };
      if (px !== shown.value) {
        shown.px.textContent = fmtPx(px);
        if (shown.value !== null) flash(shown.px, px > shown.value);
        shown.value = px;
      }
      if (sz !== shown.size) {
        shown.sz.textContent = sz === null || sz === undefined ? '' : `× ${fmtSize(sz)}`;
        shown.size = sz;
      }
    }
    if (t.p !== null && t.prev) {
      const pct = Math.round(((t.p - t.prev) / t.prev) * 10000) / 100;
      const text = `${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${Math.abs(pct).toFixed(2)}%`;
      el.chg.dataset.sign = pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat';
      el.chg.title = `vs the previous close ${fmtPx(t.prev)} (${t.prevDay})`;
      if (el.chg.textContent !== text) el.chg.textContent = text;
    } else if (!t.prev) {
      delete el.chg.dataset.sign;
      el.chg.title = !STOCK_RE.test(t.sym) ? `no previous close for ${t.sym}: stocks only`
        : prevUnavailable || 'previous close not known yet';
    }
    if (t.ts) {
      const text = fmtTime(t.ts);
      if (el.time.textContent !== text) {
        el.time.textContent = text;
        el.time.title = t.ts;
      }
    }
    drawSpark(t);
  }

  function drawSpark(t) {
    // trade prices once there are two to draw, quote mids until then
    const src = t.trades.length >= 2 || !t.mids.length ? t.trades : t.mids;
    const { svg, area, line, dot, spark } = t.el;
    spark.dataset.points = String(src.length);
    spark.dataset.source = src === t.trades ? 'trades' : 'mids';
    if (src.length === 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of src) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const pad = 3;
    const span = hi - lo || 1;
    // the line always spans the whole width: oldest point left, newest right
    const dx = (SPARK_W - 2 * pad) / Math.max(1, src.length - 1);
    const x0 = src.length === 1 ? SPARK_W - pad : pad;
    const pts = src.map((v, i) => {
      const x = x0 + i * dx;
      const y = hi === lo ? SPARK_H / 2 : pad + (1 - (v - lo) / span) * (SPARK_H - 2 * pad);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    line.setAttribute('points', pts.join(' '));
    area.setAttribute('points',
      `${x0.toFixed(1)},${SPARK_H} ${pts.join(' ')} ${(SPARK_W - pad).toFixed(1)},${SPARK_H}`);
    const [ex, ey] = pts[pts.length - 1].split(',');
    dot.setAttribute('r', '2');
    dot.setAttribute('cx', ex);
    dot.setAttribute('cy', ey);
    svg.dataset.trend = src[src.length - 1] >= src[0] ? 'up' : 'down';
  }

  function push(arr, v) {
    arr.push(v);
    if (arr.length > SPARK_POINTS) arr.shift();
  }

  function markDirty(sym) {
    dirty.add(sym);
    if (!rafPending) {
      rafPending = true;
      requestAnimationFrame(flush);
    }
  }

  function flush() {
    rafPending = false;
    for (const sym of dirty) {
      const t = tickers.get(sym);
      if (t) render(t);
    }
    dirty.clear();
  }

  // ---------- previous closes ----------
  function schedulePrev(ms) {
    if (prevUnavailable || prevTimer) return;
    prevTimer = setTimeout(() => { prevTimer = 0; fetchPrev(); }, ms);
  }

  function prevMissing() {
    return [...tickers.values()].filter((t) => !t.prev && STOCK_RE.test(t.sym)).map((t) => t.sym);
  }

  function noPrev(why) {
    prevUnavailable = why;
    for (const t of tickers.values()) markDirty(t.sym);
  }

  function fetchPrev() {
    const syms = prevMissing();
    if (!syms.length || prevInFlight || prevUnavailable) return;
    if (issuer && !token) return; // asked again once the issuer's token is here
    if (!snapshotsURL) {
      noPrev('no previous close: the stream is not on this page\'s host (?ws=)');
      return;
    }
    prevInFlight = true;
    const headers = token ? { 'APCA-API-KEY-ID': 'jwt', 'APCA-API-SECRET-KEY': token }
      : { 'APCA-API-KEY-ID': key, 'APCA-API-SECRET-KEY': secret };
    fetch(`${snapshotsURL}?symbols=${syms.map(encodeURIComponent).join(',')}`,
      { headers, cache: 'no-store' })
      .then((r) => {
        if (r.status === 404) {
          throw Object.assign(new Error('no previous close: the server has no ' +
            '/v2/stocks/snapshots (run tickerd with --rest-url)'), { final: true });
        }
        if (r.status === 403 || r.status === 401) {
          throw Object.assign(new Error('no previous close: /v2/stocks/snapshots refused ' +
            'the credentials'), { final: true });
        }
        if (!r.ok) throw new Error(`/v2/stocks/snapshots: HTTP ${r.status}`);
        return r.json();
      })
      .then((snap) => {
        for (const [sym, s] of Object.entries(snap || {})) {
          const t = tickers.get(sym);
          const bar = s && s.prevDailyBar;
          if (!t || !bar || typeof bar.c !== 'number' || !(bar.c > 0)) continue;
          t.prev = bar.c;
          t.prevDay = String(bar.t || '').slice(0, 10);
          markDirty(sym);
        }
      })
      .catch((e) => {
        if (e.final) noPrev(e.message);
        // a network error (e.g. another origin without CORS): try again later
      })
      .finally(() => {
        prevInFlight = false;
        if (prevMissing().length) schedulePrev(++prevTries < PREV_FAST_TRIES ? PREV_RETRY_MS : PREV_SLOW_MS);
      });
  }

  // ---------- protocol ----------
  function onEvent(ev) {
    switch (ev.T) {
      case 'success':
        if (ev.msg === 'connected') {
          setStatus('authenticating', 'authenticating…');
          send(token ? { action: 'auth', key: 'jwt', secret: token } : { action: 'auth', key, secret });
        } else if (ev.msg === 'authenticated') {
          clearTimeout(connectTimer);
          authed = true;
          setStatus('authenticated', 'authenticated');
          const syms = [...tickers.keys()];
          if (syms.length) send(subMsg('subscribe', syms));
        }
        return;
      case 'error':
        if (ev.code === 402 && issuer) {
          showError(`error ${ev.code}: the token from ${issuer} was refused; fetching another`);
          return;
        }
        if (ev.code === 402) {
          fatal = `${ev.msg}: the key "${key}" and its secret were refused ` +
            '(give the ones tickerd issued as ?key=KEY&secret=SECRET in the page URL); not retrying';
          showError(`error ${ev.code}: ${fatal}`);
          stopRetrying();
          return;
        }
        showError(`error ${ev.code}: ${ev.msg}`);
        return;
      case 'subscription': {
        const trades = new Set(ev.trades || []);
        const quotes = new Set(ev.quotes || []);
        for (const t of tickers.values()) {
          t.tr.dataset.sub = trades.has(t.sym) || quotes.has(t.sym) ? 'yes' : 'no';
          if (t.tr.dataset.sub === 'yes') watchNoData(t);
        }
        return;
      }
      case 'q': {
        const t = tickers.get(ev.S);
        if (!t) return; // unsubscribed a moment ago: data may still arrive
        if (typeof ev.bp === 'number') { t.bp = ev.bp; t.bs = ev.bs; }
        if (typeof ev.ap === 'number') { t.ap = ev.ap; t.as = ev.as; }
        if (t.bp > 0 && t.ap > 0) push(t.mids, (t.bp + t.ap) / 2);
        t.ts = ev.t;
        gotData(t);
        break;
      }
      case 't': {
        const t = tickers.get(ev.S);
        if (!t || typeof ev.p !== 'number') return;
        t.p = ev.p;
        t.s = ev.s;
        push(t.trades, ev.p);
        t.ts = ev.t;
        gotData(t);
        break;
      }
      default:
        return; // corrections, cancels, bars, statuses...: not shown here
    }
    eventsThisSecond++;
    if (statusEl.dataset.state !== 'streaming') setStatus('streaming', 'streaming');
    markDirty(ev.S);
  }

  function onFrame(data) {
    let arr;
    try {
      arr = JSON.parse(data);
    } catch {
      showError('malformed frame from server (ignored)');
      return;
    }
    if (!Array.isArray(arr)) arr = [arr];
    for (const ev of arr) if (ev && typeof ev === 'object') onEvent(ev);
  }

  // With ?issuer=URL, a fresh token first (a refused or expired one is
  // replaced at the next attempt).
  function connect() {
    if (!issuer) {
      openSocket();
      return;
    }
    clearTimeout(retryTimer);
    setStatus('connecting', 'fetching a token…');
    fetch(issuer, { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((j) => {
        token = String(j.token || '');
        openSocket();
        fetchPrev();
      })
      .catch((e) => {
        showError(`token issuer ${issuer}: ${e.message}`);
        scheduleRetry(0);
      });
  }

  function openSocket() {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    retryBtn.hidden = true;
    statusEl.title = '';
    authed = false;
    fatal = '';
    setStatus('connecting', 'connecting…');
    let sock;
    try {
      sock = new WebSocket(wsURL);
    } catch (e) {
      showError(`bad WebSocket URL ${wsURL}: ${e.message}`);
      return;
    }
    ws = sock;
    connectTimer = setTimeout(() => {
      if (ws === sock && !authed) {
        showError('no greeting/auth reply in time');
        sock.close();
      }
    }, CONNECT_TIMEOUT_MS);
    sock.onmessage = (m) => {
      if (ws === sock && typeof m.data === 'string') onFrame(m.data);
    };
    sock.onclose = (e) => {
      if (ws !== sock) return;
      clearTimeout(connectTimer);
      const wasStreaming = statusEl.dataset.state === 'streaming';
      ws = null;
      authed = false;
      for (const t of tickers.values()) {
        t.tr.dataset.sub = 'pending';
        clearTimeout(t.nodataTimer);
        t.nodataTimer = 0;
      }
      if (wasStreaming) attempt = 0; // a good session resets the backoff
      if (fatal) stopRetrying();
      else scheduleRetry(e.code);
    };
    // errors are followed by close; the browser already logs the reason
    sock.onerror = () => {};
  }

  // The server refused our credentials: retrying cannot help until they change.
  function stopRetrying() {
    clearTimeout(connectTimer);
    setStatus('failed', 'auth failed — not retrying');
    statusEl.title = fatal;
    retryBtn.hidden = false;
    if (ws) {
      const sock = ws;
      ws = null;
      sock.close();
    }
  }

  function scheduleRetry(code) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt++;
    const until = Date.now() + delay;
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setStatus('disconnected', 'disconnected', ` — retrying in ${s} s`);
    };
    tick();
    statusEl.title = code ? `WebSocket close code ${code}` : '';
    retryBtn.hidden = false;
    countdownTimer = setInterval(tick, 250);
    retryTimer = setTimeout(connect, delay);
  }

  // ---------- UI wiring ----------
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    hint.textContent = '';
    const words = input.value.split(/[\s,]+/).filter(Boolean);
    let added = 0;
    const rejected = [];
    for (const w of words) {
      if (addTicker(w)) added++;
      else if (!tickers.has(normalize(w))) rejected.push(w);
    }
    if (added) syncURL();
    input.value = rejected.join(' '); // keep what was not taken, to fix it
    input.focus();
  });
  input.addEventListener('input', () => { hint.textContent = ''; });
  retryBtn.addEventListener('click', () => { attempt = 0; connect(); });

  setInterval(() => {
    rateEl.textContent = `${eventsThisSecond} ev/s`;
    eventsThisSecond = 0;
  }, 1000);

  for (const s of initialSymbols()) addTicker(s, { quiet: true });
  fetchPrev();
  emptyEl.hidden = tickers.size > 0;
  connect();
})();
