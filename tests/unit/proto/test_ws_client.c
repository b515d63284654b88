/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for proto/ws_client: the reader of server frames (lengths,
 * fragments, control frames, the skip of messages over the limit, protocol
 * errors, bytes arriving in any split), client frames and the upgrade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/ws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the reader reported, as text: "M<len>:<first bytes>" per message,
 * "C<op>/<code>:<payload>" per control frame, "S<n>*" / "S<n>" per skip. */
typedef struct log_s {
    td_buf_t t;
    int stop_after; /* callbacks before asking to stop (0: never) */
    int calls;
} log_t;

static int next(log_t *l)
{
    return l->stop_after && ++l->calls >= l->stop_after;
}

static int on_msg(void *ud, const char *p, size_t n, int binary)
{
    log_t *l = ud;
    td_buf_appendf(&l->t, "%s%zu:%.*s ", binary ? "B" : "M", n, (int)(n < 8 ? n : 8), p);
    return next(l);
}

static int on_ctl(void *ud, int op, int code, const char *p, size_t n)
{
    log_t *l = ud;
    td_buf_appendf(&l->t, "C%d/%d:%.*s ", op, code, (int)n, p);
    return next(l);
}

static int on_skip(void *ud, uint64_t n, int first)
{
    log_t *l = ud;
    td_buf_appendf(&l->t, "S%llu%s ", (unsigned long long)n, first ? "*" : "");
    return next(l);
}

static const td_ws_handler_t H = {on_msg, on_ctl, on_skip};

/* A server frame (unmasked) appended to b. */
static void frame(td_buf_t *b, int fin, int op, const char *p, size_t n)
{
    unsigned char h[10];
    size_t hl = 0;
    h[hl++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        h[hl++] = (unsigned char)n;
    } else if (n <= 0xffff) {
        h[hl++] = 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    td_buf_append(b, h, hl);
    td_buf_append(b, p, n);
}

/* Reads all of in, chunk bytes arriving at a time, the way ws_conn.c does
 * (unread bytes stay at the front of its buffer); the report, or "ERR:..". */
static char *read_all(const td_buf_t *in, size_t chunk, size_t max)
{
    td_ws_reader_t r;
    log_t l = {TD_BUF_INIT, 0, 0};
    td_buf_t buf = TD_BUF_INIT;
    td_ws_reader_init(&r, max);
    for (size_t off = 0; off < in->len;) {
        size_t n = in->len - off < chunk ? in->len - off : chunk;
        td_buf_append(&buf, in->data + off, n);
        off += n;
        ssize_t used = td_ws_read(&r, buf.data, buf.len, &H, &l);
        if (used < 0) {
            td_buf_appendf(&l.t, "ERR:%s", r.err);
            break;
        }
        td_buf_consume(&buf, (size_t)used);
    }
    if (buf.len && !strstr(l.t.data ? l.t.data : "", "ERR:"))
        td_buf_appendf(&l.t, "LEFT%zu", buf.len);
    td_ws_reader_free(&r);
    td_buf_free(&buf);
    td_buf_appends(&l.t, "");
    return l.t.data;
}

static void expect_all_splits(const td_buf_t *in, size_t max, const char *want)
{
    size_t chunks[] = {1, 2, 3, 7, 64, 1000, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        char *got = read_all(in, chunks[i], max);
        if (strcmp(got, want) != 0)
            fail_msg("chunk %zu: got '%s', want '%s'", chunks[i], got, want);
        free(got);
    }
}

static void test_lengths(void **state)
{
    (void)state;
    td_buf_t in = TD_BUF_INIT;
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    frame(&in, 1, TD_WS_TEXT, "hello", 5);
    frame(&in, 1, TD_WS_TEXT, big, 300);
    frame(&in, 1, TD_WS_BINARY, big, 70000);
    frame(&in, 1, TD_WS_TEXT, "", 0);
    expect_all_splits(&in, 0, "M5:hello M300:xxxxxxxx B70000:xxxxxxxx M0: ");
    free(big);
    td_buf_free(&in);
}

static void test_fragments_and_control(void **state)
{
    (void)state;
    td_buf_t in = TD_BUF_INIT;
    frame(&in, 0, TD_WS_TEXT, "[{\"T\":", 6);
    frame(&in, 1, TD_WS_PING, "p1", 2);
    frame(&in, 0, TD_WS_CONT, "\"q\"", 3);
    frame(&in, 1, TD_WS_CONT, "}]", 2);
    frame(&in, 1, TD_WS_PONG, "", 0);
    frame(&in, 1, TD_WS_TEXT, "after", 5);
    frame(&in, 1, TD_WS_CLOSE, "\x03\xe9going", 7);
    frame(&in, 1, TD_WS_CLOSE, "", 0);
    expect_all_splits(&in, 0, "C9/0:p1 M11:[{\"T\":\"q C10/0: M5:after C8/1001:going C8/1005: ");
    td_buf_free(&in);
}

static void test_oversize_skipped_whole(void **state)
{
    (void)state;
    td_buf_t in = TD_BUF_INIT;
    frame(&in, 1, TD_WS_TEXT, "0123456789ABCDEFGHIJ", 20); /* one frame, over 10 */
    frame(&in, 1, TD_WS_TEXT, "ok1", 3);
    frame(&in, 0, TD_WS_TEXT, "012345", 6); /* fragments: 6 + 6 > 10 */
    frame(&in, 1, TD_WS_PING, "", 0);       /* control frames still count */
    frame(&in, 0, TD_WS_CONT, "678901", 6);
    frame(&in, 1, TD_WS_CONT, "xyz", 3);
    frame(&in, 1, TD_WS_TEXT, "ok2", 3);
    frame(&in, 1, TD_WS_TEXT, "0123456789", 10); /* exactly the limit */
    char *got = read_all(&in, 1 << 20, 10);
    assert_string_equal(got, "S0* S20 M3:ok1 C9/0: S6* S6 S3 M3:ok2 M10:01234567 ");
    free(got);
    /* byte by byte: the same messages, the skipped bytes in many calls */
    got = read_all(&in, 1, 10);
    assert_non_null(strstr(got, "M3:ok1 C9/0: S6* S1 "));
    assert_non_null(strstr(got, " M3:ok2 M10:01234567 "));
    assert_null(strstr(got, "S20"));
    free(got);
    td_buf_free(&in);
}

static void expect_error(const char *bytes, size_t n, const char *want)
{
    td_buf_t in = TD_BUF_INIT;
    td_buf_append(&in, bytes, n);
    char *got = read_all(&in, 1 << 20, 100);
    if (!strstr(got, want)) fail_msg("got '%s', want '%s'", got, want);
    free(got);
    td_buf_free(&in);
}

static void test_protocol_errors(void **state)
{
    (void)state;
    expect_error("\x81\x82\x01\x02\x03\x04"
                 "ab",
                 8, "ERR:masked frame");
    expect_error("\xc1\x01x", 3, "ERR:reserved bits");
    expect_error("\x91\x01x", 3, "ERR:reserved bits");
    expect_error("\x83\x01x", 3, "ERR:unknown data opcode");
    expect_error("\x8b\x00", 2, "ERR:unknown control opcode");
    expect_error("\x09\x00", 2, "ERR:control frame fragmented");
    expect_error("\x89\x7e\x00\x7e", 4, "ERR:control frame fragmented or over 125");
    expect_error("\x80\x01x", 3, "ERR:continuation frame without");
    expect_error("\x01\x01x\x81\x01y", 6, "ERR:new message inside");
    expect_error("\x88\x01x", 3, "ERR:close frame with a 1-byte payload");
    expect_error("\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10, "ERR:64-bit payload length");
    /* the messages before the error are read */
    expect_error("\x81\x02ok\xc1\x00", 6, "M2:ok ERR:reserved");
}

static void test_callback_stops_reading(void **state)
{
    (void)state;
    td_buf_t in = TD_BUF_INIT;
    frame(&in, 1, TD_WS_TEXT, "one", 3);
    frame(&in, 1, TD_WS_TEXT, "two", 3);
    td_ws_reader_t r;
    log_t l = {TD_BUF_INIT, 1, 0};
    td_ws_reader_init(&r, 0);
    assert_int_equal(td_ws_read(&r, in.data, in.len, &H, &l), 5);
    assert_string_equal(l.t.data, "M3:one ");
    td_ws_reader_free(&r);
    td_buf_free(&l.t);
    td_buf_free(&in);
}

/* Unmasks a client frame built by td_ws_frame and checks its header. */
static void check_client_frame(size_t n)
{
    td_buf_t out = TD_BUF_INIT;
    char *p = calloc(1, n + 1);
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    td_ws_frame(&out, TD_WS_TEXT, p, n, mask);
    const uint8_t *u = (const uint8_t *)out.data;
    size_t hl = n < 126 ? 2 : n <= 0xffff ? 4 : 10, len = u[1] & 0x7f;
    assert_int_equal(u[0], 0x81);
    assert_true(u[1] & 0x80);
    if (len == 126) len = (size_t)u[2] << 8 | u[3];
    if (len == 127)
        for (size_t i = 2, v = len = 0; i < 10; i++, v = len)
            len = v << 8 | u[i];
    assert_int_equal(len, n);
    assert_int_equal(out.len, hl + 4 + n);
    assert_memory_equal(u + hl, mask, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(u[hl + 4 + i] ^ mask[i & 3], (uint8_t)p[i]);
    free(p);
    td_buf_free(&out);
}

static void test_client_frames(void **state)
{
    (void)state;
    check_client_frame(0);
    check_client_frame(5);
    check_client_frame(125);
    check_client_frame(126);
    check_client_frame(300);
    check_client_frame(70000);
    td_buf_t out = TD_BUF_INIT;
    const uint8_t zero[4] = {0};
    td_ws_close_frame(&out, 1001, zero);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.data, "\x88\x82\0\0\0\0\x03\xe9", 8);
    td_buf_free(&out);
}

static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 §1.3 */
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static void test_upgrade_request(void **state)
{
    (void)state;
    char accept[29], key_b64[25];
    td_ws_accept_value(KEY, accept);
    assert_string_equal(accept, ACCEPT);
    td_buf_t out = TD_BUF_INIT;
    td_ws_upgrade_request(&out, "stream.example", 443, 1, "/v2/iex",
                          (const uint8_t *)"the sample nonce", key_b64);
    assert_string_equal(key_b64, KEY);
    assert_non_null(strstr(out.data, "GET /v2/iex HTTP/1.1\r\nHost: stream.example\r\n"));
    assert_non_null(strstr(out.data, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    assert_non_null(strstr(out.data, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(out.data, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"));
    assert_int_equal(strcmp(out.data + out.len - 4, "\r\n\r\n"), 0);
    td_buf_reset(&out);
    td_ws_upgrade_request(&out, "127.0.0.1", 8080, 0, "/stocks",
                          (const uint8_t *)"0123456789abcdef", key_b64);
    assert_non_null(strstr(out.data, "\r\nHost: 127.0.0.1:8080\r\n"));
    td_buf_free(&out);
}

static ssize_t answer(const char *head, int *status, char *err)
{
    return td_ws_upgrade_response(head, strlen(head), KEY, status, err, 200);
}

static void test_upgrade_response(void **state)
{
    (void)state;
    char err[200] = "";
    int status;
    char ok[300];
    int n =
        snprintf(ok, sizeof ok,
                 "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                 "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept:  %s \r\n\r\n\x81\x02hi",
                 ACCEPT);
    assert_int_equal(answer(ok, &status, err), n - 4); /* the frame after the head stays */
    assert_int_equal(status, 101);
    for (int cut = 0; cut < n - 4; cut++) /* any prefix of the head: wait for more */
        assert_int_equal(td_ws_upgrade_response(ok, (size_t)cut, KEY, &status, err, 200), 0);
    assert_int_equal(
        answer("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n\r\n", &status, err), -1);
    assert_int_equal(status, 429);
    assert_string_equal(err, "the upgrade was refused: HTTP 429 Too Many Requests");
    assert_int_equal(answer("HTTP/1.1 401 Unauthorized\r\n\r\n", &status, err), -1);
    assert_int_equal(status, 401);
    assert_int_equal(answer("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                            "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                            &status, err),
                     -1);
    assert_non_null(strstr(err, "a wrong Sec-WebSocket-Accept"));
    assert_int_equal(answer("HTTP/1.1 101 OK\r\nConnection: upgrade\r\n\r\n", &status, err), -1);
    assert_non_null(strstr(err, "lacks Upgrade"));
    assert_int_equal(answer("SSH-2.0-OpenSSH\r\n\r\n", &status, err), -1);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "not an HTTP answer"));
    char *huge = malloc(TD_WS_HEAD_MAX + 100);
    memset(huge, 'h', TD_WS_HEAD_MAX + 99);
    huge[TD_WS_HEAD_MAX + 99] = '\0';
    assert_int_equal(answer(huge, &status, err), -1);
    assert_non_null(strstr(err, "no end of head"));
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fragments_and_control),
        cmocka_unit_test(test_oversize_skipped_whole),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_callback_stops_reading),
        cmocka_unit_test(test_client_frames),
        cmocka_unit_test(test_upgrade_request),
        cmocka_unit_test(test_upgrade_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
