/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd --version: the version, the commit it was built from and the
 * versions of the libraries it runs with (as loaded, where they say). */
#include "cmd/cmd.h"
#include "td_commit.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <msgpack.h>
#include <sqlite3.h>
#include <stdio.h>
#include <uv.h>
#include <zstd.h>

int td_cmd_version(void)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    int pq = PQlibVersion();
    printf("tickerd %s (commit %s)\n", TD_VERSION, TD_COMMIT);
    printf("libuv %s\n", uv_version_string());
    printf("libwebsockets %s\n", lws_get_library_version());
    printf("hiredis %d.%d.%d\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
    printf("libcurl %s\n", cv->version);
    printf("libpq %d.%d\n", pq / 10000, pq % 10000);
    printf("sqlite %s\n", sqlite3_libversion());
    printf("msgpack-c %s\n", msgpack_version());
    printf("zstd %s\n", ZSTD_versionString());
    printf("TLS %s\n", cv->ssl_version ? cv->ssl_version : "none");
    return 0;
}
