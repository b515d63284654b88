/* SPDX-License-Identifier: Apache-2.0 */
/* stdout sink: one JSON line per event, {"channel":"quotes.AAPL","data":{…}},
 * written in one buffered write per loop turn, for `| jq`. */
#ifndef TD_SINK_STDOUT_H
#define TD_SINK_STDOUT_H

#include "proto/event.h"

#include <stdint.h>
#include <uv.h>

typedef struct td_stdout_sink_s td_stdout_sink_t;

typedef struct td_stdout_sink_stats_s {
    uint64_t lines;    /* lines accepted into the buffer */
    uint64_t dropped;  /* events dropped: buffer full (16 MiB) or stdout closed */
    uint64_t buffered; /* bytes waiting now */
} td_stdout_sink_stats_t;

/* Borrows `loop`; copies `prefix` (NULL means ""). Initialises one uv handle
 * on `loop`: release with _stop (run the loop until `done`), then _free.
 * Sets SIGPIPE to SIG_IGN so that a closed pipe gives EPIPE (logged once,
 * then everything is dropped and counted). */
td_stdout_sink_t *td_stdout_sink_new(uv_loop_t *loop, const char *prefix);
/* Hot path: copies what it needs from ev. Never blocks, never fails. */
void td_stdout_sink_publish(td_stdout_sink_t *s, const td_event_t *ev);
void td_stdout_sink_stats(const td_stdout_sink_t *s, td_stdout_sink_stats_t *out);
/* Writes what is buffered (blocking write on fd 1), closes the handle; `done`
 * is called from the close callback (never from inside _stop). */
void td_stdout_sink_stop(td_stdout_sink_t *s, void (*done)(void *ud), void *ud);
void td_stdout_sink_free(td_stdout_sink_t *s);

#endif
