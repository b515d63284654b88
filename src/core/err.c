/* SPDX-License-Identifier: Apache-2.0 */
#include "core/err.h"

#include <string.h>

static int in_table(int err)
{
    return err > TD_ERR__FIRST && err < TD_ERR__END;
}

const char *td_strerror(int err)
{
    static const char *const text[] = {
#define XX(name, t) t,
        TD_ERRNO_MAP(XX)
#undef XX
    };
    if (err == 0) return "ok";
    if (in_table(err)) return text[err - TD_ERR__FIRST - 1];
    if (err < 0 && err > TD_ERR__BASE) return strerror(-err);
    return "unknown error";
}

const char *td_err_name(int err)
{
    static const char *const names[] = {
#define XX(name, t) #name,
        TD_ERRNO_MAP(XX)
#undef XX
    };
    if (err == 0) return "OK";
    if (in_table(err)) return names[err - TD_ERR__FIRST - 1];
    if (err < 0 && err > TD_ERR__BASE) return "ERRNO";
    return "UNKNOWN";
}
