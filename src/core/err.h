/* SPDX-License-Identifier: Apache-2.0 */
/* One error convention for the modules: 0 is success, errors are negative.
 * tickerd's own codes come from one table (TD_ERRNO_MAP, as libuv's
 * UV_ERRNO_MAP) and sit below TD_ERR__BASE, out of the way of the negated
 * errno values some modules also return (TD_EAGAIN, -EINVAL, -EIO: the store,
 * libuv), which are above it. td_strerror and td_err_name answer for both. */
#ifndef TD_CORE_ERR_H
#define TD_CORE_ERR_H

#include <errno.h>

/* XX(name, text): one row per code, in a fixed order (values follow it). */
#define TD_ERRNO_MAP(XX)                                                                           \
    XX(EMALFORMED, "malformed JSON")                                                               \
    XX(ETOOBIG, "too many elements, nested too deep or too large")                                 \
    XX(EACTION, "missing or unknown action")                                                       \
    XX(ESYMBOL, "bad symbol")                                                                      \
    XX(ECHANNEL, "unknown channel word")                                                           \
    XX(ETOOLONG, "key or secret too long")                                                         \
    XX(ESINCE, "bad since: an object of \"kind.SYMBOL\": \"stream id\"")                           \
    XX(ETORN, "torn tail")                                                                         \
    XX(ECORRUPT, "not decodable")                                                                  \
    XX(EBADTOKEN, "malformed token")                                                               \
    XX(EALG, "algorithm not accepted")                                                             \
    XX(ESIGNATURE, "bad signature")                                                                \
    XX(ECLAIMS, "malformed claims")                                                                \
    XX(EEXPIRED, "expired")                                                                        \
    XX(ENOTYET, "not valid yet (nbf)")

#define TD_ERR__BASE (-4000) /* negated errno values are above it, the codes below */

enum {
    TD_OK = 0,
    TD_ERR__FIRST = -5000, /* not a code; the codes follow it */
#define XX(name, text) TD_##name,
    TD_ERRNO_MAP(XX)
#undef XX
        TD_ERR__END /* not a code */
};
_Static_assert(TD_ERR__END <= TD_ERR__BASE, "TD_ERRNO_MAP: too many codes");

/* Backlog full (store writes): a negated errno value, as the store's others. */
#ifndef TD_EAGAIN
#define TD_EAGAIN (-EAGAIN)
#endif

/* Static text for a code of the table, a negated errno value or 0 ("ok");
 * "unknown error" for anything else. */
const char *td_strerror(int err);
/* The code's name without its TD_ prefix ("EMALFORMED"), "OK" for 0, "ERRNO"
 * for a negated errno value, "UNKNOWN" for anything else. */
const char *td_err_name(int err);

#endif
