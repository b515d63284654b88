/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP client on the libuv loop (http.h): libcurl's multi-socket API.
 *
 * CURLMOPT_SOCKETFUNCTION maps each socket curl wants watched onto a uv_poll
 * (sock_t, attached to the socket with curl_multi_assign); CURL_POLL_REMOVE
 * stops and closes it, and the close callback frees it. CURLMOPT_TIMERFUNCTION
 * only (re)starts one uv_timer; its callback calls curl_multi_socket_action
 * with CURL_SOCKET_TIMEOUT. After every socket_action, finished transfers are
 * read with curl_multi_info_read, removed from the multi handle and reported
 * to their callback, outside any curl callback, so a user callback may start,
 * cancel or stop. Bodies are accumulated up to max_body. */
#include "http/http.h"
#include "core/mem.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_BODY   (16u << 20)
#define DEFAULT_MAX_CONN   8
#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_RETRY_AFTER    128

typedef struct sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    td_http_t *h;
    struct sock_s *prev, *next;
} sock_t;

struct td_http_req_s {
    td_http_t *h;
    CURL *easy;
    struct curl_slist *headers;
    td_http_cb cb;
    void *ud;
    char *body;
    size_t body_len, body_cap;
    int too_big;
    char retry_after[MAX_RETRY_AFTER], reset[MAX_RETRY_AFTER]; /* wanted headers' values */
    int has_retry_after, has_reset;
    char errbuf[CURL_ERROR_SIZE];
    char errmsg[CURL_ERROR_SIZE + 64];
    struct td_http_req_s *prev, *next;
};

struct td_http_s {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t max_body;
    size_t in_flight;
    td_http_req_t *reqs;    /* in flight (in the multi handle) */
    td_http_req_t *current; /* the request whose callback is running */
    sock_t *socks;          /* polls not yet closing */
    size_t handles;         /* uv handles not yet closed (timer + polls) */
    int stopping, freeing, global_init, multi_dying;
    void (*done)(void *ud);
    void *done_ud;
};

/* ---- handles ----------------------------------------------------------------- */

static void maybe_finished(td_http_t *h)
{
    if (!h->stopping || h->handles) return;
    void (*done)(void *) = h->done;
    void *ud = h->done_ud;
    h->done = NULL;
    int freeing = h->freeing;
    if (done) done(ud);
    if (freeing) {
        if (h->global_init) curl_global_cleanup();
        free(h);
    }
}

static void sock_close_cb(uv_handle_t *hd)
{
    sock_t *s = hd->data;
    td_http_t *h = s->h;
    free(s);
    h->handles--;
    maybe_finished(h);
}

static void sock_close(sock_t *s)
{
    td_http_t *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, sock_close_cb);
}

static void timer_close_cb(uv_handle_t *hd)
{
    td_http_t *h = hd->data;
    h->handles--;
    maybe_finished(h);
}

/* ---- completed transfers -------------------------------------------------------- */

static void req_unlink(td_http_req_t *r)
{
    td_http_t *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    h->in_flight--;
}

static void req_free(td_http_req_t *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r);
}

/* Removes r from the multi handle and frees it, without its callback. */
static void req_drop(td_http_req_t *r)
{
    req_unlink(r);
    curl_multi_remove_handle(r->h->multi, r->easy);
    req_free(r);
}

static const char *error_text(td_http_req_t *r, CURLcode rc)
{
    const char *what;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        what = "timeout";
        break;
    case CURLE_COULDNT_CONNECT:
        what = "connection refused";
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        what = "cannot resolve host";
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) return "body too large";
        what = curl_easy_strerror(rc);
        break;
    default:
        what = curl_easy_strerror(rc);
    }
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
    snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", what, detail);
    /* one line: libcurl's messages may end with a newline */
    r->errmsg[strcspn(r->errmsg, "\r\n")] = '\0';
    return r->errmsg;
}

static void req_complete(td_http_req_t *r, CURLcode rc)
{
    td_http_t *h = r->h;
    td_http_result_t res = {0};
    long status = 0;
    double secs = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
    res.status = (int)status;
    res.seconds = secs;
    res.retry_after = r->has_retry_after ? r->retry_after : NULL;
    res.ratelimit_reset = r->has_reset ? r->reset : NULL;
    if (rc == CURLE_OK && !r->too_big) {
        res.body = r->body ? r->body : "";
        res.body_len = r->body_len;
    } else {
        res.error = error_text(r, rc);
        res.body = "";
    }
    h->current = r;
    r->cb(r->ud, &res);
    h->current = NULL;
    req_free(r);
}

static void check_done(td_http_t *h)
{
    CURLMsg *msg;
    int left;
    while (h->multi && (msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        td_http_req_t *r = (td_http_req_t *)(void *)priv;
        req_unlink(r);
        curl_multi_remove_handle(h->multi, easy);
        req_complete(r, rc);
    }
    if (h->multi && !h->reqs) uv_timer_stop(&h->timer);
}

/* ---- libuv -> curl ----------------------------------------------------------- */

static void poll_cb(uv_poll_t *p, int status, int events)
{
    sock_t *s = p->data;
    td_http_t *h = s->h;
    int flags = 0, running = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    /* s may be closed (CURL_POLL_REMOVE) inside socket_action: copy fd first */
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static void timer_cb(uv_timer_t *t)
{
    td_http_t *h = t->data;
    int running = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

/* ---- curl -> libuv ----------------------------------------------------------- */

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    td_http_t *h = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    td_http_t *h = userp;
    sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            if (!h->multi_dying) curl_multi_assign(h->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (!s) {
        s = td_xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->h = h;
        s->poll.data = s;
        s->next = h->socks;
        if (h->socks) h->socks->prev = s;
        h->socks = s;
        h->handles++;
        curl_multi_assign(h->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, poll_cb);
    return 0;
}

/* ---- easy handle callbacks ------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    td_http_req_t *r = userp;
    size_t n = size * nmemb;
    size_t max = r->h->max_body;
    if (n > max || r->body_len > max - n) {
        r->too_big = 1;
        return 0; /* anything but n fails the transfer (n > 0 here) */
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        if (cap > max + 1) cap = max + 1;
        r->body = td_xrealloc(r->body, cap);
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copies the trimmed value of header line [data, data+n) if it is `name`. */
static int header_value(const char *data, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n < nl || strncasecmp(data, name, nl) != 0) return 0;
    const char *p = data + nl, *e = data + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t len = (size_t)(e - p);
    if (len >= cap) len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    td_http_req_t *r = userp;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        r->has_retry_after = r->has_reset = 0; /* a new response (after 100 Continue, ...) */
    } else if (header_value(data, n, "retry-after:", r->retry_after, sizeof r->retry_after)) {
        r->has_retry_after = 1;
    } else if (header_value(data, n, "x-ratelimit-reset:", r->reset, sizeof r->reset)) {
        r->has_reset = 1;
    }
    return n;
}

/* ---- API --------------------------------------------------------------------- */

td_http_t *td_http_new(uv_loop_t *loop, const td_http_opts_t *opts)
{
    td_http_t *h = td_xcalloc(1, sizeof *h);
    h->loop = loop;
    h->max_body = opts && opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    long maxconn = opts && opts->max_connections > 0 ? opts->max_connections : DEFAULT_MAX_CONN;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) goto fail;
    h->global_init = 1;
    if (!(h->multi = curl_multi_init())) goto fail;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxconn);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, maxconn * 4);
    if (uv_timer_init(loop, &h->timer) != 0) goto fail;
    h->timer.data = h;
    h->handles = 1;
    return h;
fail:
    if (h->multi) curl_multi_cleanup(h->multi);
    if (h->global_init) curl_global_cleanup();
    free(h);
    return NULL;
}

static int set_method(CURL *e, const char *method, const char *body, size_t body_len)
{
    int rc = 0;
    if (!method || strcmp(method, "GET") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") != 0) {
        rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    if (body || (method && strcmp(method, "POST") == 0)) {
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        rc |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : "");
    }
    return rc;
}

static int set_options(td_http_req_t *r, const char *url, uint32_t timeout_ms)
{
    CURL *e = r->easy;
    int rc = 0;
    rc |= curl_easy_setopt(e, CURLOPT_URL, url);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                           (long)(timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS));
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->h->max_body);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "tickerd/" TD_VERSION);
    rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (r->headers) rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    return rc;
}

td_http_req_t *td_http_request(td_http_t *h, const char *method, const char *url,
                               const char *const *headers, const char *body, size_t body_len,
                               uint32_t timeout_ms, td_http_cb cb, void *ud)
{
    if (!h || h->stopping || !url || !cb) return NULL;
    td_http_req_t *r = td_xcalloc(1, sizeof *r);
    r->h = h;
    r->cb = cb;
    r->ud = ud;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, headers[i]);
        if (!l) goto fail;
        r->headers = l;
    }
    if (!(r->easy = curl_easy_init())) goto fail;
    if (set_options(r, url, timeout_ms) != 0 || set_method(r->easy, method, body, body_len) != 0)
        goto fail;
    /* Never completes a transfer inside: it only arms the timer. */
    if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) goto fail;
    r->next = h->reqs;
    if (h->reqs) h->reqs->prev = r;
    h->reqs = r;
    h->in_flight++;
    return r;
fail:
    req_free(r);
    return NULL;
}

void td_http_cancel(td_http_t *h, td_http_req_t *r)
{
    /* The request whose callback is running is already complete. */
    if (!h || !r || r == h->current || !h->multi) return;
    req_drop(r);
    if (!h->reqs) uv_timer_stop(&h->timer);
}

size_t td_http_in_flight(const td_http_t *h)
{
    return h ? h->in_flight : 0;
}

void td_http_stop(td_http_t *h, void (*done)(void *ud), void *ud)
{
    if (!h || h->stopping) return;
    h->stopping = 1;
    h->done = done;
    h->done_ud = ud;
    while (h->reqs)
        req_drop(h->reqs);
    /* Closes the cached connections; curl may report CURL_POLL_REMOVE. */
    h->multi_dying = 1;
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks)
        sock_close(h->socks);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, timer_close_cb);
}

void td_http_free(td_http_t *h)
{
    if (!h) return;
    if (!h->stopping) td_http_stop(h, NULL, NULL);
    if (h->handles) {
        h->freeing = 1; /* the last close callback frees h */
        return;
    }
    if (h->global_init) curl_global_cleanup();
    free(h);
}
