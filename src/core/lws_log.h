/* SPDX-License-Identifier: Apache-2.0 */
/* Routes libwebsockets' own log lines into tickerd's log: lws errors as
 * warnings, the rest at debug. */
#ifndef TD_CORE_LWS_LOG_H
#define TD_CORE_LWS_LOG_H

/* Call before creating a context. `also_warnings`: show lws warnings (at
 * debug level they are shown anyway). */
void td_lws_log_init(int also_warnings);

#endif
