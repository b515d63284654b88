/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes td_redis_url_parse and td_redis_url_mask with arbitrary text:
 * never a crash or leak; an accepted URL has 1..65535 ports, non-empty
 * hosts, a path for unix:// and a master name for Sentinel; the masked form
 * is what td_redis_url_mask renders, masking is idempotent, and an error
 * message names the masked URL (it is built from nothing else). */
#include "redis/url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_ok(const td_redis_url_t *u)
{
    if (u->scheme == TD_REDIS_UNIX) {
        if (!u->path || u->path[0] != '/' || u->nnodes) abort();
        return;
    }
    if (u->nnodes == 0 || u->nnodes > TD_REDIS_URL_MAX_NODES) abort();
    for (size_t i = 0; i < u->nnodes; i++)
        if (!u->nodes[i].host[0] || u->nodes[i].port < 1 || u->nodes[i].port > 65535) abort();
    if ((u->scheme == TD_REDIS_SENTINEL) != (u->master != NULL)) abort();
    if (u->pass && !strstr(u->masked, "***")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    td_redis_url_t u;
    char err[512];
    int rc = td_redis_url_parse(&u, s, err, sizeof err);
    size_t n = td_redis_url_mask(NULL, 0, s);
    char *m = malloc(n + 1), *m2 = malloc(n + 1);
    td_redis_url_mask(m, n + 1, s);
    if (strcmp(m, u.masked) != 0) abort();
    if (td_redis_url_mask(m2, n + 1, m) != n || strcmp(m, m2) != 0) abort(); /* idempotent */
    if (rc == 0)
        check_ok(&u);
    else if (strlen(err) < sizeof err - 1 && !strstr(err, m))
        abort(); /* an error names the masked URL (never the raw one) */
    td_redis_url_free(&u);
    free(m);
    free(m2);
    free(s);
    return 0;
}
