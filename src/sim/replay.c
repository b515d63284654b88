/* SPDX-License-Identifier: Apache-2.0 */
/* Recordings as the simulator's event source (tickerd replay): each stream
 * path serves the files recorded from it, in receive-time order. The
 * sessions are the simulator's own (greeting, auth, subscriptions, errors of
 * the vendor's dialect); instead of the generator, the recorded data frames
 * are split again with the dialect's splitter and each event goes to the
 * sessions whose subscription covers it, batched into frames of at most
 * --batch events. Control messages of the recording (the vendor's answers to
 * the recorder) are not replayed: each client gets its own.
 *
 * Pacing: the first recorded frame goes out at the stream's first
 * subscription, each later one when speed x the wall time elapsed reaches
 * its receive time; at max speed (0) as fast as the clients read (no
 * session past PENDING_MAX queued bytes, at most BUDGET_NS of work per
 * tick, so the loop keeps serving). */
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/alpaca.h"
#include "proto/polygon.h"
#include "record/record.h"
#include "sim/sim_int.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX ((size_t)4 << 20)
#define BUDGET_NS   20000000ull
#define GROUP_MAX   64

typedef struct {
    char *name;
    int64_t start_ns;
} rfile_t;

typedef struct {
    td_kind_t kind;
    const char *sym;
    size_t len;
} gev_t;

struct td_sim_replay_s {
    td_sim_stream_t *st;
    rfile_t *files;
    size_t nfiles, cur;
    td_rec_reader_t *rd;
    td_rec_frame_t next; /* read, not yet sent */
    int have_next, done, paced;
    int64_t rec_t0;   /* receive time of the first frame sent */
    uint64_t wall_t0; /* uv_hrtime when it was sent */
    uint64_t frames, events, malformed, delivered;
    /* one payload's events (a news item names several symbols) */
    const char *gpay;
    size_t gpay_len, ng;
    gev_t g[GROUP_MAX];
    td_ratelimit_t rl;
};

/* ---- opening ------------------------------------------------------------- */

static td_sim_stream_t *stream_of(td_sim_t *sim, const td_rec_info_t *in)
{
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_stream_t *st = &sim->streams[i];
        if (strcmp(st->path, in->path) == 0 &&
            strcmp(td_vendor_name(st->vs->vendor), in->vendor) == 0)
            return st;
    }
    return NULL;
}

static int by_start(const void *a, const void *b)
{
    const rfile_t *x = a, *y = b;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

static void add_file(td_sim_stream_t *st, const char *name, int64_t start_ns)
{
    if (!st->rp) {
        st->rp = td_xcalloc(1, sizeof *st->rp);
        st->rp->st = st;
        st->rp->rl = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    }
    td_sim_replay_t *rp = st->rp;
    rp->files = td_xrealloc(rp->files, (rp->nfiles + 1) * sizeof *rp->files);
    rp->files[rp->nfiles].name = td_xstrdup(name);
    rp->files[rp->nfiles].start_ns = start_ns;
    rp->nfiles++;
}

int td__sim_replay_open(td_sim_t *sim, char *err, size_t errlen)
{
    const td_strlist_t *l = &sim->cfg->replay;
    for (size_t i = 0; i < l->n; i++) {
        td_rec_reader_t *rd = td_rec_reader_open(l->v[i], err, errlen);
        if (!rd) return -1;
        const td_rec_info_t *in = td_rec_reader_info(rd);
        td_sim_stream_t *st = stream_of(sim, in);
        if (!st) {
            char ap[160], pp[160];
            snprintf(err, errlen,
                     "%s: a recording of %s %s (%s): not a stream tickerd replay serves (Alpaca "
                     "%s; Polygon %s)",
                     l->v[i], in->vendor, in->path, in->url,
                     td_vendor_paths(TD_VENDOR_ALPACA, ap, sizeof ap),
                     td_vendor_paths(TD_VENDOR_POLYGON, pp, sizeof pp));
            td_rec_reader_free(rd);
            return -1;
        }
        add_file(st, l->v[i], in->start_ns);
        td_rec_reader_free(rd);
    }
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_replay_t *rp = sim->streams[i].rp;
        if (rp) qsort(rp->files, rp->nfiles, sizeof *rp->files, by_start);
    }
    sim->replay = 1;
    return 0;
}

void td__sim_replay_describe(const td_sim_stream_t *st, td_buf_t *out)
{
    const td_sim_replay_t *rp = st->rp;
    if (!rp) return;
    char t[40];
    size_t n = td_rfc3339_format(t, rp->files[0].start_ns);
    td_buf_appendf(out, " %s (%zu file%s from %.*s)", st->path, rp->nfiles,
                   rp->nfiles == 1 ? "" : "s", (int)n, t);
}

void td__sim_replay_free(td_sim_replay_t *rp)
{
    if (!rp) return;
    td_rec_reader_free(rp->rd);
    for (size_t i = 0; i < rp->nfiles; i++)
        free(rp->files[i].name);
    free(rp->files);
    free(rp);
}

/* ---- reading ------------------------------------------------------------- */

/* The next recorded frame into rp->next; 0 at the end of the last file. */
static int read_next(td_sim_replay_t *rp)
{
    char err[512];
    while (rp->cur < rp->nfiles || rp->rd) {
        if (!rp->rd) {
            const char *name = rp->files[rp->cur++].name;
            rp->rd = td_rec_reader_open(name, err, sizeof err);
            if (!rp->rd) {
                TD_ERR("replay: %s; skipping the file", err);
                continue;
            }
        }
        int rc = td_rec_reader_next(rp->rd, &rp->next);
        if (rc == TD_REC_FRAME) return 1;
        if (rc == TD_ETORN)
            TD_WARN("replay: %s", td_rec_reader_error(rp->rd));
        else if (rc == TD_ECORRUPT)
            TD_ERR("replay: %s; the rest of the file is skipped", td_rec_reader_error(rp->rd));
        td_rec_reader_free(rp->rd);
        rp->rd = NULL;
    }
    return 0;
}

/* ---- sending ------------------------------------------------------------- */

static int covers(const td_sim_sess_t *s, td_kind_t k, const char *sym, size_t n)
{
    if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) k = TD_KIND_TRADE;
    return td_subset_has(&s->sess.sub, k, sym, n);
}

/* The events of one payload go to each session that wants any of them, once. */
static void group_flush(td_sim_replay_t *rp)
{
    if (!rp->ng) return;
    for (td_sim_sess_t *s = rp->st->sessions; s; s = s->next) {
        if (s->no_more_data || !s->sess.authed) continue;
        for (size_t i = 0; i < rp->ng; i++)
            if (covers(s, rp->g[i].kind, rp->g[i].sym, rp->g[i].len)) {
                td__sim_sess_push_event(s, rp->gpay, rp->gpay_len);
                rp->delivered++;
                break;
            }
    }
    rp->events++;
    rp->ng = 0;
}

static void on_event(void *ud, const td_event_t *ev)
{
    td_sim_replay_t *rp = ud;
    if (rp->ng && (ev->payload != rp->gpay || rp->ng == GROUP_MAX)) group_flush(rp);
    rp->gpay = ev->payload;
    rp->gpay_len = ev->payload_len;
    rp->g[rp->ng++] = (gev_t){ev->kind, ev->symbol, ev->symbol_len};
}

static void send_frame(td_sim_replay_t *rp, const td_rec_frame_t *f)
{
    td_sim_stream_t *st = rp->st;
    int rc;
    rp->frames++;
    if (st->poly) {
        td_polygon_cb_t cb = {on_event, NULL};
        rc = td_polygon_split(st->cluster, f->data, f->len, &cb, rp, NULL);
    } else {
        td_alpaca_cb_t cb = {on_event, NULL};
        rc = f->flags & TD_REC_FLAG_BINARY ? -1 : td_alpaca_split(f->data, f->len, &cb, rp, NULL);
    }
    group_flush(rp);
    uint64_t suppressed;
    if (rc != 0 && ++rp->malformed && td_ratelimit_ok(&rp->rl, uv_now(st->sim->loop), &suppressed))
        TD_WARN("replay: %s: recorded frame %llu (%zu bytes) not splittable, skipped (%llu "
                "suppressed)",
                st->path, (unsigned long long)rp->frames, f->len, (unsigned long long)suppressed);
}

static int congested(const td_sim_stream_t *st)
{
    for (const td_sim_sess_t *s = st->sessions; s; s = s->next)
        if (!s->no_more_data && td__sim_sess_pending(s) > PENDING_MAX) return 1;
    return 0;
}

void td__sim_replay_start(td_sim_stream_t *st)
{
    const td_sim_cfg_t *cfg = st->sim->cfg;
    char speed[32] = "max";
    if (cfg->replay_speed > 0) snprintf(speed, sizeof speed, "x%g", cfg->replay_speed);
    TD_INFO("replay: %s started (%zu file%s, speed %s)", st->path, st->rp->nfiles,
            st->rp->nfiles == 1 ? "" : "s", speed);
}

static void finish(td_sim_replay_t *rp, uint64_t now_ns)
{
    double dt = rp->paced ? (double)(now_ns - rp->wall_t0) / 1e9 : 0;
    TD_INFO("replay: %s: end of the recordings: %llu frames, %llu events (%llu sent) in %.3f s "
            "(%.0f events/s)",
            rp->st->path, (unsigned long long)rp->frames, (unsigned long long)rp->events,
            (unsigned long long)rp->delivered, dt, dt > 0 ? (double)rp->events / dt : 0.0);
    rp->done = 1;
}

/* 1: rp->next may go now; 0: not yet; -1: past --to (the end). */
static int due(td_sim_replay_t *rp, uint64_t now_ns)
{
    const td_sim_cfg_t *cfg = rp->st->sim->cfg;
    int64_t t = rp->next.ns;
    if (cfg->replay_to_ns && t > cfg->replay_to_ns) return -1;
    if (!rp->paced) {
        rp->paced = 1;
        rp->rec_t0 = t;
        rp->wall_t0 = now_ns;
        return 1;
    }
    if (cfg->replay_speed <= 0) return !congested(rp->st);
    double elapsed = (double)(now_ns - rp->wall_t0) * cfg->replay_speed;
    return (double)(t - rp->rec_t0) <= elapsed;
}

int td__sim_replay_run(td_sim_stream_t *st, uint64_t now_ns)
{
    td_sim_replay_t *rp = st->rp;
    const td_sim_cfg_t *cfg = st->sim->cfg;
    if (rp->done) return 0;
    for (unsigned n = 0;; n++) {
        if ((n & 63) == 63 && uv_hrtime() - now_ns > BUDGET_NS) break; /* the loop serves too */
        if (!rp->have_next) {
            if (!read_next(rp)) {
                finish(rp, uv_hrtime());
                break;
            }
            if (cfg->replay_from_ns && rp->next.ns < cfg->replay_from_ns) continue;
            rp->have_next = 1;
        }
        int d = due(rp, now_ns);
        if (d < 0) {
            finish(rp, uv_hrtime());
            break;
        }
        if (!d) break;
        send_frame(rp, &rp->next);
        rp->have_next = 0;
    }
    for (td_sim_sess_t *s = st->sessions; s; s = s->next)
        if (s->wake) td__sim_sess_wake(s);
    return !rp->done;
}
