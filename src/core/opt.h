/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven options: one table per subcommand drives command-line flags,
 * the INI file section of the same name, environment fallbacks and --help,
 * so the three can never disagree. Precedence: default < file < env < flag. */
#ifndef TD_CORE_OPT_H
#define TD_CORE_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    TD_OPT_STR,    /* char * (owned by the config; NULL if unset) */
    TD_OPT_INT,    /* int64_t */
    TD_OPT_DOUBLE, /* double; with TD_OPT_DURATION, seconds ("20s", "250ms", "2min", "1h") */
    TD_OPT_BOOL,   /* int: --name / --no-name; file: yes/no/true/false/1/0 */
    TD_OPT_LIST,   /* td_strlist_t: repeatable, each occurrence appends */
} td_opt_type_t;

enum {
    TD_OPT_SECRET = 1 << 0,   /* never printed; flag use warns (visible in ps) */
    TD_OPT_DURATION = 1 << 1, /* TD_OPT_DOUBLE in seconds: may end in s, ms, min or h */
};

typedef struct td_strlist_s {
    char **v;
    size_t n;
} td_strlist_t;

typedef struct td_opt_s {
    const char *name; /* flag --name and INI key name */
    td_opt_type_t type;
    size_t offset;   /* of the field in the config struct */
    double min, max; /* for INT and DOUBLE */
    const char *def; /* default, as text; NULL for none */
    const char *arg; /* metavar for --help, e.g. "ADDR" */
    const char *env; /* environment variable consulted if not given as a flag */
    unsigned flags;
    const char *help;
} td_opt_t;

#define TD_OPT_END                                                                                 \
    {                                                                                              \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0, NULL                                                \
    }

typedef struct td_opts_s {
    const char *section; /* "run", "sim", ... */
    const td_opt_t *table;
    const char *usage; /* first line of --help */
    const char *about; /* paragraph after it */
} td_opts_t;

#define TD_OPTS_CHECK 2

/* Parses defaults, then `-c FILE` (if given in argv), then the environment,
 * then the flags. Returns 0, 1 if --help was printed or --check-config found
 * everything valid (caller exits 0), or -1
 * with a one-line message in err. argv[0] is the subcommand name. */
int td_opts_parse(const td_opts_t *o, void *cfg, int argc, char **argv, char *err, size_t errlen);
/* The same for a subcommand that checks more than its options (how they
 * combine, the files they name): with --check-config and valid options it
 * returns TD_OPTS_CHECK instead of printing "configuration ok" itself. */
int td_opts_parse_checked(const td_opts_t *o, void *cfg, int argc, char **argv, char *err,
                          size_t errlen);

/* Where option `name` got its value in the last td_opts_parse: "FILE:LINE"
 * if from the -c file (and neither the environment nor a flag replaced it),
 * else NULL (a flag, the environment or the default). */
const char *td_opts_origin(const td_opts_t *o, const char *name);

/* Lower-level steps, exposed for tests. */
void td_opts_defaults(const td_opts_t *o, void *cfg);
int td_opts_load_file(const td_opts_t *o, void *cfg, const char *path, char *err, size_t errlen);
int td_opts_set(const td_opts_t *o, void *cfg, const char *name, const char *value, char *err,
                size_t errlen);
void td_opts_help(const td_opts_t *o, FILE *out);
void td_opts_free(const td_opts_t *o, void *cfg);

/* Parses an INI file with inih (sections, KEY = VALUE, ; and # comments),
 * reading whole lines of up to TD_INI_MAX_LINE - 3 bytes: a longer line is
 * an error, never split. No continuation lines. Returns 0, -1 if the file
 * cannot be opened (errno), or the line number of the first error; then
 * `why` holds the reason if it is not the handler's nor a syntax error. */
#define TD_INI_MAX_LINE 65536
typedef int (*td_ini_handler)(void *user, const char *section, const char *name, const char *value);
int td_ini_parse(const char *path, td_ini_handler handler, void *user, char *why, size_t whylen);

/* Client credentials (KEY:SECRET, [clients] KEY = SECRET): a key of
 * letters, digits, '_', '-', '.'; a secret of printable ASCII without
 * spaces, '=' or ':'; each 1-256 characters. 0, or -1 with err. */
int td_opt_check_credential(const char *key, const char *secret, char *err, size_t errlen);

void td_strlist_push(td_strlist_t *l, const char *s);
void td_strlist_free(td_strlist_t *l);

/* Sections other subcommands own: a file may hold them all. */
extern const char *const td_opt_known_sections[];

#endif
