/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for proto/ws_url: the upstream URL split into TLS, host, port
 * and path, and the URLs it refuses with their reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/ws_url.h"

#include <string.h>

static void ok(const char *url, int tls, const char *host, int port, const char *path)
{
    td_ws_url_t u;
    char err[256] = "";
    assert_int_equal(td_ws_url_parse(&u, url, err, sizeof err), 0);
    assert_int_equal(u.tls, tls);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.path, path);
    td_ws_url_free(&u);
}

static void bad(const char *url, const char *why)
{
    td_ws_url_t u;
    char err[256] = "";
    assert_int_equal(td_ws_url_parse(&u, url, err, sizeof err), -1);
    assert_null(u.host);
    assert_null(u.path);
    if (!strstr(err, why)) fail_msg("'%s': '%s' does not say '%s'", url, err, why);
    assert_non_null(strstr(err, "bad upstream URL"));
}

static void test_accepted(void **state)
{
    (void)state;
    ok("ws://127.0.0.1:8765/v2/iex", 0, "127.0.0.1", 8765, "/v2/iex");
    ok("wss://stream.data.alpaca.markets/v1beta3/crypto/us", 1, "stream.data.alpaca.markets", 443,
       "/v1beta3/crypto/us");
    ok("ws://localhost/stocks", 0, "localhost", 80, "/stocks");
    ok("WSS://socket.polygon.io:443/crypto", 1, "socket.polygon.io", 443, "/crypto");
    ok("ws://127.0.0.1:1", 0, "127.0.0.1", 1, "/");
    ok("ws://127.0.0.1:65535/", 0, "127.0.0.1", 65535, "/");
    ok("ws://[::1]:9000/v2/test", 0, "::1", 9000, "/v2/test");
    ok("ws://[::1]/x", 0, "::1", 80, "/x");
    ok("ws://h:1?token=a/b", 0, "h", 1, "/?token=a/b");
    ok("ws://h:1/p?q=1", 0, "h", 1, "/p?q=1");
}

static void test_refused(void **state)
{
    (void)state;
    bad("http://127.0.0.1:1/v2/iex", "scheme must be ws or wss");
    bad("127.0.0.1:1/v2/iex", "scheme must be ws or wss");
    bad("", "scheme must be ws or wss");
    bad("ws://", "expected ws://HOST:PORT/PATH");
    bad("ws:///v2/iex", "expected ws://HOST:PORT/PATH");
    bad("ws://:80/v2/iex", "expected ws://HOST:PORT/PATH");
    bad("ws://h:0/x", "port must be 1-65535");
    bad("ws://h:65536/x", "port must be 1-65535");
    bad("ws://h:/x", "port must be 1-65535");
    bad("ws://h:8a/x", "port must be 1-65535");
    bad("ws://h:1:2/x", "port must be 1-65535");
    bad("ws://h:999999999999/x", "port must be 1-65535");
    bad("ws://[::1/x", "expected ws://HOST:PORT/PATH");
    bad("ws://[::1]x/x", "expected ws://HOST:PORT/PATH");
    bad("ws://[]:1/x", "expected ws://HOST:PORT/PATH");
    bad("ws://user:pw@h:1/x", "user info");
    bad("ws://h:1/x#frag", "fragment");
    bad("ws://h 1/x", "spaces or control bytes");
    bad("ws://h:1/x\n", "spaces or control bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
