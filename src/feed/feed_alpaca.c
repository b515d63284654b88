/* SPDX-License-Identifier: Apache-2.0 */
/* The Alpaca dialect of the feed (PROTOCOLS.md §1): stocks, crypto and news
 * streams; auth with key and secret; a full confirmation after each
 * subscription change; errors by code. */
#include "feed/feed_int.h"
#include "core/mem.h"
#include "proto/alpaca.h"

#include <stdio.h>
#include <string.h>

static int setup(td_feed_t *f, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    f->crypto = strstr(f->path, "/crypto") != NULL;
    if (strstr(f->path, "/news"))
        f->kinds = TD_ALPACA_NEWS_KINDS;
    else if (f->crypto)
        f->kinds = TD_ALPACA_CRYPTO_KINDS;
    else
        f->kinds = TD_ALPACA_STOCK_KINDS;
    return 0;
}

/* Crypto pairs contain '/', stock symbols do not; news takes any symbol. */
static int carries(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n)
{
    if (!(f->kinds & (1u << kind))) return 0;
    if (kind == TD_KIND_NEWS || (n == 1 && sym[0] == '*')) return 1;
    return (memchr(sym, '/', n) != NULL) == f->crypto;
}

static void build_auth(const td_feed_t *f, td_buf_t *b)
{
    td_alpaca_build_auth(b, f->key, f->secret);
}

/* tickerd's "since": the resumed channels of this part, with their ids,
 * as one more member of the subscribe object. */
static void add_since(const td_feed_t *f, td_buf_t *b, const td_subset_t *part)
{
    size_t n0 = b->len, added = 0;
    if (!b->len || b->data[b->len - 1] != '}') return;
    b->len--;
    td_buf_appends(b, ",\"since\":{");
    for (size_t i = 0; i < f->since->n; i++) {
        const td_alpaca_since_t *e = &f->since->v[i];
        if (!td_subset_has(part, e->kind, e->sym, strlen(e->sym))) continue;
        char name[96];
        int nl = snprintf(name, sizeof name, "%s.%s", td_kind_name(e->kind), e->sym);
        if (added++) td_buf_appendc(b, ',');
        td_buf_append_json_str(b, name, (size_t)nl);
        td_buf_appendf(b, ":\"%s\"", e->id);
    }
    td_buf_appends(b, "}}");
    if (!added) b->len = n0, b->data[n0] = '\0';
}

static void build_sub(const td_feed_t *f, td_buf_t *b, const char *action, const td_subset_t *part)
{
    td_alpaca_build_sub(b, action, part, f->kinds);
    if (f->since && f->since->n && strcmp(action, "subscribe") == 0) add_since(f, b, part);
}

static void add_confirmed(void *ud, td_kind_t k, const char *sym, size_t n)
{
    td_subset_add(ud, k, sym, n);
}

/* Lists what was requested but is not in the last confirmation. */
static void log_unfit(td_feed_t *f)
{
    td_buf_t b = TD_BUF_INIT;
    size_t count = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &f->requested.k[k];
        for (size_t i = 0; i < ss->n; i++) {
            if (td_subset_has(&f->confirmed, (td_kind_t)k, ss->v[i], strlen(ss->v[i]))) continue;
            if (count++ < 50)
                td_buf_appendf(&b, "%s%s.%s", b.len ? " " : "", td_kind_name(k), ss->v[i]);
        }
    }
    TD_ERR("upstream %s: symbol limit exceeded (405): %zu subscription(s) did not fit: %s%s",
           f->url, count, b.len ? b.data : "(none named)", count > 50 ? " ..." : "");
    td_buf_free(&b);
}

static void on_error(td_feed_t *f, const td_alpaca_ctl_t *c)
{
    char why[160];
    switch (c->code) {
    case 402:
        td__feed_fatal(f, "auth failed (402): check the key and secret (APCA_API_KEY_ID, "
                          "APCA_API_SECRET_KEY)");
        return;
    case 409:
        snprintf(why, sizeof why, "insufficient subscription (409): the plan does not include %s",
                 f->path);
        td__feed_fatal(f, why);
        return;
    case 405:
        log_unfit(f);
        return;
    case 406:
        td__feed_conn_limit(f, "connection limit exceeded (406)");
        return;
    default:
        TD_WARN("upstream %s: vendor error %d: %.*s", f->url, c->code, (int)c->msg_len,
                c->msg ? c->msg : "");
    }
}

static void on_control(void *ud, const td_alpaca_ctl_t *c)
{
    td_feed_t *f = ud;
    switch (c->type) {
    case TD_ALPACA_CTL_CONNECTED:
        if (f->state == TD_FEED_AUTHENTICATING) {
            td_buf_t b = TD_BUF_INIT;
            td_alpaca_build_auth(&b, f->key, f->secret);
            td__feed_queue(f, b.data, b.len);
            td_buf_free(&b);
        }
        break;
    case TD_ALPACA_CTL_AUTHENTICATED:
        TD_INFO("upstream %s: authenticated", f->url);
        td__feed_authenticated(f);
        break;
    case TD_ALPACA_CTL_SUBSCRIPTION:
        td_subset_clear(&f->confirmed);
        td_alpaca_subscription_each(c->raw, c->raw_len, add_confirmed, &f->confirmed);
        if (f->state != TD_FEED_STREAMING)
            TD_INFO("upstream %s: subscribed, streaming (%.*s)", f->url,
                    (int)(c->raw_len > 300 ? 300 : c->raw_len), c->raw);
        td__feed_set_state(f, TD_FEED_STREAMING);
        break;
    case TD_ALPACA_CTL_ERROR:
        on_error(f, c);
        break;
    case TD_ALPACA_CTL_SUCCESS:
        TD_INFO("upstream %s: %.*s", f->url, (int)c->msg_len, c->msg ? c->msg : "");
        break;
    }
}

static void on_event(void *ud, const td_event_t *ev)
{
    td__feed_event(ud, ev);
}

static int read_frame(td_feed_t *f, const char *p, size_t n)
{
    static const td_alpaca_cb_t cbs = {on_event, on_control};
    td_alpaca_stats_t s = {0};
    int rc = td_alpaca_split(p, n, &cbs, f, &s);
    f->st.unknown += s.unknown;
    return rc == TD_OK ? 0 : -1;
}

const td_feed_dialect_t td__feed_alpaca = {"alpaca",   setup,     carries,
                                           build_auth, build_sub, read_frame};
