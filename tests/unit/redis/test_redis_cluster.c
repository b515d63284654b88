/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for redis/slots: CRC16 and key slots (hash tags), slot maps
 * from CLUSTER SHARDS and CLUSTER SLOTS replies, MOVED/ASK parsing. The
 * expected slots are what `redis-cli CLUSTER KEYSLOT` answers (Redis 7.0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "redis/resp.h"
#include "redis/slots.h"

#include <stdlib.h>
#include <string.h>

static unsigned slot_of(const char *k)
{
    return td_rslot_key(k, strlen(k));
}

static void test_crc16_and_key_slots(void **state)
{
    (void)state;
    assert_int_equal(td_rslot_crc16("123456789", 9), 0x31C3);
    assert_int_equal(slot_of("123456789"), 12739);
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("quotes.AAPL"), 4773);
    /* hash tags: the first {...} that is not empty */
    assert_int_equal(slot_of("{user1000}.following"), 3443);
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("foo{bar}{zap}"), 5061);
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    assert_int_equal(slot_of("foo{}{bar}"), 8363);    /* empty tag: the whole key */
    assert_int_equal(slot_of("foo{{bar}}zap"), 4015); /* tag "{bar" */
    assert_int_equal(slot_of("{"), 4092);
    assert_int_equal(slot_of("}{a}"), 15495);
    assert_int_equal(slot_of("a{b"), 13340);
}

/* Parses RESP text into r (which must then be freed). */
static void parse(td_resp_reader_t *r, const char *text)
{
    *r = (td_resp_reader_t)TD_RESP_READER_INIT;
    assert_int_equal(td_resp_parse(r, text, strlen(text)), (ssize_t)strlen(text));
}

#define NODE(role, health, port, ep)                                                               \
    "*8\r\n$4\r\nrole\r\n$" role "\r\n$4\r\nport\r\n:" port "\r\n$8\r\nendpoint\r\n" ep            \
    "$6\r\nhealth\r\n$" health "\r\n"

static const char shards[] =
    "*2\r\n"
    "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:299\r\n$5\r\nnodes\r\n*2\r\n" /* */
    NODE("7\r\nreplica", "6\r\nonline", "7003", "$8\r\n10.0.0.3\r\n")               /* */
    NODE("6\r\nmaster", "6\r\nonline", "7000", "$8\r\n10.0.0.1\r\n")                /* */
    "*4\r\n$5\r\nnodes\r\n*2\r\n"                                                   /* */
    NODE("6\r\nmaster", "6\r\nfailed", "7001", "$8\r\n10.0.0.2\r\n")                /* */
    NODE("6\r\nmaster", "6\r\nonline", "7004", "$1\r\n?\r\n")                       /* */
    "$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n";

static void test_map_from_cluster_shards(void **state)
{
    (void)state;
    td_resp_reader_t r;
    td_rslot_map_t *m = calloc(1, sizeof *m);
    const char *why = NULL;
    parse(&r, shards);
    assert_int_equal(td_rslot_map_parse(m, &r, TD_RSLOT_SHARDS, "192.168.1.9", &why), 0);
    assert_int_equal(m->npri, 2);
    assert_int_equal(m->covered, 300);
    assert_string_equal(m->pri[m->owner[0]].host, "10.0.0.1");
    assert_int_equal(m->pri[m->owner[299]].port, 7000);
    /* the failed master lost to the online one, whose endpoint "?" is the asked host */
    assert_string_equal(m->pri[m->owner[150]].host, "192.168.1.9");
    assert_int_equal(m->pri[m->owner[150]].port, 7004);
    assert_int_equal(m->owner[300], TD_RSLOT_NONE);
    assert_int_equal(m->owner[16383], TD_RSLOT_NONE);
    td_rslot_map_clear(m);
    td_resp_reader_free(&r);
    free(m);
}

static const char slots[] = "*2\r\n"
                            "*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
                            "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nix\r\n"
                            "*3\r\n:8192\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n";

static void test_map_from_cluster_slots(void **state)
{
    (void)state;
    td_resp_reader_t r;
    td_rslot_map_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    const char *why = NULL;
    parse(&r, slots);
    assert_int_equal(td_rslot_map_parse(a, &r, TD_RSLOT_SLOTS, "h", &why), 0);
    assert_int_equal(a->covered, TD_RSLOTS);
    assert_int_equal(a->npri, 2);
    assert_int_equal(a->pri[a->owner[8191]].port, 7000); /* the first node: the primary */
    assert_string_equal(a->pri[a->owner[8192]].host, "h");
    assert_int_equal(td_rslot_map_parse(b, &r, TD_RSLOT_SLOTS, "h", &why), 0);
    assert_true(td_rslot_map_same(a, b));
    free(b->pri[b->owner[9000]].host);
    b->pri[b->owner[9000]].host = strdup("other"); /* a failover: another address */
    assert_false(td_rslot_map_same(a, b));
    td_rslot_map_clear(a);
    td_rslot_map_clear(b);
    td_resp_reader_free(&r);
    free(a);
    free(b);
}

static void refused(const char *text, td_rslot_fmt_t fmt)
{
    td_resp_reader_t r;
    td_rslot_map_t *m = calloc(1, sizeof *m);
    const char *why = NULL;
    parse(&r, text);
    assert_int_equal(td_rslot_map_parse(m, &r, fmt, "h", &why), -1);
    assert_non_null(why);
    assert_int_equal(m->npri, 0);
    assert_int_equal(m->covered, 0);
    td_resp_reader_free(&r);
    free(m);
}

static void test_map_refuses_bad_replies(void **state)
{
    (void)state;
    refused("-ERR unknown subcommand 'SHARDS'\r\n", TD_RSLOT_SHARDS);
    refused(":1\r\n", TD_RSLOT_SLOTS);
    refused("*1\r\n*3\r\n:5\r\n:1\r\n*2\r\n$1\r\nh\r\n:7000\r\n", TD_RSLOT_SLOTS); /* 5 > 1 */
    refused("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:7000\r\n", TD_RSLOT_SLOTS);
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:70000\r\n", TD_RSLOT_SLOTS);
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$3\r\na b\r\n:7000\r\n", TD_RSLOT_SLOTS);
    refused("*1\r\n*2\r\n:0\r\n:1\r\n", TD_RSLOT_SLOTS);
    refused("*1\r\n*2\r\n$5\r\nslots\r\n*1\r\n:0\r\n", TD_RSLOT_SHARDS); /* no nodes, odd */
    refused("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n$1\r\n0\r\n:1\r\n$5\r\nnodes\r\n*1\r\n" NODE(
                "6\r\nmaster", "6\r\nonline", "7000", "$1\r\nh\r\n"),
            TD_RSLOT_SHARDS); /* a slot as a string */
}

static void test_redirects(void **state)
{
    (void)state;
    char host[64];
    unsigned slot = 0;
    int port = 0;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal(td_rslot_redirect(m, strlen(m), &slot, host, sizeof host, &port), 1);
    assert_int_equal(slot, 3999);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6381);
    const char *a = "ASK 12 [::1]:7000";
    assert_int_equal(td_rslot_redirect(a, strlen(a), &slot, host, sizeof host, &port), 2);
    assert_string_equal(host, "::1");
    assert_int_equal(slot, 12);
    const char *bad[] = {"MOVED 16384 h:1", "MOVED 1 h", "MOVED 1 :1",  "MOVED x h:1",
                         "ASK 1 h:0",       "ERR foo",   "MOVED 1 h:1x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(td_rslot_redirect(bad[i], strlen(bad[i]), &slot, host, sizeof host, &port),
                         0);
    assert_int_equal(td_rslot_redirect(m, strlen(m), &slot, host, 5, &port), 0); /* no room */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_and_key_slots),
        cmocka_unit_test(test_map_from_cluster_shards),
        cmocka_unit_test(test_map_from_cluster_slots),
        cmocka_unit_test(test_map_refuses_bad_replies),
        cmocka_unit_test(test_redirects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
