/* SPDX-License-Identifier: Apache-2.0 */
/* Redis URLs: a pure parser (no I/O) and the masked rendering that every log
 * line, error and /metrics label uses instead of the URL itself.
 *
 *   redis://[[user]:pass@]host[:port][/db]       TCP (port 6379 by default)
 *   rediss://[[user]:pass@]host[:port][/db]      TLS
 *   unix://[[user]:pass@]/path/redis.sock[?db=N] unix socket
 *   redis+sentinel://[[user]:pass@]h1:p1,h2:p2/MASTERNAME[/db]
 *   redis+cluster://[[user]:pass@]h1:p1,h2:p2
 *   host:port                                    (bare, as before: TCP)
 *
 * The user and password are percent-decoded (%40 is '@'). A userinfo without
 * ':' is a password (as redis-cli reads it), so it is masked too. Hosts may
 * be IPv6 literals in brackets ([::1]:6379). */
#ifndef TD_REDIS_URL_H
#define TD_REDIS_URL_H

#include <stddef.h>

typedef enum {
    TD_REDIS_TCP,
    TD_REDIS_TLS,
    TD_REDIS_UNIX,
    TD_REDIS_SENTINEL,
    TD_REDIS_CLUSTER,
} td_redis_scheme_t;

typedef struct td_redis_node_s {
    char *host; /* owned; without brackets for IPv6 */
    int port;
} td_redis_node_t;

#define TD_REDIS_URL_MAX_NODES 16

typedef struct td_redis_url_s {
    td_redis_scheme_t scheme;
    char *user;                                    /* NULL: none (AUTH with the password alone) */
    char *pass;                                    /* NULL: no AUTH */
    td_redis_node_t nodes[TD_REDIS_URL_MAX_NODES]; /* TCP/TLS: one; sentinel/cluster: 1+ */
    size_t nnodes;
    char *path;   /* unix socket path; NULL otherwise */
    char *master; /* sentinel: the master's name; NULL otherwise */
    int db;       /* -1: none given (no SELECT) */
    char *masked; /* the URL with the password replaced by "***" */
} td_redis_url_t;

/* Parses url into u (which owns copies of every part). Returns 0, or -1 with
 * a one-line reason in err that never contains the password (it names the
 * masked URL). u needs td_redis_url_free either way. */
int td_redis_url_parse(td_redis_url_t *u, const char *url, char *err, size_t errlen);
void td_redis_url_free(td_redis_url_t *u);

/* Writes url with its password (everything between the userinfo's first ':'
 * and its last '@', or the whole userinfo if it has no ':') replaced by
 * "***", for any string, parseable or not. Always NUL-terminates (cap > 0);
 * returns the length the full rendering needs (like snprintf). */
size_t td_redis_url_mask(char *out, size_t cap, const char *url);

/* "host:port" of a node (IPv6 in brackets) into out; returns out. */
const char *td_redis_node_name(const td_redis_node_t *n, char *out, size_t cap);

#endif
