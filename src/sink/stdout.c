/* SPDX-License-Identifier: Apache-2.0 */
/* stdout sink: JSON lines buffered during a loop turn, written by a
 * uv_prepare_t (active only while something is buffered) with blocking
 * write(2) on fd 1. A closed pipe (EPIPE) is logged once; from then on
 * events are dropped and counted. */
#include "sink/stdout.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BUFFER     ((size_t)16 << 20)
#define EAGAIN_WAIT_MS 100 /* per poll(2) when fd 1 was made non-blocking */
#define EAGAIN_TRIES   10

struct td_stdout_sink_s {
    uv_loop_t *loop;
    char *prefix;
    size_t prefix_len;
    td_buf_t out;  /* lines not yet written */
    td_buf_t chan; /* scratch: the channel name before escaping */
    uv_prepare_t prep;
    int fd;
    int broken; /* stdout is gone: drop everything */
    int closed;
    uint64_t written, dropped;
    td_ratelimit_t rl_full;
    void (*done)(void *ud);
    void *done_ud;
};

/* Writes out everything buffered (bounded waits if fd 1 is non-blocking).
 * What cannot be written stays buffered. */
static void flush(td_stdout_sink_t *s)
{
    size_t off = 0;
    int tries = 0;
    while (off < s->out.len && !s->broken) {
        ssize_t n = write(s->fd, s->out.data + off, s->out.len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && tries++ < EAGAIN_TRIES) {
            struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
            (void)poll(&pfd, 1, EAGAIN_WAIT_MS);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; /* retry next turn */
        TD_WARN("stdout: write failed (%s); dropping further output",
                n < 0 ? strerror(errno) : "wrote nothing");
        s->broken = 1;
    }
    if (s->broken) {
        off = s->out.len; /* discard */
    }
    td_buf_consume(&s->out, off);
}

static void prep_cb(uv_prepare_t *h)
{
    td_stdout_sink_t *s = h->data;
    flush(s);
    if (s->out.len == 0 || s->broken) uv_prepare_stop(h);
}

td_stdout_sink_t *td_stdout_sink_new(uv_loop_t *loop, const char *prefix)
{
    td_stdout_sink_t *s = td_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->fd = STDOUT_FILENO;
    s->prefix = td_xstrdup(prefix ? prefix : "");
    s->prefix_len = strlen(s->prefix);
    s->rl_full = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 1);
    uv_prepare_init(loop, &s->prep);
    s->prep.data = s;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe must give EPIPE, not kill us */
    return s;
}

void td_stdout_sink_publish(td_stdout_sink_t *s, const td_event_t *ev)
{
    const char *kind = td_kind_name(ev->kind);
    if (!kind || s->broken || s->closed) {
        s->dropped++;
        return;
    }
    if (s->out.len + ev->payload_len + ev->symbol_len + s->prefix_len > MAX_BUFFER) {
        uint64_t sup;
        s->dropped++;
        if (td_ratelimit_ok(&s->rl_full, td_mono_ms(), &sup))
            TD_WARN("stdout: output buffer full (%zu bytes): dropping; %llu dropped so far",
                    s->out.len, (unsigned long long)s->dropped);
        return;
    }
    td_buf_reset(&s->chan);
    td_buf_append(&s->chan, s->prefix, s->prefix_len);
    td_buf_appends(&s->chan, kind);
    td_buf_appendc(&s->chan, '.');
    td_buf_append(&s->chan, ev->symbol, ev->symbol_len);
    td_buf_append(&s->out, "{\"channel\":", 11);
    td_buf_append_json_str(&s->out, s->chan.data, s->chan.len);
    td_buf_append(&s->out, ",\"data\":", 8);
    td_buf_append(&s->out, ev->payload, ev->payload_len);
    td_buf_append(&s->out, "}\n", 2);
    s->written++;
    if (!uv_is_active((uv_handle_t *)&s->prep)) uv_prepare_start(&s->prep, prep_cb);
}

void td_stdout_sink_stats(const td_stdout_sink_t *s, td_stdout_sink_stats_t *out)
{
    out->lines = s->written;
    out->dropped = s->dropped;
    out->buffered = s->out.len;
}

static void close_cb(uv_handle_t *h)
{
    td_stdout_sink_t *s = h->data;
    if (s->done) s->done(s->done_ud);
}

void td_stdout_sink_stop(td_stdout_sink_t *s, void (*done)(void *ud), void *ud)
{
    if (s->closed) return;
    flush(s);
    if (s->out.len) {
        s->dropped++; /* lines could not be written; count once, approximate */
        td_buf_reset(&s->out);
    }
    s->closed = 1;
    s->done = done;
    s->done_ud = ud;
    uv_close((uv_handle_t *)&s->prep, close_cb);
}

void td_stdout_sink_free(td_stdout_sink_t *s)
{
    if (!s) return;
    td_buf_free(&s->out);
    td_buf_free(&s->chan);
    free(s->prefix);
    free(s);
}
