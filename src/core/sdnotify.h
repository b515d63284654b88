/* SPDX-License-Identifier: Apache-2.0 */
/* The systemd notification protocol, without libsystemd: one datagram with
 * "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or '@' for the abstract namespace). Nothing happens without it. */
#ifndef TD_CORE_SDNOTIFY_H
#define TD_CORE_SDNOTIFY_H

#include <stdint.h>

/* 1 if sent, 0 if there is no $NOTIFY_SOCKET, -1 with errno. */
int td_sd_notify(const char *state);

/* The watchdog period systemd asks for ($WATCHDOG_USEC, if $WATCHDOG_PID is
 * unset or this process), in ms; 0 if none. */
uint64_t td_sd_watchdog_ms(void);

#endif
