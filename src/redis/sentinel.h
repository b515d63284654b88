/* SPDX-License-Identifier: Apache-2.0 */
/* redis+sentinel://: finds the master of MASTERNAME by asking the sentinels
 * (SENTINEL get-master-addr-by-name), points the owner's connection at it
 * (whose handshake checks ROLE), and follows failovers: it subscribes to
 * +switch-master on one sentinel and moves the connection to the new master
 * at once; whenever the connection fails it asks the sentinels again. */
#ifndef TD_REDIS_SENTINEL_H
#define TD_REDIS_SENTINEL_H

#include "redis/conn.h"
#include "redis/url.h"

#include <stdint.h>
#include <uv.h>

typedef struct td_rsentinel_s td_rsentinel_t;

/* url: a redis+sentinel:// URL that td_redis_url_parse accepted (borrowed
 * during _new); master: the owner's connection (created with want_master;
 * borrowed, must outlive this). Initialises handles on loop: release with
 * _close, then _free. */
td_rsentinel_t *td_rsentinel_new(uv_loop_t *loop, const td_redis_url_t *url, td_rconn_t *master);
/* Asks the sentinels and starts the master connection once it knows where. */
void td_rsentinel_start(td_rsentinel_t *s);
/* Master switches seen (+switch-master or a different answer). */
uint64_t td_rsentinel_switches(const td_rsentinel_t *s);
/* Closes the sentinel connections; `done` once all are closed. Then _free. */
void td_rsentinel_close(td_rsentinel_t *s, void (*done)(void *ud), void *ud);
void td_rsentinel_free(td_rsentinel_t *s);

#endif
