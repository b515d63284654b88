/* SPDX-License-Identifier: Apache-2.0 */
/* `tickerd run --record DIR`: the recorder every upstream feed writes to. */
#include "cmd/run_app.h"
#include "core/log.h"

#include <string.h>

td_recdir_t *td__run_new_recorder(app_t *a)
{
    char err[512];
    td_recdir_cfg_t rc = {
        .dir = a->cfg.record, .max_gb = a->cfg.record_max_gb, .writer = "tickerd run " TD_VERSION};
    td_recdir_t *d = td_recdir_new(&a->loop, &rc, err, sizeof err);
    if (!d)
        TD_ERR("%s", err);
    else if (a->cfg.source || strcmp(a->cfg.feed, "alphavantage") == 0)
        TD_WARN("--record records the frames of streaming upstreams (--url with --feed alpaca "
                "or polygon): nothing to record here");
    return d;
}
