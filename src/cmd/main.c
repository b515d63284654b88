/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd: market-data stream proxy. This file only dispatches. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: tickerd COMMAND [OPTIONS]\n"
        "\n"
        "Holds one upstream market-data connection and fans it out per event kind and\n"
        "ticker: to Redis pub/sub channels <prefix><kind>.<SYMBOL>, to WebSocket clients\n"
        "in the vendor's own protocol, and to stdout. Polls REST-only vendors under\n"
        "their quota, and backfills history.\n"
        "\n"
        "Commands:\n"
        "  run       the proxy: vendor stream or REST poller -> Redis / WebSocket / stdout\n"
        "  sim       a simulator of the vendors (Alpaca, Polygon, Alpha Vantage)\n"
        "  replay    serves recordings of tickerd run --record as the vendor would\n"
        "  backfill  history (Alpaca bars, Polygon aggregates, URL grids) into SQLite/PostgreSQL\n"
        "  config    config --dump-reference [DIR]: the configuration reference, example\n"
        "            file, man page and bash completion, generated from the options\n"
        "  version   print the version, commit and linked libraries\n"
        "\n"
        "`tickerd COMMAND --help` lists a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return td_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0) return td_cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0) return td_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "backfill") == 0) return td_cmd_backfill(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0) return td_cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) return td_cmd_version();
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tickerd: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
