/* SPDX-License-Identifier: Apache-2.0 */
/* What both dialects' client sessions share: phases, decisions, the
 * subscription reconcile within the plan's symbol limit, and the one log
 * line of the topics confirmed one status each. */
#include "proto/client_session.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_SUB_BYTES    16384
#define DEFAULT_HANDSHAKE_MS 15000
#define NOTE_MAX             1500 /* bytes of topics in the confirmation line */

const char *td_csess_verdict_name(td_csd_t v)
{
    static const char *const names[] = {
#define XX(name, text) text,
        TD_CSESS_VERDICTS(XX)
#undef XX
    };
    return (unsigned)v < TD_CSD__VERDICTS ? names[v] : "?";
}

const char *td_csess_phase_name(td_csess_phase_t p)
{
    static const char *const names[] = {"closed", "greeting", "authenticating", "subscribing",
                                        "streaming"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

void td_csess_init(td_csess_t *s, const td_csess_ops_t *ops, const td_csess_cfg_t *cfg,
                   const td_csess_cb_t *cb, void *ud)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->cfg = *cfg;
    if (!s->cfg.max_sub_bytes) s->cfg.max_sub_bytes = DEFAULT_SUB_BYTES;
    if (!s->cfg.handshake_ms) s->cfg.handshake_ms = DEFAULT_HANDSHAKE_MS;
    s->cb = *cb;
    s->ud = ud;
    td_subset_init(&s->requested);
    td_subset_init(&s->confirmed);
}

void td_csess_free(td_csess_t *s)
{
    td_subset_free(&s->requested);
    td_subset_free(&s->confirmed);
    td_buf_free(&s->note);
    td_buf_free(&s->line);
    td_buf_free(&s->out);
}

void td__csess_log(td_csess_t *s, int level, const char *fmt, ...)
{
    if (!s->cb.log) return;
    char line[2048]; /* the confirmation line: NOTE_MAX bytes of topics and words */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cb.log(s->ud, level, line);
}

void td__csess_decide(td_csess_t *s, td_csd_t v, int code, const char *why)
{
    if (v == TD_CSD_RETRY || v == TD_CSD_CONN_LIMIT || v == TD_CSD_FATAL)
        s->phase = TD_CSESS_CLOSED; /* nothing more goes out on this connection */
    snprintf(s->why, sizeof s->why, "%s", why ? why : "");
    td_csess_decision_t d = {v, code, s->phase, s->why};
    if (s->cb.decision) s->cb.decision(s->ud, &d);
}

void td__csess_send(td_csess_t *s, const td_buf_t *b)
{
    if (b->len) s->cb.send(s->ud, b->data, b->len);
}

/* ---- the confirmation line ------------------------------------------------ */

static void flush_note(td_csess_t *s)
{
    if (!s->note_open) return;
    td_buf_appendc(&s->note, '\0');
    if (s->note_more)
        td__csess_log(s, TD_LOG_INFO, "subscribed, streaming (%s and %zu more)", s->note.data,
                      s->note_more);
    else
        td__csess_log(s, TD_LOG_INFO, "subscribed, streaming (%s)", s->note.data);
    td_buf_free(&s->note);
    s->note_more = 0;
    s->note_open = 0;
}

void td__csess_event(td_csess_t *s, const td_event_t *ev)
{
    if (s->note_open) flush_note(s); /* data before every confirmation */
    s->cb.event(s->ud, ev);
}

void td__csess_note(td_csess_t *s, size_t count, const char *topics, size_t n)
{
    if (s->phase != TD_CSESS_SUBSCRIBING && !s->note_open) {
        td__csess_log(s, TD_LOG_DEBUG, "subscribed to: %.*s", (int)(n > 900 ? 900 : n), topics);
        return;
    }
    if (s->note.len + n > NOTE_MAX) {
        s->note_more += count;
    } else {
        if (s->note.len) td_buf_appends(&s->note, ", ");
        td_buf_append(&s->note, topics, n);
    }
    s->note_open = 1;
    s->sub_expect = s->sub_expect > count ? s->sub_expect - count : 0;
    if (!s->sub_expect) flush_note(s);
}

/* A control message out of place: logged (a warning: WARN; debug: NONE). */
static void ignored(td_csess_t *s, int level, const char *what)
{
    td__csess_log(s, level, "%s (in %s): ignored", what, td_csess_phase_name(s->phase));
    td__csess_decide(s, level == TD_LOG_WARN ? TD_CSD_WARN : TD_CSD_NONE, 0, NULL);
}

void td__csess_streaming(td_csess_t *s)
{
    if (s->phase != TD_CSESS_SUBSCRIBING && s->phase != TD_CSESS_STREAMING) {
        /* Nothing was subscribed yet: auth must still come first. */
        ignored(s, TD_LOG_WARN, "a subscription confirmed before auth");
        return;
    }
    s->phase = TD_CSESS_STREAMING;
    td__csess_decide(s, TD_CSD_STREAMING, 0, NULL);
}

static int subset_equal(const td_subset_t *a, const td_subset_t *b)
{
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *x = &a->k[k], *y = &b->k[k];
        if (x->all != y->all || x->n != y->n) return 0;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0) return 0;
    }
    return 1;
}

void td__csess_confirmed_set(td_csess_t *s, td_subset_t *now)
{
    int same = subset_equal(&s->confirmed, now);
    td_subset_t old = s->confirmed;
    s->confirmed = *now;
    *now = old;
    if (!same && s->cb.confirmed) s->cb.confirmed(s->ud, &s->confirmed);
}

/* ---- subscribe messages ------------------------------------------------------ */

static void flush_part(td_csess_t *s, const char *action, td_subset_t *part)
{
    if (td_subset_empty(part)) return;
    td_buf_reset(&s->out);
    s->ops->build_sub(s, &s->out, action, part);
    td__csess_send(s, &s->out);
    s->sub_messages++;
    td_subset_clear(part);
}

/* Sends `action` messages for the kinds this stream offers in set, each at
 * most about max_sub_bytes (long symbol lists are split). */
static void send_chunked(td_csess_t *s, const char *action, const td_subset_t *set)
{
    td_subset_t part;
    size_t est = 0, max = s->cfg.max_sub_bytes;
    td_subset_init(&part);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(s->cfg.kinds & (1u << k))) continue;
        const td_symset_t *ss = &set->k[k];
        size_t words = strlen(td_kind_name(k)) + 8;
        if (ss->all) {
            td_subset_add(&part, (td_kind_t)k, "*", 1);
            est += words;
        }
        for (size_t i = 0; i < ss->n; i++) {
            size_t len = strlen(ss->v[i]) + 3;
            if (est + len + words + 64 > max) {
                flush_part(s, action, &part);
                est = 0;
            }
            td_subset_add(&part, (td_kind_t)k, ss->v[i], len - 3);
            est += len + (part.k[k].n == 1 ? words : 0);
        }
    }
    flush_part(s, action, &part);
    td_subset_free(&part);
}

/* ---- reconcile ------------------------------------------------------------- */

/* The distinct symbols named in set over the stream's kinds, into u's
 * trades (a scratch subset). */
static void distinct_symbols(const td_csess_t *s, const td_subset_t *set, td_subset_t *u)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (s->cfg.kinds & (1u << k))
            for (size_t i = 0; i < set->k[k].n; i++)
                td_subset_add(u, TD_KIND_TRADE, set->k[k].v[i], strlen(set->k[k].v[i]));
}

/* Moves what `requested` has and `want` lacks into del. */
static void reconcile_removals(td_csess_t *s, td_subset_t *del)
{
    const td_subset_t *want = s->cfg.want;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        td_symset_t *r = &s->requested.k[k];
        if (r->all && !want->k[k].all) td_subset_add(del, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < r->n; i++)
            if (!td_subset_names(want, (td_kind_t)k, r->v[i], strlen(r->v[i])))
                td_subset_add(del, (td_kind_t)k, r->v[i], strlen(r->v[i]));
    }
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (del->k[k].all) s->requested.k[k].all = 0;
        for (size_t i = 0; i < del->k[k].n; i++)
            td_subset_remove(&s->requested, (td_kind_t)k, del->k[k].v[i], strlen(del->k[k].v[i]));
    }
}

/* Moves what `want` has and `requested` lacks into add, within the plan's
 * symbol limit; counts what does not fit in s->unfit. */
static void reconcile_additions(td_csess_t *s, td_subset_t *add)
{
    td_subset_t seen;
    td_subset_init(&seen);
    distinct_symbols(s, &s->requested, &seen);
    const td_symset_t *used = &seen.k[TD_KIND_TRADE];
    s->unfit = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *w = &s->cfg.want->k[k];
        if (!(s->cfg.kinds & (1u << k))) continue;
        if (w->all && !s->requested.k[k].all) {
            td_subset_add(add, (td_kind_t)k, "*", 1);
            s->requested.k[k].all = 1;
        }
        for (size_t i = 0; i < w->n; i++) {
            size_t n = strlen(w->v[i]);
            if (td_subset_names(&s->requested, (td_kind_t)k, w->v[i], n)) continue;
            int known = td_subset_names(&seen, TD_KIND_TRADE, w->v[i], n);
            if (s->cfg.max_symbols && !known && used->n >= s->cfg.max_symbols) {
                s->unfit++;
                continue;
            }
            td_subset_add(&seen, TD_KIND_TRADE, w->v[i], n);
            td_subset_add(add, (td_kind_t)k, w->v[i], n);
            td_subset_add(&s->requested, (td_kind_t)k, w->v[i], n);
        }
    }
    td_subset_free(&seen);
}

/* Brings the connection's subscription to `want`: one unsubscribe diff,
 * then one subscribe diff (each split by size), within the symbol limit. */
static void reconcile(td_csess_t *s)
{
    td_subset_t add, del;
    td_subset_init(&add);
    td_subset_init(&del);
    reconcile_removals(s, &del);
    reconcile_additions(s, &add);
    if (!td_subset_empty(&del)) send_chunked(s, "unsubscribe", &del);
    if (!td_subset_empty(&add)) send_chunked(s, "subscribe", &add);
    if (s->unfit != s->unfit_logged) {
        if (s->unfit)
            td__csess_log(s, TD_LOG_WARN,
                          "the plan's limit of %u symbols is reached: %zu subscription(s) left "
                          "out until others are released (--upstream-max-symbols)",
                          s->cfg.max_symbols, s->unfit);
        s->unfit_logged = s->unfit;
    }
    td_subset_free(&add);
    td_subset_free(&del);
}

void td_csess_reconcile(td_csess_t *s)
{
    if (s->phase == TD_CSESS_SUBSCRIBING || s->phase == TD_CSESS_STREAMING) reconcile(s);
}

/* ---- the handshake --------------------------------------------------------- */

void td_csess_begin(td_csess_t *s, uint64_t now_ms)
{
    s->phase = TD_CSESS_GREETING;
    s->began_ms = now_ms;
    s->sub_expect = 0;
    td_subset_clear(&s->requested);
    td_subset_clear(&s->confirmed);
    td_buf_free(&s->note);
    s->note_open = 0;
    s->note_more = 0;
}

void td_csess_end(td_csess_t *s)
{
    flush_note(s);
    s->phase = TD_CSESS_CLOSED;
}

void td__csess_greeting(td_csess_t *s)
{
    if (s->phase != TD_CSESS_GREETING) {
        ignored(s, TD_LOG_DEBUG, "greeting again");
        return;
    }
    td_buf_reset(&s->out);
    s->ops->build_auth(s, &s->out);
    td__csess_send(s, &s->out);
    td_buf_reset(&s->out);
    s->phase = TD_CSESS_AUTHENTICATING;
    td__csess_decide(s, TD_CSD_SEND_AUTH, 0, NULL);
}

int td__csess_closed(td_csess_t *s)
{
    if (s->phase != TD_CSESS_CLOSED) return 0;
    ignored(s, TD_LOG_DEBUG, "a control message");
    return 1;
}

void td__csess_authenticated(td_csess_t *s)
{
    if (s->phase != TD_CSESS_GREETING && s->phase != TD_CSESS_AUTHENTICATING) {
        ignored(s, TD_LOG_DEBUG, "authenticated again");
        return;
    }
    td__csess_log(s, TD_LOG_INFO, "authenticated");
    td_subset_clear(&s->requested);
    reconcile(s);
    s->sub_expect = 0; /* topics the vendor will confirm (Polygon: one status each) */
    for (int k = 0; k < TD_KIND__COUNT; k++)
        s->sub_expect += s->requested.k[k].n + (s->requested.k[k].all ? 1 : 0);
    s->phase = td_subset_empty(&s->requested) ? TD_CSESS_STREAMING : TD_CSESS_SUBSCRIBING;
    td__csess_decide(s, TD_CSD_AUTHENTICATED, 0, NULL);
}

int td_csess_tick(td_csess_t *s, uint64_t now_ms)
{
    if (s->phase == TD_CSESS_CLOSED || s->phase == TD_CSESS_STREAMING) return 0;
    if (now_ms < s->began_ms || now_ms - s->began_ms <= s->cfg.handshake_ms) return 0;
    char why[96];
    snprintf(why, sizeof why, "no greeting, auth or subscription answer within %gs",
             s->cfg.handshake_ms / 1000.0);
    td__csess_decide(s, TD_CSD_RETRY, 0, why);
    return 1;
}

int td_csess_read(td_csess_t *s, const char *p, size_t n)
{
    return s->ops->read(s, p, n);
}
