/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd config: documents generated from the options tables. */
#include "cmd/cmd.h"
#include "core/opt_doc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const cmd_help[] = {
    "the proxy: vendor stream or REST poller to Redis, WebSocket clients and stdout",
    "a simulator of the vendors (Alpaca, Polygon, Alpha Vantage)",
    "serves recordings of tickerd run --record as the vendor would",
    "history (Alpaca bars, Polygon aggregates, URL grids) into SQLite or PostgreSQL", NULL};
static const char *const extra[] = {
    "config", "tickerd config --dump-reference [DIR]: write these documents under DIR", "version",
    "the version, the commit and the linked libraries' versions", NULL};

/* The files --dump-reference writes, relative to its directory. */
static const struct {
    const char *path;
    void (*write)(const td_opt_doc_t *, FILE *);
} outputs[] = {
    {"docs/CONFIG.md", td_opt_doc_markdown},
    {"examples/tickerd.conf", td_opt_doc_ini},
    {"docs/tickerd.1", td_opt_doc_man},
    {"contrib/bash-completion/tickerd", td_opt_doc_bash},
};

static int write_one(const td_opt_doc_t *d, const char *dir, size_t i)
{
    char path[4096], sub[4096];
    snprintf(path, sizeof path, "%s/%s", dir, outputs[i].path);
    /* the parent directories, one level at a time */
    for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
        snprintf(sub, sizeof sub, "%.*s", (int)(s - path), path);
        if (mkdir(sub, 0755) != 0 && errno != EEXIST) break;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "tickerd config: %s: %s\n", path, strerror(errno));
        return -1;
    }
    outputs[i].write(d, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "tickerd config: %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("%s\n", path);
    return 0;
}

int td_cmd_config(int argc, char **argv)
{
    const td_opts_t *cmds[] = {td_cmd_run_opts(), td_cmd_sim_opts(), td_cmd_replay_opts(),
                               td_cmd_backfill_opts(), NULL};
    td_opt_doc_t d = {
        "market-data stream proxy",
        "Holds one upstream market-data connection and fans it out per event kind and ticker: "
        "to Redis pub/sub channels <prefix><kind>.<SYMBOL>, to WebSocket clients in the "
        "vendor's own protocol, and to stdout. Polls REST-only vendors under their quota, and "
        "backfills history.",
        cmds, cmd_help, extra};
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--dump-reference") != 0) {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: tickerd config --dump-reference [DIR]\n\nWrites, under DIR (default: "
                "the current directory), the documents generated from the\noptions tables: "
                "docs/CONFIG.md, examples/tickerd.conf, docs/tickerd.1 and\n"
                "contrib/bash-completion/tickerd.\n");
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    const char *dir = argc == 3 ? argv[2] : ".";
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        if (write_one(&d, dir, i) != 0) return 1;
    return 0;
}
