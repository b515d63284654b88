#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Python baselines for the backfill benchmark (issue 6), after the reference
approach: fetch Alpaca bars for every symbol (GET /v2/stocks/{SYM}/bars,
following next_page_token), then COPY every row into a `bars` table with the
same schema as tickerd's.

  reference: the reference script's shape (shared/seeds, "Async stock price
         dump"): asyncpg.create_pool() (its default 10 connections);
         asyncio.gather over all symbols, each task acquiring a pool
         connection, then GETting with its own aiohttp.ClientSession, then
         copy_records_to_table of its rows on that connection. So at most 10
         requests are in flight (a task holds a connection while it fetches),
         there is no keep-alive reuse, and there is one COPY per symbol.
  async: a stronger variant: one ClientSession for all (keep-alive, at most
         100 connections), asyncio.gather over all symbols at once, then one
         asyncpg copy_records_to_table of every row.
  sync:  urllib, one request at a time, then the same single asyncpg COPY.

Prints one JSON line: {"mode","symbols","rows","pages","fetch_s","copy_s","wall_s"}.
Timing covers fetch + parse + COPY (not the CREATE TABLE).

  backfill_baseline.py --mode reference|async|sync --url http://127.0.0.1:P --dsn postgresql://...
                       --symbols A,B,... --start 2024-01-01 --end 2024-01-11
"""
import argparse
import asyncio
import json
import time
import urllib.parse
import urllib.request
from datetime import datetime

HEADERS = {"APCA-API-KEY-ID": "bench", "APCA-API-SECRET-KEY": "bench"}
TF = "15Min"
SCHEMA = ("CREATE TABLE IF NOT EXISTS bars(symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
          " ts BIGINT NOT NULL, open DOUBLE PRECISION, high DOUBLE PRECISION,"
          " low DOUBLE PRECISION, close DOUBLE PRECISION, volume DOUBLE PRECISION,"
          " trade_count BIGINT, vwap DOUBLE PRECISION, source TEXT,"
          " PRIMARY KEY (symbol, timeframe, ts))")
COLUMNS = ["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume",
           "trade_count", "vwap", "source"]


def ts_of(s):
    # "2024-01-01T05:00:00Z" -> Unix ns (as tickerd stores ts)
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()) * 1_000_000_000


def records(sym, bars):
    return [(sym, TF, ts_of(b["t"]), float(b["o"]), float(b["h"]), float(b["l"]),
             float(b["c"]), float(b["v"]), int(b.get("n", 0)), float(b.get("vw", 0.0)),
             "alpaca") for b in bars]


def query(args, token):
    q = {"timeframe": TF, "start": args.start, "end": args.end, "limit": args.limit}
    if token:
        q["page_token"] = token
    return urllib.parse.urlencode(q)


async def fetch_async(session, args, sym, stats):
    out, token = [], None
    while True:
        url = f"{args.url}/v2/stocks/{sym}/bars?{query(args, token)}"
        async with session.get(url, headers=HEADERS) as r:
            r.raise_for_status()
            j = await r.json()
        stats["pages"] += 1
        out.extend(records(sym, j.get("bars") or []))
        token = j.get("next_page_token")
        if not token:
            return out


async def reference_one(pool, args, sym, stats):
    import aiohttp
    async with pool.acquire() as conn:
        async with aiohttp.ClientSession(headers=HEADERS) as session:
            rows = await fetch_async(session, args, sym, stats)
        await conn.copy_records_to_table("bars", records=rows, columns=COLUMNS)
    return len(rows)


def fetch_sync(args, sym, stats):
    out, token = [], None
    while True:
        url = f"{args.url}/v2/stocks/{sym}/bars?{query(args, token)}"
        with urllib.request.urlopen(urllib.request.Request(url, headers=HEADERS), timeout=60) as r:
            j = json.loads(r.read())
        stats["pages"] += 1
        out.extend(records(sym, j.get("bars") or []))
        token = j.get("next_page_token")
        if not token:
            return out


async def main():
    import aiohttp
    import asyncpg
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["reference", "async", "sync"], required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--symbols", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--limit", type=int, default=1000)
    args = ap.parse_args()
    syms = [s for s in args.symbols.split(",") if s]

    conn = await asyncpg.connect(args.dsn)
    await conn.execute(SCHEMA)
    stats = {"pages": 0}
    t0 = time.monotonic()
    if args.mode == "reference":
        pool = await asyncpg.create_pool(args.dsn)
        n = await asyncio.gather(*(reference_one(pool, args, s, stats) for s in syms))
        await pool.close()
        await conn.close()
        wall = round(time.monotonic() - t0, 3)
        print(json.dumps({"mode": args.mode, "symbols": len(syms), "rows": sum(n),
                          "pages": stats["pages"], "fetch_s": None, "copy_s": None,
                          "wall_s": wall}))
        return
    if args.mode == "async":
        async with aiohttp.ClientSession() as session:
            parts = await asyncio.gather(*(fetch_async(session, args, s, stats) for s in syms))
    else:
        parts = [fetch_sync(args, s, stats) for s in syms]
    rows = [r for p in parts for r in p]
    t1 = time.monotonic()
    await conn.copy_records_to_table("bars", records=rows, columns=COLUMNS)
    t2 = time.monotonic()
    await conn.close()
    print(json.dumps({"mode": args.mode, "symbols": len(syms), "rows": len(rows),
                      "pages": stats["pages"], "fetch_s": round(t1 - t0, 3),
                      "copy_s": round(t2 - t1, 3), "wall_s": round(t2 - t0, 3)}))


if __name__ == "__main__":
    asyncio.run(main())
