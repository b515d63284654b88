/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes what redis/cluster reads from a cluster's nodes: a CLUSTER SHARDS
 * ('S' first byte) or CLUSTER SLOTS ('L') reply turned into a slot map, and
 * a MOVED/ASK error text ('M'), plus the key slot of the bytes.
 * Checks: a map that parses has owners within its primaries, `covered`
 * equal to the slots that have one, and every primary a non-empty host and
 * a port in range; a refused map is empty; a redirect's slot and port are in
 * range and its host NUL-terminated within the buffer. */
#include "redis/resp.h"
#include "redis/slots.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_map(const td_rslot_map_t *m, int ok)
{
    size_t covered = 0;
    for (size_t s = 0; s < TD_RSLOTS; s++) {
        if (m->owner[s] == TD_RSLOT_NONE) continue;
        if (!ok || m->owner[s] >= m->npri) abort();
        covered++;
    }
    if (covered != m->covered) abort();
    for (size_t i = 0; i < m->npri; i++)
        if (!m->pri[i].host[0] || m->pri[i].port <= 0 || m->pri[i].port > 65535) abort();
}

static void fuzz_map(const char *buf, size_t size, td_rslot_fmt_t fmt)
{
    td_resp_reader_t r = TD_RESP_READER_INIT;
    static td_rslot_map_t m;
    const char *why = NULL;
    r.max_bulk = 1 << 20;
    if (td_resp_parse(&r, buf, size) > 0) {
        int ok = td_rslot_map_parse(&m, &r, fmt, "10.0.0.1", &why) == 0;
        if (!ok && !why) abort();
        check_map(&m, ok);
        td_rslot_map_clear(&m);
    }
    td_resp_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    if (td_rslot_key(buf, size - 1) >= TD_RSLOTS) abort();
    if (data[0] == 'S' || data[0] == 'L') {
        fuzz_map(buf, size - 1, data[0] == 'S' ? TD_RSLOT_SHARDS : TD_RSLOT_SLOTS);
    } else if (data[0] == 'M') {
        char host[64];
        unsigned slot;
        int port;
        memset(host, 'x', sizeof host);
        if (td_rslot_redirect(buf, size - 1, &slot, host, sizeof host, &port)) {
            if (slot >= TD_RSLOTS || port <= 0 || port > 65535 || !memchr(host, 0, sizeof host))
                abort();
        }
    }
    free(buf);
    return 0;
}
