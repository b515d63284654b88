/* SPDX-License-Identifier: Apache-2.0 */
#include "core/lws_log.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <string.h>

static void emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        TD_WARN("lws: %.*s", (int)n, line);
    else
        TD_DEBUG("lws: %.*s", (int)n, line);
}

void td_lws_log_init(int also_warnings)
{
    int levels = LLL_ERR;
    if (also_warnings) levels |= LLL_WARN;
    if (td_log_level_current >= TD_LOG_DEBUG) levels |= LLL_WARN | LLL_NOTICE;
    lws_set_log_level(levels, emit);
}
