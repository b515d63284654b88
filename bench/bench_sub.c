/* SPDX-License-Identifier: Apache-2.0 */
/* A Redis pattern subscriber that counts what it receives, for the
 * end-to-end benchmark (a Python subscriber could not keep up).
 *
 *   bench_sub PORT SECONDS_IDLE PATTERN...
 *
 * Prints "ready" once subscribed, then, after SECONDS_IDLE without a message
 * (or 600 s in all), "received N" and the latency percentiles of messages
 * whose payload has an RFC 3339 "t" (send time at the simulator). */
#include "core/clock.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Latency of a trade or quote from its "t" field (their send time at the
 * simulator); -1 for other messages (a bar's "t" is the bar's minute) and
 * for refilled ones (tickerd --refill). */
static int64_t latency_ns(const char *p, size_t n, int64_t now)
{
    if (!memmem(p, n, "\"T\":\"t\"", 7) && !memmem(p, n, "\"T\":\"q\"", 7)) return -1;
    if (memmem(p, n, "\"refilled\":true", 15)) return -1; /* its "t" is the original's: old */
    const char *t = memmem(p, n, "\"t\":\"", 5);
    if (!t) return -1;
    t += 5;
    const char *e = memchr(t, '"', n - (size_t)(t - p));
    int64_t ts;
    if (!e || td_rfc3339_parse(t, (size_t)(e - t), &ts) != 0) return -1;
    return now - ts;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT SECONDS_IDLE PATTERN...\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int idle = atoi(argv[2]);
    struct timeval tv = {idle, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        fprintf(stderr, "connect: %s\n", c ? c->errstr : "oom");
        return 1;
    }
    for (int i = 3; i < argc; i++) {
        redisAppendCommand(c, "PSUBSCRIBE %s", argv[i]);
    }
    for (int i = 3; i < argc; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return 1;
        freeReplyObject(r);
    }
    redisSetTimeout(c, tv);
    printf("ready\n");
    fflush(stdout);
    uint64_t n = 0;
    size_t cap = 1 << 20, nlat = 0;
    int64_t *lat = malloc(cap * sizeof *lat);
    int64_t start = td_now_ns();
    for (;;) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) break; /* idle timeout */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
            n++;
            /* Sample one message in 16 for latency. */
            if ((n & 15) == 0 && nlat < cap) {
                int64_t l = latency_ns(r->element[3]->str, r->element[3]->len, td_now_ns());
                if (l >= 0) lat[nlat++] = l;
            }
        }
        freeReplyObject(r);
        if (td_now_ns() - start > 600LL * 1000000000) break;
    }
    printf("received %llu\n", (unsigned long long)n);
    if (nlat) {
        qsort(lat, nlat, sizeof *lat, cmp_i64);
        printf("latency_us p50 %.1f p99 %.1f p999 %.1f max %.1f (n=%zu)\n", lat[nlat / 2] / 1e3,
               lat[nlat * 99 / 100] / 1e3, lat[nlat * 999 / 1000] / 1e3, lat[nlat - 1] / 1e3, nlat);
    }
    free(lat);
    redisFree(c);
    return 0;
}
