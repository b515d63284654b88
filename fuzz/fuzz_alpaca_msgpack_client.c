/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: Alpaca client → server message parser, MessagePack mode.
 * Whatever the parser accepts must be one complete msgpack map that
 * msgpack-c's unpacker reads too, and the work is linear in the input
 * (linear_check.h). */
#include "proto/alpaca_msgpack.h"

#include <msgpack.h>
#include "alpaca_symbol_rule.h"
#include "linear_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_again(const char *s, size_t n)
{
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    td_alpaca_client_parse_msgpack(s, n, &m);
    td_alpaca_client_msg_free(&m);
}

static void check_ok(const td_alpaca_client_msg_t *m)
{
    if (m->action == TD_ALPACA_CLIENT_NONE) abort();
    if (m->key_len > TD_ALPACA_CLIENT_CRED_MAX || m->secret_len > TD_ALPACA_CLIENT_CRED_MAX)
        abort();
    if (m->action != TD_ALPACA_CLIENT_AUTH && (m->has_key || m->has_secret)) abort();
    if (m->action == TD_ALPACA_CLIENT_AUTH && m->snapshot) abort();
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if ((ss->n || ss->all) && !(m->kinds & 1u << k)) abort();
        for (size_t i = 0; i < ss->n; i++) {
            if (!symbol_rule(ss->v[i]) || !strcmp(ss->v[i], "*")) abort(); /* "*" is ->all */
        }
    }
}

/* Structurally valid input (any code but EMALFORMED): msgpack-c agrees. */
static void check_msgpack_c(const char *s, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, s, size, &off) != MSGPACK_UNPACK_SUCCESS) abort();
    if (off != size || u.data.type != MSGPACK_OBJECT_MAP) abort();
    msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so reads past the end are caught. */
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    if (size) memcpy(s, data, size);
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    double t0 = td_fuzz_cpu_seconds();
    int rc = td_alpaca_client_parse_msgpack(s, size, &m);
    td_fuzz_linear_check(t0, s, size, parse_again, "td_alpaca_client_parse_msgpack");
    if (rc == 0)
        check_ok(&m);
    else if (m.action != TD_ALPACA_CLIENT_NONE || !td_subset_empty(&m.sub) || m.kinds)
        abort();
    /* the JSON parser's codes, no others (ESINCE: msgpack clients send no since) */
    if (rc != TD_OK && rc != TD_EMALFORMED && rc != TD_EACTION && rc != TD_ESYMBOL &&
        rc != TD_ECHANNEL && rc != TD_ETOOLONG)
        abort();
    if (rc != TD_EMALFORMED) check_msgpack_c(s, size);
    /* parsing again into a used message gives the same answer */
    if (td_alpaca_client_parse_msgpack(s, size, &m) != rc) abort();
    td_alpaca_client_msg_free(&m);
    free(s);
    return 0;
}
