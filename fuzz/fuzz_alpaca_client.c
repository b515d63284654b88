/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: Alpaca client → server message parser: the result is
 * consistent, and the work linear in the input (linear_check.h). */
#include "proto/alpaca_client.h"

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
    td_alpaca_client_parse(s, n, &m);
    td_alpaca_client_msg_free(&m);
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
    int rc = td_alpaca_client_parse(s, size, &m);
    td_fuzz_linear_check(t0, s, size, parse_again, "td_alpaca_client_parse");
    if (rc == 0) {
        if (m.action == TD_ALPACA_CLIENT_NONE) abort();
        if (m.has_key && strlen(m.key) > m.key_len) abort();
        if (m.key_len > TD_ALPACA_CLIENT_CRED_MAX) abort();
        for (int k = 0; k < TD_KIND__COUNT; k++)
            for (size_t i = 0; i < m.sub.k[k].n; i++)
                if (!symbol_rule(m.sub.k[k].v[i]) || !strcmp(m.sub.k[k].v[i], "*")) abort();
        if (m.nsince > TD_ALPACA_SINCE_MAX) abort();
        for (size_t i = 0; i < m.nsince; i++) /* "since": names and valid ids only */
            if (!symbol_rule(m.since[i].sym) || !strcmp(m.since[i].sym, "*") ||
                !td_alpaca_stream_id_ok(m.since[i].id, strlen(m.since[i].id)))
                abort();
    } else if (m.action != TD_ALPACA_CLIENT_NONE || !td_subset_empty(&m.sub) || m.nsince) {
        abort();
    }
    (void)td_strerror(rc);
    td_alpaca_client_msg_free(&m);
    free(s);
    return 0;
}
