/* SPDX-License-Identifier: Apache-2.0 */
/* Writes recordings (record.h). Each frame goes into a zstd stream (level
 * 3: ~5.5x on market-data JSON at ~250 MB/s of input, see BENCHMARKS.md).
 * With `workers` (tickerd run: 1) libzstd compresses in its own thread in
 * jobs of 512 KiB: on the loop a frame costs a copy into zstd's input
 * buffer, and the output of finished jobs is written (to the page cache) on
 * later calls; the flush every flush_ms waits for the job in progress.
 * Without, each 128 KiB block is compressed on the loop when it fills.
 * Files rotate at each UTC hour and past an eighth of max_gb; each ends with
 * a complete zstd frame (checksummed). */
#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "record/record_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUR_NS  3600000000000LL
#define RETRY_NS 10000000000LL

static void fail(td_rec_t *r, const char *what)
{
    uint64_t suppressed;
    r->d->st.errors++;
    if (td_ratelimit_ok(&r->rl_err, td_mono_ms(), &suppressed))
        TD_ERR("record: cannot write %s: %s; the file ends here, a new one is tried in 10 s "
               "(%llu suppressed)",
               r->file ? r->file : r->d->dir, what, (unsigned long long)suppressed);
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    r->dirty = 0;
    r->retry_ns = td_now_ns() + RETRY_NS;
}

static int write_all(td_rec_t *r, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(r->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fail(r, w < 0 ? strerror(errno) : "short write");
            return -1;
        }
        p += w;
        n -= (size_t)w;
        r->file_out += (uint64_t)w;
        r->d->st.bytes_out += (uint64_t)w;
        r->d->since_prune += (uint64_t)w;
    }
    return 0;
}

/* Feeds [p, p+n) to the compressor (continue), or flushes / ends the frame. */
static int put(td_rec_t *r, const void *p, size_t n, ZSTD_EndDirective how)
{
    td_recdir_t *d = r->d;
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {d->out, d->out_cap, 0};
        size_t left = ZSTD_compressStream2(r->cc, &out, &in, how);
        if (ZSTD_isError(left)) {
            fail(r, ZSTD_getErrorName(left));
            return -1;
        }
        if (out.pos && write_all(r, d->out, out.pos) != 0) return -1;
        if (how == ZSTD_e_continue ? in.pos == in.size : left == 0) return 0;
    }
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int open_file(td_rec_t *r, int64_t ns)
{
    td_recdir_t *d = r->d;
    r->fd = td__rec_create(r, ns);
    if (r->fd < 0) {
        r->retry_ns = ns + RETRY_NS;
        d->st.errors++;
        return -1;
    }
    r->hour = td_floor_div(ns, HOUR_NS);
    r->file_out = 0;
    ZSTD_CCtx_reset(r->cc, ZSTD_reset_session_only);
    td_buf_t h = TD_BUF_INIT;
    td_buf_append(&h, TD_REC_MAGIC, TD_REC_MAGIC_LEN);
    td_buf_append(&h, "\0\0\0\0", 4);
    td_buf_appends(&h, "{\"vendor\":");
    td_buf_append_json_str(&h, r->vendor, strlen(r->vendor));
    td_buf_appends(&h, ",\"url\":");
    td_buf_append_json_str(&h, r->url, strlen(r->url));
    td_buf_appends(&h, ",\"path\":");
    td_buf_append_json_str(&h, r->path, strlen(r->path));
    td_buf_appendf(&h, ",\"start_ns\":%lld,\"writer\":", (long long)ns);
    td_buf_append_json_str(&h, d->writer, strlen(d->writer));
    td_buf_appendc(&h, '}');
    put_u32((unsigned char *)h.data + TD_REC_MAGIC_LEN, (uint32_t)(h.len - TD_REC_MAGIC_LEN - 4));
    int rc = put(r, h.data, h.len, ZSTD_e_continue);
    td_buf_free(&h);
    if (rc != 0) return -1;
    d->st.files++;
    r->dirty = 1;
    TD_INFO("record: %s %s -> %s", r->vendor, r->url, r->file);
    if (d->max_bytes) td__recdir_prune(d);
    return 0;
}

/* Ends the zstd frame and closes the file. */
static void finish(td_rec_t *r)
{
    if (r->fd < 0) return;
    if (put(r, NULL, 0, ZSTD_e_end) != 0) return;
    if (close(r->fd) != 0) r->d->st.errors++;
    r->fd = -1;
    r->dirty = 0;
    TD_INFO("record: %s closed (%llu bytes)", r->file, (unsigned long long)r->file_out);
}

void td_rec_frame(td_rec_t *r, const void *p, size_t n, int64_t ns, unsigned flags)
{
    td_recdir_t *d = r->d;
    if (n > TD_REC_MAX_FRAME) return; /* the feed never passes one this large */
    if (r->fd >= 0 && (td_floor_div(ns, HOUR_NS) != r->hour ||
                       (d->rotate_bytes && r->file_out >= d->rotate_bytes)))
        finish(r);
    if (r->fd < 0 && (ns < r->retry_ns || open_file(r, ns) != 0)) return;
    unsigned char h[TD_REC_REC_HDR];
    put_u32(h, (uint32_t)n);
    for (int i = 0; i < 8; i++)
        h[4 + i] = (unsigned char)((uint64_t)ns >> (8 * i));
    h[12] = (unsigned char)(flags & TD_REC_FLAG_BINARY);
    if (put(r, h, sizeof h, ZSTD_e_continue) != 0 || put(r, p, n, ZSTD_e_continue) != 0) return;
    r->dirty = 1;
    d->st.frames++;
    d->st.bytes_in += n;
}

void td_recdir_flush(td_recdir_t *d)
{
    for (td_rec_t *r = d->recs; r; r = r->next)
        if (r->fd >= 0 && r->dirty && put(r, NULL, 0, ZSTD_e_flush) == 0) r->dirty = 0;
    if (d->max_bytes && d->since_prune >= d->max_bytes / 16) td__recdir_prune(d);
}

static void on_timer(uv_timer_t *t)
{
    td_recdir_flush(t->data);
}

td_recdir_t *td_recdir_new(uv_loop_t *loop, const td_recdir_cfg_t *cfg, char *err, size_t errlen)
{
    if (!cfg->dir || !*cfg->dir) {
        snprintf(err, errlen, "--record: no directory given");
        return NULL;
    }
    if (mkdir(cfg->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--record: cannot create directory '%s': %s", cfg->dir,
                 strerror(errno));
        return NULL;
    }
    if (access(cfg->dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "--record: directory '%s' is not writable: %s", cfg->dir,
                 strerror(errno));
        return NULL;
    }
    td_recdir_t *d = td_xcalloc(1, sizeof *d);
    d->loop = loop;
    d->dir = td_xstrdup(cfg->dir);
    d->writer = td_xstrdup(cfg->writer ? cfg->writer : "tickerd");
    d->max_bytes = cfg->max_gb > 0 ? (uint64_t)(cfg->max_gb * 1e9) : 0;
    d->rotate_bytes = d->max_bytes / 8;
    d->level = cfg->level ? cfg->level : 3;
    d->workers = cfg->workers;
    d->out_cap = ZSTD_CStreamOutSize();
    d->out = td_xmalloc(d->out_cap);
    if (loop) {
        uint32_t ms = cfg->flush_ms ? cfg->flush_ms : 200;
        uv_timer_init(loop, &d->timer);
        d->timer.data = d;
        uv_timer_start(&d->timer, on_timer, ms, ms);
    }
    if (d->max_bytes) td__recdir_prune(d);
    return d;
}

td_rec_t *td_recdir_stream(td_recdir_t *d, const char *vendor, const char *url)
{
    td_rec_t *r = td_xcalloc(1, sizeof *r);
    char path[256];
    td_rec_url_path(url, path, sizeof path);
    r->d = d;
    r->fd = -1;
    r->vendor = td_xstrdup(vendor);
    r->url = td_xstrdup(url);
    r->path = td_xstrdup(path);
    r->slug = td_xstrdup(path[1] ? path + 1 : "root");
    for (char *s = r->slug; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            *s = '-';
    r->cc = ZSTD_createCCtx();
    if (!r->cc) {
        fprintf(stderr, "tickerd: out of memory creating a zstd context\n");
        abort();
    }
    ZSTD_CCtx_setParameter(r->cc, ZSTD_c_compressionLevel, d->level);
    ZSTD_CCtx_setParameter(r->cc, ZSTD_c_checksumFlag, 1);
    if (d->workers > 0 &&
        !ZSTD_isError(ZSTD_CCtx_setParameter(r->cc, ZSTD_c_nbWorkers, d->workers)))
        ZSTD_CCtx_setParameter(r->cc, ZSTD_c_jobSize, 512 << 10); /* the smallest */
    r->rl_err = (td_ratelimit_t)TD_RATELIMIT_INIT(60000, 3);
    r->next = d->recs;
    d->recs = r;
    return r;
}

void td_recdir_stats(const td_recdir_t *d, td_rec_stats_t *out)
{
    *out = d->st;
}

static void free_dir(td_recdir_t *d)
{
    while (d->recs) {
        td_rec_t *r = d->recs;
        d->recs = r->next;
        ZSTD_freeCCtx(r->cc);
        free(r->vendor);
        free(r->url);
        free(r->path);
        free(r->slug);
        free(r->file);
        free(r);
    }
    free(d->out);
    free(d->dir);
    free(d->writer);
    free(d);
}

static void on_closed(uv_handle_t *h)
{
    free_dir(h->data);
}

void td_recdir_close(td_recdir_t *d)
{
    if (!d) return;
    for (td_rec_t *r = d->recs; r; r = r->next)
        finish(r);
    if (d->st.frames)
        TD_INFO("record: %llu frames, %.1f MB received, %.1f MB written (%.1fx) in %llu files%s",
                (unsigned long long)d->st.frames, (double)d->st.bytes_in / 1e6,
                (double)d->st.bytes_out / 1e6,
                d->st.bytes_out ? (double)d->st.bytes_in / (double)d->st.bytes_out : 0.0,
                (unsigned long long)d->st.files, d->st.errors ? " (with write errors)" : "");
    if (d->loop)
        uv_close((uv_handle_t *)&d->timer, on_closed);
    else
        free_dir(d);
}
