/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run: the checks of a configuration as a whole, one function that
 * both the startup and `--check-config` run, so the two never disagree. It
 * checks how the options combine (upstream vs --source, sinks, HA), the URLs
 * and addresses, and that the files named are usable (CA, certificates and
 * keys, the token key, [clients]); it connects, binds and resolves nothing.
 * Each error is one log line, prefixed with FILE:LINE when the option came
 * from the -c file; every error is reported, not only the first. */
#include "cmd/run_app.h"
#include "core/log.h"
#include "core/mem.h"
#include "feed/feed.h"
#include "gateway/jwt.h"
#include "core/tls.h"
#include "redis/url.h"
#include "refill/refill.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    app_t *a;
    const td_opts_t *o;
    int errors;
    int url_bad; /* an upstream URL was refused (the refill's base is not judged) */
} check_t;

/* One error about option `opt` (its file:line first if it came from there). */
static void __attribute__((format(printf, 3, 4)))
bad(check_t *k, const char *opt, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *where = opt ? td_opts_origin(k->o, opt) : NULL;
    TD_ERR("%s%s%s", where ? where : "", where ? ": " : "", msg);
    k->errors++;
}

/* A file named by --OPT can be opened for reading (1), else reported (0). */
static int readable(check_t *k, const char *opt, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        bad(k, opt, "--%s '%s': %s", opt, path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

/* ---- client keys and the token key (the gateway's) ------------------------ */

static int add_client(app_t *a, const char *key, const char *secret, char *err, size_t errlen)
{
    if (td_opt_check_credential(key, secret, err, errlen) != 0) return -1;
    for (size_t i = 0; i < a->client_keys.n; i++)
        if (strcmp(a->client_keys.v[i], key) == 0) {
            snprintf(err, errlen, "client key '%s' given twice", key);
            return -1;
        }
    td_strlist_push(&a->client_keys, key);
    td_strlist_push(&a->client_secrets, secret);
    return 0;
}

typedef struct {
    app_t *a;
    char err[256];
    int failed;
} clients_ini;

static int on_clients_ini(void *user, const char *section, const char *name, const char *value)
{
    clients_ini *ci = user;
    if (ci->failed || strcmp(section, "clients") != 0) return 1;
    if (add_client(ci->a, name, value, ci->err, sizeof ci->err) != 0) {
        ci->failed = 1;
        return 0;
    }
    return 1;
}

int td__run_load_clients(app_t *a, const run_cfg *c, const char *config)
{
    char err[256];
    if (config) {
        clients_ini ci = {a, "", 0};
        char why[64];
        int rc = td_ini_parse(config, on_clients_ini, &ci, why, sizeof why);
        if (rc != 0) {
            TD_ERR("%s:%d: [clients]: %s", config, rc,
                   *why        ? why
                   : ci.failed ? ci.err
                               : "cannot read");
            return -1;
        }
    }
    for (size_t i = 0; i < c->client.n; i++) {
        char *kv = c->client.v[i], *colon = strchr(kv, ':');
        if (!colon) {
            TD_ERR("--client: expected KEY:SECRET");
            return -1;
        }
        *colon = '\0';
        int rc = add_client(a, kv, colon + 1, err, sizeof err);
        *colon = ':';
        if (rc != 0) {
            TD_ERR("--client: %s", err);
            return -1;
        }
    }
    return 0;
}

/* --jwt-hs256-secret-file: its first line (without the line end) into
 * buf. 0, or -1 with err. */
static int read_secret_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "--jwt-hs256-secret-file '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int more = fgetc(f) != EOF, failed = ferror(f);
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
        TD_WARN("--jwt-hs256-secret-file '%s': every user of this machine may read it "
                "(chmod 600 it)",
                path);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    const char *why = failed  ? "cannot read it"
                      : more  ? "longer than 4 KiB"
                      : !*buf ? "empty"
                              : NULL;
    if (why) snprintf(err, errlen, "--jwt-hs256-secret-file '%s': %s", path, why);
    return why ? -1 : 0;
}

int td__run_load_jwt(const run_cfg *c, td_jwt_key_t **out, const char **opt, char *err,
                     size_t errlen)
{
    char why[256], file[4097];
    const char *secret = c->jwt_hs256_secret;
    *out = NULL;
    *opt = c->jwt_public_key ? "jwt-public-key" : "jwt-hs256-secret-file";
    if (!!c->jwt_hs256_secret + !!c->jwt_hs256_secret_file + !!c->jwt_public_key > 1) {
        snprintf(err, errlen,
                 "--jwt-hs256-secret, --jwt-hs256-secret-file and --jwt-public-key: give one");
        return -1;
    }
    if (c->jwt_hs256_secret_file) {
        if (read_secret_file(c->jwt_hs256_secret_file, file, sizeof file, err, errlen) != 0)
            return -1;
        secret = file;
    }
    if (secret) {
        if (strlen(secret) < 32)
            TD_WARN("the HS256 secret is shorter than 32 bytes: easy to guess");
        *out = td_jwt_key_hs256(secret, strlen(secret));
        memset(file, 0, sizeof file);
    } else if (c->jwt_public_key && !(*out = td_jwt_key_pem(c->jwt_public_key, why, sizeof why))) {
        snprintf(err, errlen, "--jwt-public-key: %s", why);
        return -1;
    }
    return 0;
}

/* The token key into a->jwt, errors with the file:line of the option. */
static void load_jwt(check_t *k)
{
    char err[512];
    const char *opt;
    if (td__run_load_jwt(&k->a->cfg, &k->a->jwt, &opt, err, sizeof err) != 0)
        bad(k, opt, "%s", err);
}

/* --listen, --listen-tls with its certificate, --metrics-listen. */
static void check_gateway(check_t *k)
{
    app_t *a = k->a;
    const run_cfg *c = &a->cfg;
    char err[512];
    if (c->listen_tls && !c->listen)
        bad(k, "listen-tls", "--listen-tls needs --listen (the gateway it adds TLS to)");
    if (c->metrics_listen &&
        td_gateway_check_addr("metrics-listen", c->metrics_listen, err, sizeof err) != 0)
        bad(k, "metrics-listen", "%s", err);
    if (c->rest_url && !c->listen)
        bad(k, "rest-url", "--rest-url needs --listen (its gateway serves the snapshots)");
    if (c->rest_url && strncmp(c->rest_url, "http://", 7) != 0 &&
        strncmp(c->rest_url, "https://", 8) != 0)
        bad(k, "rest-url", "--rest-url: expected http(s)://HOST[:PORT], not '%s'", c->rest_url);
    if (c->rest_url && strcmp(c->feed, "alpaca") != 0)
        bad(k, "rest-url", "--rest-url: Alpaca's REST data API only (--feed alpaca)");
    if (c->rest_url && c->source && (!c->key || !*c->key || !c->secret || !*c->secret))
        bad(k, "rest-url",
            "--rest-url needs the vendor's key and secret (APCA_API_KEY_ID, APCA_API_SECRET_KEY)");
    if (!c->listen) return;
    if (td__run_load_clients(a, c, a->config_path) != 0) k->errors++;
    load_jwt(k);
    if (td_gateway_check_addr("listen", c->listen, err, sizeof err) != 0)
        bad(k, "listen", "%s", err);
    if (!c->listen_tls) return;
    if (td_gateway_check_addr("listen-tls", c->listen_tls, err, sizeof err) != 0)
        bad(k, "listen-tls", "%s", err);
    if (!c->tls_cert || !c->tls_key)
        bad(k, "listen-tls", "--listen-tls needs --tls-cert and --tls-key");
    else if (readable(k, "tls-cert", c->tls_cert) + readable(k, "tls-key", c->tls_key) == 2 &&
             td_gateway_check_tls(c->tls_cert, c->tls_key, err, sizeof err) != 0)
        bad(k, "tls-cert", "--tls-cert/--tls-key: %s", err);
}

/* ---- Redis ------------------------------------------------------------------ */

/* A Redis URL of --OPT: parses, and with rediss:// the CA, certificate and
 * key load. Returns its scheme, or -1 (reported). */
static int check_redis_url(check_t *k, const char *opt, const char *url)
{
    const run_cfg *c = &k->a->cfg;
    td_redis_url_t u;
    char err[512];
    int scheme = -1;
    if (td_redis_url_parse(&u, url, err, sizeof err) != 0) {
        bad(k, opt, "--%s: %s", opt, err);
    } else {
        scheme = (int)u.scheme;
        td_rtls_ctx_t *x = NULL;
        int files = (!c->redis_ca_file || readable(k, "redis-ca-file", c->redis_ca_file)) +
                    (!c->redis_cert || readable(k, "redis-cert", c->redis_cert)) +
                    (!c->redis_key || readable(k, "redis-key", c->redis_key));
        if (u.scheme == TD_REDIS_TLS && files == 3 &&
            !(x = td_rtls_ctx_new(c->redis_ca_file, c->redis_cert, c->redis_key, err, sizeof err)))
            bad(k, c->redis_cert ? "redis-cert" : "redis-ca-file", "--%s %s: %s", opt, u.masked,
                err);
        td_rtls_ctx_free(x);
    }
    td_redis_url_free(&u);
    return scheme;
}

static void check_redis(check_t *k, int av)
{
    const run_cfg *c = &k->a->cfg;
    if (c->redis) check_redis_url(k, "redis", c->redis);
    int src = c->source ? check_redis_url(k, "source", c->source) : -1;
    if (src == TD_REDIS_SENTINEL)
        bad(k, "source", "--source takes redis://, rediss://, unix:// or redis+cluster://");
    if (!c->ha_lease) return;
    if (!c->redis || c->source || c->url.n == 0 || av)
        bad(k, "ha-lease",
            "--ha-lease needs --redis and a streaming --url (not --source, not alphavantage)");
    if (strlen(c->ha_lease) == 0 || strlen(c->ha_lease) > 128)
        bad(k, "ha-lease", "--ha-lease: a name of 1 to 128 bytes");
}

/* ---- upstreams ---------------------------------------------------------------- */

int td__run_parse_quota(const char *spec, td_poll_cfg_t *pc)
{
    const char *p = spec;
    while (*p) {
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        if (end == p || *end != '/') return -1;
        p = end + 1;
        double secs;
        if (strncmp(p, "min", 3) == 0)
            secs = 60, p += 3;
        else if (strncmp(p, "day", 3) == 0)
            secs = 86400, p += 3;
        else if (*p == 'h')
            secs = 3600, p += 1;
        else if ((secs = strtod(p, &end)) > 0 && *end == 's')
            p = end + 1;
        else
            return -1;
        if (secs >= 3600) { /* the long window (day) */
            pc->per_day = (uint32_t)n;
            pc->day_s = secs;
        } else { /* the short one (minute) */
            pc->per_minute = (uint32_t)n;
            pc->minute_s = secs;
        }
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return 0;
}

/* Where events come from: one of --url and --source, the vendor's keys,
 * each URL of the dialect. */
static void check_upstream(check_t *k, int polygon, int av)
{
    app_t *a = k->a;
    run_cfg *c = &a->cfg;
    char err[512];
    if (c->source && c->url.n)
        bad(k, "source",
            "--source and --url exclude each other: events come from Redis or from a vendor");
    if (c->source && c->redis)
        bad(k, "source",
            "--source with --redis would publish back what it reads; use one or the other");
    if (!c->source && c->url.n == 0)
        bad(k, NULL,
            "no upstream: give --url ws://HOST:PORT/v2/iex, or --source redis://HOST:PORT (see "
            "tickerd run --help)");
    if (c->source) return;
    if ((polygon || av) && (!c->key || !*c->key))
        bad(k, NULL, "no vendor key: set %s (or key in the config file)",
            polygon ? "POLYGON_API_KEY" : "ALPHAVANTAGE_API_KEY");
    if (!polygon && !av && (!c->key || !*c->key || !c->secret || !*c->secret))
        bad(k, NULL,
            "no vendor credentials: set APCA_API_KEY_ID and APCA_API_SECRET_KEY (or key and "
            "secret in the config file)");
    if (av) {
        td_poll_cfg_t pc = {0};
        if (c->url.n > 1)
            bad(k, "url", "--feed alphavantage takes one --url (http://HOST:PORT/query)");
        if (c->url.n && strncmp(c->url.v[0], "http", 4) != 0)
            bad(k, "url",
                "--feed alphavantage: the REST URL must be http(s)://HOST:PORT/query, "
                "not '%s'",
                c->url.v[0]);
        if (td__run_parse_quota(c->quota, &pc) != 0)
            bad(k, "quota", "--quota: expected N/WINDOW[,N/WINDOW] like 5/min,25/day");
        return;
    }
    for (size_t i = 0; i < c->url.n; i++)
        if (td_feed_check_url(c->feed, c->url.v[i], err, sizeof err) != 0) {
            bad(k, "url", "--url: %s", err);
            k->url_bad = 1;
        }
}

static void check_files(check_t *k)
{
    const run_cfg *c = &k->a->cfg;
    if (c->ca_file) readable(k, "ca-file", c->ca_file); /* else every TLS handshake fails */
}

/* --refill and its options, as td__run_setup_refill reads them. */
static void check_refill(check_t *k)
{
    char err[512], base[512];
    const char *opt;
    td_refill_cfg_t rc;
    if (k->url_bad) return; /* said by check_upstream */
    if (td__run_refill_config(&k->a->cfg, &rc, base, sizeof base, &opt, err, sizeof err) < 0)
        bad(k, opt, "%s", err);
}

int td__run_check(app_t *a, const td_opts_t *o)
{
    check_t k = {a, o, 0, 0};
    run_cfg *c = &a->cfg;
    char err[512];
    int polygon = strcmp(c->feed, "polygon") == 0, av = strcmp(c->feed, "alphavantage") == 0;
    if (!polygon && !av && strcmp(c->feed, "alpaca") != 0) {
        bad(&k, "feed", "unknown --feed '%s' (alpaca, polygon or alphavantage)", c->feed);
        return -1; /* what follows depends on the dialect */
    }
    /* A vendor's own variable wins over the generic key (not over --key). */
    const char *vkey = getenv(polygon ? "POLYGON_API_KEY" : "ALPHAVANTAGE_API_KEY");
    if ((polygon || av) && vkey && *vkey && !a->key_flag) {
        free(c->key);
        c->key = td_xstrdup(vkey);
    }
    check_upstream(&k, polygon, av);
    check_redis(&k, av);
    check_files(&k);
    check_gateway(&k);
    check_refill(&k);
    if (!c->redis && !c->to_stdout && !c->listen)
        TD_WARN("no sink: add --redis URL, --stdout or --listen ADDR:PORT");
    const char *spec = c->subscribe ? c->subscribe
                       : c->listen  ? ""
                                    : "trades=*;quotes=*;bars=*;statuses=*";
    if (td_subset_parse(&a->subs, spec, err, sizeof err) != 0)
        bad(&k, "subscribe", "--subscribe: %s", err);
    else if ((c->redis || c->to_stdout) && td_subset_empty(&a->subs))
        TD_WARN("nothing is subscribed upstream but what gateway clients ask for%s: --redis and "
                "--stdout publish only that (give --subscribe to publish a fixed set)",
                c->subscribe ? "" : " (the default with --listen)");
    return k.errors ? -1 : 0;
}
