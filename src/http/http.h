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

typedef struct td_http_result_s {
    int status;       /* HTTP status, or 0 if no response (see error) */
    const char *error; /* NULL on a response; else a one-line reason (timeout, refused, ...) */
    const char *body; /* the whole body (NUL-terminated), valid during the callback */
    size_t body_len;
    double seconds;         /* total time */
    const char *retry_after; /* Retry-After header value, or NULL */
} td_http_result_t;

typedef void (*td_http_cb)(void *ud, const td_http_result_t *res);

typedef struct td_http_opts_s {
    size_t max_body;       /* bodies larger than this fail (0: 16 MiB) */
    long max_connections;  /* per host (0: 8) */
} td_http_opts_t;

td_http_t *td_http_new(uv_loop_t *loop, const td_http_opts_t *opts);
/* Starts a GET (body NULL) or POST. headers: NULL-terminated "Name: value"
 * strings (copied). timeout_ms 0: 30 s. cb runs exactly once, later (never
 * inside this call), unless td_http_cancel is called first. Returns the
 * request handle, or NULL (and cb is never called) if the request could not
 * be started. */
td_http_req_t *td_http_request(td_http_t *h, const char *method, const char *url,
                               const char *const *headers, const char *body, size_t body_len,
                               uint32_t timeout_ms, td_http_cb cb, void *ud);
/* Cancels a request in flight: its callback will not be called. */
void td_http_cancel(td_http_t *h, td_http_req_t *r);
size_t td_http_in_flight(const td_http_t *h);
/* Cancels everything, closes the handles; done runs when they are closed. */
void td_http_stop(td_http_t *h, void (*done)(void *ud), void *ud);
void td_http_free(td_http_t *h);

#endif
