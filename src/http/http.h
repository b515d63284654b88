/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP client on the libuv loop: libcurl's multi-socket API driven by
 * uv_poll/uv_timer, one request API shared by the poller and backfill.
 * Connections are reused (one multi handle, keep-alive). Single-threaded. */
#ifndef TD_HTTP_HTTP_H
#define TD_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_http_s td_http_t;
typedef struct td_http_req_s td_http_req_t;

/* Everything in a result is valid during the callback only. */
typedef struct td_http_result_s {
    int status;        /* HTTP status, or 0 if no response (see error). With error set it
                          may still be the status of a response that failed later */
    const char *error; /* NULL on a whole response (any status); else a one-line reason that
                          starts with "timeout", "connection refused", "cannot resolve host",
                          or is exactly "body too large", or another libcurl message */
    const char *body;  /* the whole body (NUL-terminated); "" (len 0) when error is set */
    size_t body_len;
    double seconds;          /* total time */
    const char *retry_after; /* Retry-After header value (trimmed, at most 127 bytes), or NULL */
    const char *ratelimit_reset; /* X-Ratelimit-Reset (epoch seconds), as retry_after */
} td_http_result_t;

typedef void (*td_http_cb)(void *ud, const td_http_result_t *res);

typedef struct td_http_opts_s {
    size_t max_body;      /* bodies larger than this fail (0: 16 MiB) */
    long max_connections; /* per host (0: 8) */
} td_http_opts_t;

/* Borrows loop (must outlive h); copies opts (may be NULL). Initialises a
 * uv_timer on loop (and a uv_poll per socket later): release with
 * td_http_stop then td_http_free. Returns NULL if libcurl cannot start. */
td_http_t *td_http_new(uv_loop_t *loop, const td_http_opts_t *opts);
/* Starts a GET (method NULL or "GET", body NULL) or POST (body copied; NULL
 * sends an empty body); "HEAD" and other methods work too. url, method and
 * headers are copied. headers: NULL-terminated "Name: value" strings.
 * timeout_ms 0: 30 s (whole transfer, connect included). cb runs exactly once,
 * later (never inside this call), unless td_http_cancel or td_http_stop is
 * called first. A callback may start, cancel or stop. Returns the request
 * handle (valid until its callback returns or it is cancelled), or NULL (and
 * cb is never called) if the request could not be started or h is stopping. */
td_http_req_t *td_http_request(td_http_t *h, const char *method, const char *url,
                               const char *const *headers, const char *body, size_t body_len,
                               uint32_t timeout_ms, td_http_cb cb, void *ud);
/* Cancels a request in flight: its callback will not be called and r is
 * freed. Ignored for the request whose callback is running. */
void td_http_cancel(td_http_t *h, td_http_req_t *r);
size_t td_http_in_flight(const td_http_t *h);
/* Cancels everything (no callback runs), closes the connections and the uv
 * handles; done (may be NULL) runs when they are closed: later, from the
 * loop, never inside this call. A second stop is ignored. */
void td_http_stop(td_http_t *h, void (*done)(void *ud), void *ud);
/* After td_http_stop's done, frees h at once. Called earlier (or without
 * stop: it stops first), h is freed by the last close callback, so the loop
 * must run once more. Not from inside one of h's request callbacks. */
void td_http_free(td_http_t *h);

#endif
