/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd --version: the version, the commit it was built from and the
 * versions of the libraries it runs with (as loaded, where they say). */
#include "cmd/cmd.h"
#include "td_commit.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <msgpack.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <zstd.h>

int td_cmd_version(void)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    int pq = PQlibVersion();
    printf("tickerd %s (commit %s)\n", TD_VERSION, TD_COMMIT);
    printf("libuv %s\n", uv_version_string());
    /* Debian's lws says "4.1.6-" (an empty git hash after the dash) */
    const char *lws = lws_get_library_version();
    size_t n = strlen(lws);
    printf("libwebsockets %.*s\n", (int)(n && lws[n - 1] == '-' ? n - 1 : n), lws);
    printf("libcurl %s\n", cv->version);
    printf("libpq %d.%d\n", pq / 10000, pq % 10000);
    printf("sqlite %s\n", sqlite3_libversion());
    printf("msgpack-c %s\n", msgpack_version());
    printf("zstd %s\n", ZSTD_versionString());
    printf("TLS %s\n", cv->ssl_version ? cv->ssl_version : "none");
    return 0;
}
