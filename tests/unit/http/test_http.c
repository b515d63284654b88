/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for src/http (libcurl multi-socket on libuv) against a real HTTP
 * server: a small thread in this process listening on 127.0.0.1 that answers
 * canned responses by path (real sockets, no mocks):
 *   /ok        200 "hello"                    /big      200, 1 MiB body
 *   /slow      never answers                  /delay    200 after 300 ms
 *   /retry     429 with Retry-After: 120 and X-Ratelimit-Reset
 *                                            /echo     200, echoes the request head
 *   /chunked-big  200, a 1 MiB chunked body (no Content-Length) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- canned server ------------------------------------------------------------ */

#define MAX_CONNS 32

typedef struct server_s {
    int lfd;
    int port;
    atomic_int accepts;
    atomic_int quit;
    pthread_t thread;
    pthread_t conns[MAX_CONNS];
    int nconns;
} server_t;

typedef struct conn_s {
    server_t *srv;
    int fd;
} conn_t;

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one request head into buf; returns its length, 0 on EOF/quit. */
static size_t read_head(conn_t *c, char *buf, size_t cap)
{
    size_t len = 0;
    while (len < cap - 1) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (atomic_load(&c->srv->quit)) return 0;
        if (poll(&pfd, 1, 50) <= 0) continue;
        ssize_t r = recv(c->fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) return 0;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n")) return len;
    }
    return 0;
}

static int respond(int fd, int status, const char *extra, const char *body, size_t n)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                      status, n, extra ? extra : "");
    return send_all(fd, head, (size_t)hn) || send_all(fd, body, n) ? -1 : 0;
}

static int respond_chunked_big(int fd)
{
    static char chunk[65536 + 16];
    int hn = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
    memset(chunk + hn, 'z', 65536);
    memcpy(chunk + hn + 65536, "\r\n", 2);
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (send_all(fd, head, strlen(head))) return -1;
    for (int i = 0; i < 16; i++)
        if (send_all(fd, chunk, (size_t)hn + 65536 + 2)) return -1;
    return send_all(fd, "0\r\n\r\n", 5);
}

static int serve_one(conn_t *c, const char *req)
{
    if (strncmp(req, "GET /ok ", 8) == 0) return respond(c->fd, 200, NULL, "hello", 5);
    if (strncmp(req, "GET /retry ", 11) == 0)
        return respond(c->fd, 429, "Retry-After: 120\r\nx-ratelimit-reset:  1700000000 \r\n",
                       "slow down", 9);
    if (strncmp(req, "GET /echo ", 10) == 0 || strncmp(req, "POST /echo ", 11) == 0)
        return respond(c->fd, 200, NULL, req, strlen(req));
    if (strncmp(req, "GET /delay ", 11) == 0) {
        usleep(300 * 1000);
        return respond(c->fd, 200, NULL, "late", 4);
    }
    if (strncmp(req, "GET /big ", 9) == 0) {
        size_t n = 1 << 20;
        char *b = malloc(n);
        memset(b, 'x', n);
        int rc = respond(c->fd, 200, NULL, b, n);
        free(b);
        return rc;
    }
    if (strncmp(req, "GET /chunked-big ", 17) == 0) return respond_chunked_big(c->fd);
    if (strncmp(req, "GET /slow ", 10) == 0) return 0; /* no answer: wait for the next head */
    return respond(c->fd, 404, NULL, "no", 2);
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    char buf[8192];
    while (read_head(c, buf, sizeof buf) > 0)
        if (serve_one(c, buf) != 0) break;
    close(c->fd);
    free(c);
    return NULL;
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    while (!atomic_load(&s->quit)) {
        struct pollfd pfd = {s->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        if (s->nconns == MAX_CONNS) {
            close(fd);
            continue;
        }
        atomic_fetch_add(&s->accepts, 1);
        conn_t *c = calloc(1, sizeof *c);
        c->srv = s;
        c->fd = fd;
        pthread_create(&s->conns[s->nconns++], NULL, conn_main, c);
    }
    return NULL;
}

/* Binds 127.0.0.1:0; returns the fd and sets *port. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(server_t *s)
{
    memset(s, 0, sizeof *s);
    s->lfd = listen_any(&s->port);
    assert_int_equal(listen(s->lfd, 64), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(server_t *s)
{
    atomic_store(&s->quit, 1);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < s->nconns; i++)
        pthread_join(s->conns[i], NULL);
    close(s->lfd);
}

/* ---- client fixture -------------------------------------------------------------- */

typedef struct fx_s {
    uv_loop_t loop;
    server_t srv;
    td_http_t *h;
    char url[128];
    int calls, stopped;
} fx_t;

typedef struct got_s {
    int calls, status;
    char error[512];
    char body[4096];
    size_t body_len;
    char retry_after[128], reset[128];
    int has_error, has_retry, has_reset;
    fx_t *fx;
} got_t;

static void on_result(void *ud, const td_http_result_t *res)
{
    got_t *g = ud;
    g->calls++;
    g->fx->calls++;
    g->status = res->status;
    g->has_error = res->error != NULL;
    snprintf(g->error, sizeof g->error, "%s", res->error ? res->error : "");
    g->body_len = res->body_len;
    assert_non_null(res->body);
    assert_int_equal(res->body[res->body_len], '\0');
    snprintf(g->body, sizeof g->body, "%s", res->body);
    g->has_retry = res->retry_after != NULL;
    snprintf(g->retry_after, sizeof g->retry_after, "%s", res->retry_after ? res->retry_after : "");
    g->has_reset = res->ratelimit_reset != NULL;
    snprintf(g->reset, sizeof g->reset, "%s", res->ratelimit_reset ? res->ratelimit_reset : "");
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    server_start(&fx->srv);
    fx->h = td_http_new(&fx->loop, &(td_http_opts_t){.max_body = 64 * 1024});
    assert_non_null(fx->h);
    *state = fx;
    return 0;
}

static void on_stopped(void *ud)
{
    ((fx_t *)ud)->stopped++;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    td_http_stop(fx->h, on_stopped, fx);
    assert_int_equal(fx->stopped, 0); /* never inside stop */
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(fx->stopped, 1);
    td_http_free(fx->h);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    server_stop(&fx->srv);
    free(fx);
    return 0;
}

static const char *url(fx_t *fx, const char *path)
{
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d%s", fx->srv.port, path);
    return fx->url;
}

/* Runs the loop until `calls` callbacks have run (or it has nothing left). */
static void run_until(fx_t *fx, int calls)
{
    while (fx->calls < calls && uv_run(&fx->loop, UV_RUN_ONCE))
        ;
    assert_int_equal(fx->calls, calls);
}

static td_http_req_t *get(fx_t *fx, got_t *g, const char *path, uint32_t timeout_ms)
{
    g->fx = fx;
    return td_http_request(fx->h, "GET", url(fx, path), NULL, NULL, 0, timeout_ms, on_result, g);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_ok(void **state)
{
    fx_t *fx = *state;
    got_t g = {0};
    assert_non_null(get(fx, &g, "/ok", 5000));
    assert_int_equal(g.calls, 0); /* never inside td_http_request */
    assert_int_equal(td_http_in_flight(fx->h), 1);
    run_until(fx, 1);
    assert_int_equal(g.status, 200);
    assert_false(g.has_error);
    assert_string_equal(g.body, "hello");
    assert_int_equal(g.body_len, 5);
    assert_false(g.has_retry);
    assert_false(g.has_reset);
    assert_int_equal(td_http_in_flight(fx->h), 0);
}

typedef struct chain_s {
    fx_t *fx;
    got_t g[3];
    int next;
} chain_t;

static void on_chain(void *ud, const td_http_result_t *res)
{
    chain_t *c = ud;
    got_t *g = &c->g[c->next++];
    g->fx = c->fx;
    on_result(g, res);
    if (c->next < 3) /* the next request from inside the callback */
        assert_non_null(
            td_http_request(c->fx->h, NULL, url(c->fx, "/ok"), NULL, NULL, 0, 5000, on_chain, c));
}

static void test_keepalive_reuse(void **state)
{
    fx_t *fx = *state;
    chain_t c = {.fx = fx};
    assert_non_null(
        td_http_request(fx->h, "GET", url(fx, "/ok"), NULL, NULL, 0, 5000, on_chain, &c));
    run_until(fx, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.g[i].status, 200);
        assert_string_equal(c.g[i].body, "hello");
    }
    assert_int_equal(atomic_load(&fx->srv.accepts), 1);
    /* and again later, from outside a callback */
    got_t g = {0};
    get(fx, &g, "/ok", 5000);
    run_until(fx, 4);
    assert_int_equal(g.status, 200);
    assert_int_equal(atomic_load(&fx->srv.accepts), 1);
}

static void test_timeout(void **state)
{
    fx_t *fx = *state;
    got_t g = {0};
    uint64_t t0 = uv_hrtime();
    assert_non_null(get(fx, &g, "/slow", 200));
    run_until(fx, 1);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(g.has_error);
    assert_int_equal(strncmp(g.error, "timeout", 7), 0);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.body_len, 0);
    assert_true(ms >= 180 && ms < 3000);
}

static void test_refused(void **state)
{
    fx_t *fx = *state;
    int port, fd = listen_any(&port); /* bound, never listening: refused */
    got_t g = {.fx = fx};
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", port);
    assert_non_null(td_http_request(fx->h, NULL, u, NULL, NULL, 0, 5000, on_result, &g));
    run_until(fx, 1);
    close(fd);
    assert_true(g.has_error);
    assert_int_equal(strncmp(g.error, "connection refused", 18), 0);
    assert_int_equal(g.status, 0);
}

static void test_body_too_large(void **state)
{
    fx_t *fx = *state;
    got_t g = {0}, c = {0}, ok = {0};
    get(fx, &g, "/big", 5000);         /* Content-Length over max_body */
    get(fx, &c, "/chunked-big", 5000); /* no Content-Length: the write callback refuses */
    run_until(fx, 2);
    assert_string_equal(g.error, "body too large");
    assert_string_equal(c.error, "body too large");
    assert_int_equal(g.body_len, 0);
    get(fx, &ok, "/ok", 5000); /* still works */
    run_until(fx, 3);
    assert_string_equal(ok.body, "hello");
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_cancel(void **state)
{
    fx_t *fx = *state;
    got_t g = {0}, other = {0};
    td_http_req_t *r = get(fx, &g, "/delay", 5000);
    assert_non_null(r);
    get(fx, &other, "/ok", 5000);
    run_until(fx, 1); /* /ok done; /delay still waiting */
    assert_int_equal(other.calls, 1);
    assert_int_equal(td_http_in_flight(fx->h), 1);
    td_http_cancel(fx->h, r);
    assert_int_equal(td_http_in_flight(fx->h), 0);
    /* run well past the server's answer: no callback */
    uv_timer_t t;
    uv_timer_init(&fx->loop, &t);
    uv_timer_start(&t, on_tick, 500, 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(g.calls, 0);
}

static void test_retry_after(void **state)
{
    fx_t *fx = *state;
    got_t g = {0};
    get(fx, &g, "/retry", 5000);
    run_until(fx, 1);
    assert_int_equal(g.status, 429);
    assert_false(g.has_error);
    assert_string_equal(g.body, "slow down");
    assert_true(g.has_retry);
    assert_string_equal(g.retry_after, "120");
    assert_true(g.has_reset); /* any case, trimmed */
    assert_string_equal(g.reset, "1700000000");
}

static void test_headers_and_post(void **state)
{
    fx_t *fx = *state;
    got_t g = {.fx = fx}, p = {.fx = fx};
    const char *hdrs[] = {"X-Api-Key: k1", "Accept: application/json", NULL};
    td_http_request(fx->h, "GET", url(fx, "/echo"), hdrs, NULL, 0, 5000, on_result, &g);
    td_http_request(fx->h, "POST", url(fx, "/echo"), NULL, "a=1", 3, 5000, on_result, &p);
    run_until(fx, 2);
    assert_non_null(strstr(g.body, "GET /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(g.body, "\r\nX-Api-Key: k1\r\n"));
    assert_non_null(strstr(g.body, "\r\nAccept: application/json\r\n"));
    assert_non_null(strstr(p.body, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(p.body, "\r\nContent-Length: 3\r\n"));
}

static void test_stop_in_flight(void **state)
{
    fx_t *fx = *state;
    got_t g = {0}, s = {0};
    get(fx, &g, "/delay", 5000);
    get(fx, &s, "/slow", 5000);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    /* teardown stops with both in flight: no callback may run */
    teardown(state);
    assert_int_equal(g.calls + s.calls, 0);
    setup(state);
}

typedef struct stopper_s {
    got_t g;
    fx_t *fx;
} stopper_t;

static void on_result_then_stop(void *ud, const td_http_result_t *res)
{
    stopper_t *s = ud;
    on_result(&s->g, res);
    td_http_stop(s->fx->h, on_stopped, s->fx);
    /* stopping: nothing new starts */
    assert_null(
        td_http_request(s->fx->h, NULL, url(s->fx, "/ok"), NULL, NULL, 0, 0, on_result, &s->g));
}

static void test_stop_in_callback(void **state)
{
    fx_t *fx = *state;
    stopper_t s = {.g = {.fx = fx}, .fx = fx};
    got_t slow = {0};
    get(fx, &slow, "/slow", 5000);
    td_http_request(fx->h, NULL, url(fx, "/ok"), NULL, NULL, 0, 5000, on_result_then_stop, &s);
    run_until(fx, 1);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(s.g.calls, 1);
    assert_int_equal(slow.calls, 0);
    assert_int_equal(fx->stopped, 1);
    td_http_free(fx->h);
    /* a fresh client for teardown */
    fx->stopped = 0;
    fx->h = td_http_new(&fx->loop, NULL);
}

static void test_free_without_stop(void **state)
{
    fx_t *fx = *state;
    got_t g = {0};
    get(fx, &g, "/slow", 5000);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    td_http_free(fx->h); /* stops; the last close callback frees (LSan checks) */
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(g.calls, 0);
    fx->h = td_http_new(&fx->loop, NULL);
}

static void test_bad_url(void **state)
{
    fx_t *fx = *state;
    got_t g = {.fx = fx};
    /* an unsupported scheme fails later, through the callback */
    assert_non_null(
        td_http_request(fx->h, NULL, "gopher://127.0.0.1/", NULL, NULL, 0, 1000, on_result, &g));
    assert_int_equal(g.calls, 0);
    run_until(fx, 1);
    assert_true(g.has_error);
    assert_null(td_http_request(fx->h, NULL, NULL, NULL, NULL, 0, 0, on_result, &g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_and_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_without_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_url, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
