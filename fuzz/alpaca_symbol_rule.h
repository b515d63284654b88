/* SPDX-License-Identifier: Apache-2.0 */
/* For the Alpaca client-message fuzz targets (JSON and MessagePack): the
 * documented symbol rule, written out here as an oracle independent of the
 * parsers' own td_alpaca_client_symbol_ok. */
#ifndef TD_FUZZ_ALPACA_SYMBOL_RULE_H
#define TD_FUZZ_ALPACA_SYMBOL_RULE_H

#include <string.h>

#include "proto/alpaca_client.h"

static int symbol_rule(const char *s)
{
    size_t n = strlen(s);
    if (n == 1 && s[0] == '*') return 1;
    if (n == 0 || n > TD_ALPACA_CLIENT_SYMBOL_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '*') return 0;
    return 1;
}

#endif
