/* SPDX-License-Identifier: Apache-2.0 */
/* `tickerd replay FILE... --listen ADDR`: recordings of `tickerd run
 * --record` (or `tickerd sim --record-frames`) served by the simulator's
 * server, in the recorded vendor's dialect. Wiring only. */
#include "cmd/cmd.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/opt.h"
#include "sim/sim.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    td_sim_cfg_t sim;
    char *speed, *from, *to;
    char *log_level, *log_format;
} replay_opts_t;

#define F(x) offsetof(replay_opts_t, x)
#define S(x) offsetof(replay_opts_t, sim.x)

static const td_opt_t replay_table[] = {
    {"listen", TD_OPT_STR, S(listen), 0, 0, "127.0.0.1:8765", "ADDR:PORT", NULL, 0,
     "address to listen on (IPv4; use 127.0.0.1)"},
    {"speed", TD_OPT_STR, F(speed), 0, 0, "1", "N|max", NULL, 0,
     "N times real time (the gaps between the recorded receive times divided by N), or max: "
     "as fast as the clients read"},
    {"from", TD_OPT_STR, F(from), 0, 0, NULL, "RFC3339", NULL, 0,
     "skip frames received before this time, e.g. 2026-12-05T14:30:00Z"},
    {"to", TD_OPT_STR, F(to), 0, 0, NULL, "RFC3339", NULL, 0,
     "end the replay after the frames received up to this time"},
    {"key", TD_OPT_STR, S(key), 0, 0, NULL, "KEY", NULL, 0,
     "the only API key id accepted (default: any non-empty key)"},
    {"secret", TD_OPT_STR, S(secret), 0, 0, NULL, "SECRET", NULL, TD_OPT_SECRET,
     "the only API secret accepted (default: any non-empty secret)"},
    {"max-conns", TD_OPT_INT, S(max_conns), 0, 1e6, "0", "N", NULL, 0,
     "the vendor's connection limit per key and path (406, Polygon max_connections); 0 = "
     "unlimited"},
    {"auth-timeout", TD_OPT_DOUBLE, S(auth_timeout), 0, 86400, "10", "SECONDS", NULL,
     TD_OPT_DURATION, "close a connection that has not authenticated in time; 0 = never"},
    {"batch", TD_OPT_INT, S(batch), 1, 100000, "100", "N", NULL, 0,
     "events per frame sent, at most (the recorded frames are split again per subscription)"},
    {"max-pending", TD_OPT_INT, S(max_pending_mb), 1, 1e6, "64", "MIB", NULL, 0,
     "output queued for one connection past which it gets 407 slow client and is closed"},
    {"tls-cert", TD_OPT_STR, S(tls_cert), 0, 0, NULL, "PEM", NULL, 0,
     "serve wss:// with this certificate (chain); needs --tls-key"},
    {"tls-key", TD_OPT_STR, S(tls_key), 0, 0, NULL, "PEM", NULL, 0,
     "private key of --tls-cert (unencrypted PEM)"},
    {"log-level", TD_OPT_STR, F(log_level), 0, 0, "info", "LEVELS", NULL, 0,
     "error, warn, info or debug; per component too, e.g. info,sim=debug (components: the "
     "subcommand, sim, core)"},
    {"log-format", TD_OPT_STR, F(log_format), 0, 0, "text", "FORMAT", NULL, 0,
     "text, or json: one object per line with ts, level, component, cmd, msg"},
    TD_OPT_END,
};
#undef F
#undef S

static const td_opts_t replay_opts = {
    "replay", replay_table, "usage: tickerd replay FILE... [OPTIONS]",
    "Serves recordings (tickerd run --record DIR, tickerd sim --record-frames DIR: the\n"
    "*.tdrec.zst files) as the recorded vendor would: the stream path and dialect of each\n"
    "file's header (Alpaca /v2/iex, ..., Polygon /stocks, ...), with the vendor's greeting,\n"
    "auth, subscriptions and errors (JSON: no MessagePack mode, as tickerd sim), so tickerd\n"
    "run, libtickerd and JSON clients connect to it unchanged. The files of one path are\n"
    "played in the order of their start times. A stream starts at its first subscription;\n"
    "each data frame is split again and its events go to the connections whose subscription\n"
    "covers them. Control messages of the recording are not replayed. A torn tail (a\n"
    "recorder that died mid-write) ends its file with one log line. At the end of the\n"
    "recordings the connections stay open, with no more data."};

/* Which argv entries are option values: --name VALUE for non-bool options. */
static int takes_value(const char *arg)
{
    if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) return 1;
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '=')) return 0;
    for (const td_opt_t *o = replay_table; o->name; o++)
        if (strcmp(arg + 2, o->name) == 0) return o->type != TD_OPT_BOOL;
    return 0;
}

static int parse_time(const char *s, const char *name, int64_t *out)
{
    if (!s) return 0;
    if (td_rfc3339_parse(s, strlen(s), out) == 0) return 0;
    fprintf(stderr, "tickerd replay: bad --%s '%s': expected RFC 3339, e.g. 2026-12-05T14:30:00Z\n",
            name, s);
    return -1;
}

static int finish_cfg(replay_opts_t *o)
{
    td_sim_cfg_t *c = &o->sim;
    char *end;
    if (strcmp(o->speed, "max") == 0) {
        c->replay_speed = 0;
    } else {
        c->replay_speed = strtod(o->speed, &end);
        if (*end || !(c->replay_speed > 0) || c->replay_speed > 1e6) {
            fprintf(stderr, "tickerd replay: bad --speed '%s': a number > 0 or max\n", o->speed);
            return -1;
        }
    }
    if (parse_time(o->from, "from", &c->replay_from_ns) ||
        parse_time(o->to, "to", &c->replay_to_ns))
        return -1;
    if (c->replay.n == 0) {
        fprintf(stderr, "tickerd replay: no recording given (tickerd replay FILE... --listen "
                        "ADDR)\n");
        return -1;
    }
    /* the simulator's settings a replay does not use */
    c->symbols = 1;
    c->seed = 1;
    c->rate = 1;
    c->tick_ms = 1;
    c->av_minute = 60;
    c->av_day = 86400;
    c->av_minute_key = (char *)"Note";
    c->av_day_key = (char *)"Information";
    c->av_minute_text = (char *)"";
    c->av_day_text = (char *)"";
    return 0;
}

int td_cmd_replay(int argc, char **argv)
{
    replay_opts_t o;
    memset(&o, 0, sizeof o);
    char err[256];
    td_log_set_prefix("replay");
    /* the files are the arguments that are neither options nor their values */
    char **opt_argv = td_xcalloc((size_t)argc + 1, sizeof *opt_argv);
    int n = 0;
    opt_argv[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            opt_argv[n++] = argv[i];
            if (takes_value(argv[i]) && i + 1 < argc) opt_argv[n++] = argv[++i];
        } else {
            o.sim.replay.v = td_xrealloc(o.sim.replay.v, (o.sim.replay.n + 1) * sizeof(char *));
            o.sim.replay.v[o.sim.replay.n++] = argv[i];
        }
    }
    int rc = td_opts_parse(&replay_opts, &o, n, opt_argv, err, sizeof err);
    free(opt_argv);
    if (rc == 0 && finish_cfg(&o) != 0) rc = -2;
    if (rc != 0) {
        if (rc == -1) fprintf(stderr, "tickerd replay: %s\n", err);
        free(o.sim.replay.v);
        td_opts_free(&replay_opts, &o);
        return rc < 0 ? 2 : 0;
    }
    td_log_note_file();
    signal(SIGPIPE, SIG_IGN);
    rc = td__cmd_sim_serve(&o.sim, "replay");
    free(o.sim.replay.v);
    td_opts_free(&replay_opts, &o);
    return rc;
}

const td_opts_t *td_cmd_replay_opts(void)
{
    return &replay_opts;
}
