/* SPDX-License-Identifier: Apache-2.0 */
#include "core/opt.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *const td_opt_known_sections[] = {"run", "sim", "backfill", "clients", NULL};

#define FIELD(cfg, opt, type) ((type *)((char *)(cfg) + (opt)->offset))

/* td_opts_origin: "FILE:LINE" per option of the last parse ("" if not from
 * the file). One parse at a time: the process parses its options once. */
#define MAX_ORIGINS 256
static char origins[MAX_ORIGINS][160];
static const td_opts_t *origins_of;

void td_strlist_push(td_strlist_t *l, const char *s)
{
    l->v = td_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = td_xstrdup(s);
}

void td_strlist_free(td_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static const td_opt_t *find(const td_opts_t *o, const char *name)
{
    for (const td_opt_t *t = o->table; t->name; t++)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

/* Levenshtein distance of a and b (each at most 63 bytes considered). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strnlen(a, 63), nb = strnlen(b, 63), row[64];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The option of o nearest to name by edit distance, if near enough to be
 * a typo; NULL otherwise. */
static const char *nearest(const td_opts_t *o, const char *name)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, len = strlen(name);
    for (const td_opt_t *t = o->table; t->name; t++) {
        size_t d = edit_distance(name, t->name);
        if (d < best_d) best_d = d, best = t->name;
    }
    return best && (best_d <= 2 || best_d * 4 <= len) ? best : NULL;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"1", "yes", "true", "on"}, *no[] = {"0", "no", "false", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int set_value(const td_opt_t *t, void *cfg, const char *v, char *err, size_t errlen)
{
    char *end;
    switch (t->type) {
    case TD_OPT_STR: {
        char **p = FIELD(cfg, t, char *);
        free(*p);
        *p = td_xstrdup(v);
        return 0;
    }
    case TD_OPT_LIST:
        td_strlist_push(FIELD(cfg, t, td_strlist_t), v);
        return 0;
    case TD_OPT_BOOL:
        if (parse_bool(v, FIELD(cfg, t, int)) == 0) return 0;
        snprintf(err, errlen, "bad value for '%s': expected yes or no, got '%s'", t->name, v);
        return -1;
    case TD_OPT_INT: {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || (double)n < t->min || (double)n > t->max) {
            snprintf(err, errlen,
                     "bad value for '%s': expected an integer in [%.0f, %.0f], got '%s'", t->name,
                     t->min, t->max, v);
            return -1;
        }
        *FIELD(cfg, t, int64_t) = n;
        return 0;
    }
    case TD_OPT_DOUBLE: {
        errno = 0;
        double d = strtod(v, &end);
        /* Durations may carry a unit: 20s, 250ms, 2min, 1h (seconds if none). */
        if ((t->flags & TD_OPT_DURATION) && end != v && *end) {
            if (strcmp(end, "s") == 0)
                end += 1;
            else if (strcmp(end, "ms") == 0)
                d /= 1000, end += 2;
            else if (strcmp(end, "min") == 0)
                d *= 60, end += 3;
            else if (strcmp(end, "h") == 0)
                d *= 3600, end += 1;
        }
        if ((t->flags & TD_OPT_DURATION) && end != v && *end) {
            /* "2m" could be minutes or a slip for ms: never guess */
            snprintf(err, errlen,
                     "bad value for '%s': unknown unit in '%s' (units: ms, s, min, h)%s%.*s%s",
                     t->name, v, strcmp(end, "m") == 0 ? "; did you mean " : "",
                     strcmp(end, "m") == 0 ? (int)(end - v) : 0, v,
                     strcmp(end, "m") == 0 ? "min?" : "");
            return -1;
        }
        if (errno || end == v || *end || !isfinite(d) || d < t->min || d > t->max) {
            snprintf(err, errlen, "bad value for '%s': expected a number in [%g, %g], got '%s'",
                     t->name, t->min, t->max, v);
            return -1;
        }
        *FIELD(cfg, t, double) = d;
        return 0;
    }
    }
    return -1;
}

int td_opts_set(const td_opts_t *o, void *cfg, const char *name, const char *value, char *err,
                size_t errlen)
{
    const td_opt_t *t = find(o, name);
    if (!t) {
        snprintf(err, errlen, "unknown option '%s'", name);
        return -1;
    }
    return set_value(t, cfg, value, err, errlen);
}

void td_opts_defaults(const td_opts_t *o, void *cfg)
{
    char err[256];
    for (const td_opt_t *t = o->table; t->name; t++) {
        if (t->def && set_value(t, cfg, t->def, err, sizeof err) != 0) {
            fprintf(stderr, "tickerd: internal error: default of --%s: %s\n", t->name, err);
            abort();
        }
    }
}

/* ---- INI files -------------------------------------------------------------- */

typedef struct {
    FILE *f;
    int line;     /* lines read whole */
    size_t cur;   /* bytes of the current line so far */
    int too_long; /* the current line does not fit: stop */
} ini_stream;

/* inih's fgets-style reader, counting lines: a line that would not fit in
 * inih's buffer ends the parse instead of being split into two lines. */
static char *ini_read(char *str, int num, void *stream)
{
    ini_stream *s = stream;
    if (s->too_long || !fgets(str, num, s->f)) return NULL;
    size_t n = strlen(str);
    s->cur += n;
    if (n && str[n - 1] == '\n') {
        s->line++;
        s->cur = 0;
    } else if (s->cur >= (size_t)TD_INI_MAX_LINE - 3 && !feof(s->f)) {
        s->too_long = 1;
        return NULL;
    }
    return str;
}

/* The stream being parsed, for the handler's line number. */
static const ini_stream *ini_cur;

/* The line of the key the handler is called for. */
static int ini_line(void)
{
    return ini_cur ? ini_cur->line + (ini_cur->cur > 0) : 0;
}

int td_ini_parse(const char *path, ini_handler handler, void *user, char *why, size_t whylen)
{
    ini_stream s = {fopen(path, "r"), 0, 0, 0};
    if (!s.f) return -1;
    const ini_stream *outer = ini_cur;
    ini_cur = &s;
    /* Debian's inih takes these at run time: a heap buffer grown up to
     * TD_INI_MAX_LINE, and no continuation lines (an indented "key = value"
     * would otherwise extend the previous key's value). */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = TD_INI_MAX_LINE;
    ini_allow_multiline = false;
    int rc = ini_parse_stream(ini_read, &s, handler, user);
    ini_cur = outer;
    fclose(s.f);
    if (why && whylen) *why = '\0';
    if (s.too_long) {
        if (why) snprintf(why, whylen, "line longer than %d bytes", TD_INI_MAX_LINE - 3);
        return s.line + 1;
    }
    if (rc == -2) {
        if (why) snprintf(why, whylen, "out of memory");
        return 1;
    }
    return rc;
}

typedef struct {
    const td_opts_t *o;
    void *cfg;
    const char *path;
    char *err;
    size_t errlen;
    int failed;
    int secrets; /* the file holds a secret (a TD_OPT_SECRET key or [clients]) */
} file_ctx;

static void set_origin(const td_opts_t *o, const td_opt_t *t, const char *path, int line);

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    file_ctx *c = user;
    if (c->failed) return 1; /* keep the first error only */
    if (strcmp(section, "clients") == 0) {
        c->secrets = 1;
        if (td_opt_check_credential(name, value, c->err, c->errlen) == 0) return 1;
        c->failed = 1;
        return 0;
    }
    if (strcmp(section, c->o->section) != 0) {
        for (int i = 0; td_opt_known_sections[i]; i++)
            if (strcmp(section, td_opt_known_sections[i]) == 0) return 1; /* another command's */
        c->failed = 1;
        if (!*section)
            snprintf(c->err, c->errlen, "key '%s' outside a section (start with [%s])", name,
                     c->o->section);
        else
            snprintf(c->err, c->errlen, "unknown section [%s]", section);
        return 0;
    }
    const td_opt_t *t = find(c->o, name);
    if (!t) {
        const char *near = nearest(c->o, name);
        c->failed = 1;
        snprintf(c->err, c->errlen, "unknown key '%s' in [%s]%s%s%s", name, section,
                 near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
        return 0;
    }
    if (t->flags & TD_OPT_SECRET) c->secrets = 1;
    if (set_value(t, c->cfg, value, c->err, c->errlen) != 0) {
        c->failed = 1;
        return 0;
    }
    set_origin(c->o, t, c->path, ini_line());
    return 1;
}

static void set_origin(const td_opts_t *o, const td_opt_t *t, const char *path, int line)
{
    size_t i = (size_t)(t - o->table);
    if (o != origins_of || i >= MAX_ORIGINS) return;
    if (path)
        snprintf(origins[i], sizeof origins[i], "%s:%d", path, line);
    else
        origins[i][0] = '\0';
}

const char *td_opts_origin(const td_opts_t *o, const char *name)
{
    const td_opt_t *t = find(o, name);
    size_t i = t ? (size_t)(t - o->table) : MAX_ORIGINS;
    return o == origins_of && i < MAX_ORIGINS && origins[i][0] ? origins[i] : NULL;
}

/* Secrets in a file every user may read: say so (once per load). */
static void warn_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        TD_WARN("%s holds secrets and every user of this machine may read it (mode %03o); "
                "chmod o-r (e.g. 600) it",
                path, (unsigned)(st.st_mode & 0777));
}

int td_opts_load_file(const td_opts_t *o, void *cfg, const char *path, char *err, size_t errlen)
{
    char msg[256] = "", why[64];
    file_ctx c = {o, cfg, path, msg, sizeof msg, 0, 0};
    int rc = td_ini_parse(path, on_ini, &c, why, sizeof why);
    if (rc == -1) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, rc, *why ? why : c.failed ? msg : "syntax error");
        return -1;
    }
    if (c.secrets) warn_readable(path);
    return 0;
}

static int key_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

int td_opt_check_credential(const char *key, const char *secret, char *err, size_t errlen)
{
    size_t nk = strlen(key), ns = strlen(secret);
    if (!nk || !ns || nk > 256 || ns > 256) {
        snprintf(err, errlen, "a client key and secret must be 1 to 256 characters");
        return -1;
    }
    for (size_t i = 0; i < nk; i++)
        if (!key_char((unsigned char)key[i])) {
            snprintf(err, errlen, "bad client key '%s': letters, digits, '_', '-' and '.' only",
                     key);
            return -1;
        }
    for (size_t i = 0; i < ns; i++) {
        unsigned char ch = (unsigned char)secret[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '=' || ch == ':') {
            snprintf(err, errlen,
                     "bad secret for client key '%s': printable characters without spaces, "
                     "'=' or ':' only (a ':' in the key line splits it there)",
                     key);
            return -1;
        }
    }
    return 0;
}

static void apply_env(const td_opts_t *o, void *cfg, const unsigned char *given)
{
    int i = 0;
    char err[256];
    for (const td_opt_t *t = o->table; t->name; t++, i++) {
        const char *v = t->env ? getenv(t->env) : NULL;
        if (!v || !*v || given[i]) continue;
        if (set_value(t, cfg, v, err, sizeof err) != 0)
            TD_WARN("ignoring $%s: %s", t->env, err);
        else
            set_origin(o, t, NULL, 0);
    }
}

/* One flag at argv[*i] ("--name", "--name=value", "--name value" or, for a
 * bool, "--no-name"), its value consuming argv[*i + 1] if needed. */
static int parse_flag(const td_opts_t *o, void *cfg, int argc, char **argv, int *i,
                      unsigned char *given, char *err, size_t errlen)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
        return -1;
    }
    char name[64];
    const char *eq = strchr(a + 2, '='), *val = NULL;
    size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (nl >= sizeof name) nl = sizeof name - 1;
    memcpy(name, a + 2, nl);
    name[nl] = '\0';
    const td_opt_t *t = find(o, name);
    int negate = 0;
    if (!t && strncmp(name, "no-", 3) == 0) {
        t = find(o, name + 3);
        if (t && t->type == TD_OPT_BOOL)
            negate = 1;
        else
            t = NULL;
    }
    if (!t) {
        const char *near = nearest(o, name);
        snprintf(err, errlen, "unknown option --%s%s%s%s (see --help)", name,
                 near ? "; did you mean --" : "", near ? near : "", near ? "?" : "");
        return -1;
    }
    if (t->type == TD_OPT_BOOL && !eq) {
        val = negate ? "no" : "yes";
    } else if (eq) {
        val = eq + 1;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        snprintf(err, errlen, "--%s needs a value", name);
        return -1;
    }
    if (t->flags & TD_OPT_SECRET)
        TD_WARN("--%s on the command line is visible to other users; prefer %s%s%sthe "
                "config file",
                t->name, t->env ? "$" : "", t->env ? t->env : "", t->env ? " or " : "");
    if (t->type == TD_OPT_LIST && !given[t - o->table]) /* flags replace the file's list */
        td_strlist_free(FIELD(cfg, t, td_strlist_t));
    if (set_value(t, cfg, val, err, errlen) != 0) return -1;
    set_origin(o, t, NULL, 0);
    given[t - o->table] = 1;
    return 0;
}

/* Options named log-level and log-format configure the log (core/log.h). */
static int setup_log(const td_opts_t *o, void *cfg, char *err, size_t errlen)
{
    const td_opt_t *lvl = find(o, "log-level"), *fmt = find(o, "log-format");
    if (!lvl && !fmt) return 0;
    return td_log_setup(lvl ? *FIELD(cfg, lvl, char *) : NULL,
                        fmt ? *FIELD(cfg, fmt, char *) : NULL, err, errlen);
}

static int parse_all(const td_opts_t *o, void *cfg, int argc, char **argv, char *err, size_t errlen,
                     int own_check);

/* Warnings of the parse itself are held until the log format is known. */
int td_opts_parse(const td_opts_t *o, void *cfg, int argc, char **argv, char *err, size_t errlen)
{
    td_log_hold(1);
    int rc = parse_all(o, cfg, argc, argv, err, errlen, 0);
    td_log_hold(0);
    return rc;
}

int td_opts_parse_checked(const td_opts_t *o, void *cfg, int argc, char **argv, char *err,
                          size_t errlen)
{
    td_log_hold(1);
    int rc = parse_all(o, cfg, argc, argv, err, errlen, 1);
    td_log_hold(0);
    return rc;
}

static int parse_all(const td_opts_t *o, void *cfg, int argc, char **argv, char *err, size_t errlen,
                     int own_check)
{
    size_t nopts = 0;
    for (const td_opt_t *t = o->table; t->name; t++)
        nopts++;
    unsigned char *given = td_xcalloc(nopts + 1, 1);
    td_opts_defaults(o, cfg);
    origins_of = o;
    memset(origins, 0, sizeof origins);

    /* First pass: help and the config file, which flags then override. */
    int check = 0;
    for (int i = 1; i < argc; i++) {
        check |= strcmp(argv[i], "--check-config") == 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            td_opts_help(o, stdout);
            free(given);
            return 1;
        }
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a file name", argv[i]);
                goto fail;
            }
            if (td_opts_load_file(o, cfg, argv[++i], err, errlen) != 0) goto fail;
        }
    }
    /* Second pass: flags; mark them given so the environment does not win. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--check-config") == 0) continue;
        if (parse_flag(o, cfg, argc, argv, &i, given, err, errlen) != 0) goto fail;
    }
    apply_env(o, cfg, given);
    free(given);
    if (setup_log(o, cfg, err, errlen) != 0) return -1;
    if (check && own_check) return TD_OPTS_CHECK;
    if (check) { /* the file, environment and flags are valid: nothing started */
        printf("tickerd %s: configuration ok\n", o->section);
        return 1;
    }
    return 0;
fail:
    free(given);
    return -1;
}

void td_opts_help(const td_opts_t *o, FILE *out)
{
    fprintf(out, "%s\n\n%s\n\nOptions (also as keys of section [%s] in the -c file):\n", o->usage,
            o->about, o->section);
    fprintf(out, "  -c, --config FILE         INI file; flags override it\n");
    fprintf(out,
            "  --check-config            check the file and flags, start nothing: exit 0 or 2\n");
    for (const td_opt_t *t = o->table; t->name; t++) {
        char lhs[64];
        if (t->type == TD_OPT_BOOL)
            snprintf(lhs, sizeof lhs, "--[no-]%s", t->name);
        else
            snprintf(lhs, sizeof lhs, "--%s %s", t->name, t->arg ? t->arg : "VALUE");
        fprintf(out, "  %-24s  %s", lhs, t->help);
        if (t->def && !(t->flags & TD_OPT_SECRET)) fprintf(out, " (default: %s)", t->def);
        if (t->env) fprintf(out, " [env %s]", t->env);
        if (t->type == TD_OPT_LIST) fprintf(out, " [repeatable]");
        fputc('\n', out);
    }
    fprintf(out, "  -h, --help                this text\n");
}

void td_opts_free(const td_opts_t *o, void *cfg)
{
    for (const td_opt_t *t = o->table; t->name; t++) {
        if (t->type == TD_OPT_STR) {
            char **p = FIELD(cfg, t, char *);
            free(*p);
            *p = NULL;
        } else if (t->type == TD_OPT_LIST) {
            td_strlist_free(FIELD(cfg, t, td_strlist_t));
        }
    }
}
