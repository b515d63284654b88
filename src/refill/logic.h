/* SPDX-License-Identifier: Apache-2.0 */
/* The refill's pure logic (no I/O; unit-tested): which bars an outage may
 * have lost, what was already delivered, and a REST record turned back into
 * the stream's own event shape. */
#ifndef TD_REFILL_LOGIC_H
#define TD_REFILL_LOGIC_H

#include "core/buf.h"
#include "proto/bars.h"
#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>

/* The bars an outage [from_ns, to_ns] may have lost, as bar starts
 * [*t0, *t1] (ns, both inclusive, multiples of step_ns): a bar is sent once
 * its period is over, so the one that ended just before the last bytes
 * received may have been lost too (t0 = the start of the period before the
 * one holding from_ns), and the last one is the last whose period ended by
 * to_ns (a later one comes live). Returns 0, or -1 if no bar fits. */
int td_refill_bar_window(int64_t from_ns, int64_t to_ns, int64_t step_ns, int64_t *t0, int64_t *t1);

/* What was delivered recently: a set of 64-bit keys (hashes of kind,
 * symbol, timestamp) of bounded size; past `cap` keys the oldest is
 * forgotten first. */
typedef struct td_seen_s {
    uint64_t *slot; /* open addressing, linear probing; 0 = empty */
    size_t mask;    /* slots - 1 (slots = 2 * cap, a power of two) */
    uint64_t *fifo; /* the keys in insertion order (ring of cap) */
    size_t cap, head, n;
} td_seen_t;

/* cap: keys remembered (rounded up to a power of two, at least 16). */
void td_seen_init(td_seen_t *s, size_t cap);
void td_seen_free(td_seen_t *s);
/* Adds key (0 is mapped to 1); returns 1 if it was new. */
int td_seen_add(td_seen_t *s, uint64_t key);
int td_seen_has(const td_seen_t *s, uint64_t key);

/* The key of (kind, symbol, timestamp ns). */
uint64_t td_refill_key(td_kind_t kind, const char *sym, size_t n, int64_t ts_ns);

/* The timestamp of a live event (Alpaca: "t", RFC 3339; Polygon: "s", the
 * bar's start in Unix ms): 0 and *ns, or -1 if absent or malformed. */
int td_refill_event_time(const char *payload, size_t n, int64_t *ns);

/* A trade's "i" (an unsigned integer member of the event): 0 and *id, or
 * -1. */
int td_refill_event_id(const char *payload, size_t n, uint64_t *id);

/* The key of a trade or quote: (kind, symbol, time) and the trade id (0 for
 * quotes). */
uint64_t td_refill_tick_key(td_kind_t kind, const char *sym, size_t n, int64_t ts_ns, uint64_t id);

/* A REST trade or quote record (a JSON object, its bytes) as the stream's
 * event: {"T":"t"|"q","S":SYM,<the record's members>,"refilled":true}.
 * Appended to out. */
void td_refill_tick_json(td_kind_t kind, const char *sym, const char *rec, size_t rec_len,
                         td_buf_t *out);

/* A Polygon /v3 trade or quote record as the stream's event, marked as
 * refilled:
 *   trade: {"ev":"T","sym":SYM,"x":exchange,"i":id,"z":tape,"p":price,"s":size,
 *           "c":conditions,"t":sip_timestamp in ms,"q":sequence_number,
 *           "trfi":trf_id,"trft":trf_timestamp in ms,"refilled":true}
 *   quote: {"ev":"Q","sym":SYM,"bx":bid_exchange,"bp":bid_price,"bs":bid_size,
 *           "ax":ask_exchange,"ap":ask_price,"as":ask_size,"c":conditions[0],
 *           "i":indicators,"t":..,"q":..,"z":tape,"refilled":true}
 * (members absent from the record are left out). Appended to out; -1 (out
 * unchanged) if rec is not an object with an integer sip_timestamp. */
int td_refill_tick_json_polygon(td_kind_t kind, const char *sym, const char *rec, size_t rec_len,
                                td_buf_t *out);

/* A REST bar as the stream's minute bar, marked as refilled:
 *   polygon 0: {"T":"b","S":SYM,"o":..,"h":..,"l":..,"c":..,"v":..,"t":RFC3339,
 *               ["n":..,]["vw":..,]"refilled":true}
 *   polygon 1: {"ev":"AM","sym":SYM,"v":..,"o":..,"c":..,"h":..,"l":..,["vw":..,]
 *               ["z":..,]"s":ms,"e":ms,"refilled":true}  (e = s + step)
 * Appended to out. */
void td_refill_bar_json(const td_bar_t *b, int polygon, int64_t step_ns, td_buf_t *out);

#endif
