/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes td_ws_url_parse with arbitrary text: never a crash or leak; an
 * accepted URL has a non-empty host without '@', a port in 1..65535 and a
 * path starting with '/' with no space, control byte or '#'; a refused one
 * leaves nothing allocated and says why. */
#include "proto/ws_url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    td_ws_url_t u;
    char err[512] = "";
    if (td_ws_url_parse(&u, s, err, sizeof err) == 0) {
        if (!u.host[0] || strchr(u.host, '@') || u.port < 1 || u.port > 65535) abort();
        if (u.path[0] != '/' || strchr(u.path, '#') || strchr(u.path, ' ')) abort();
        if (u.tls != (s[2] == 's' || s[2] == 'S')) abort();
        td_ws_url_free(&u);
    } else {
        if (u.host || u.path || !strstr(err, "bad upstream URL")) abort();
    }
    free(s);
    return 0;
}
