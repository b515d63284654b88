/* SPDX-License-Identifier: Apache-2.0 */
/* Documents generated from the options tables (the ones that drive flags,
 * INI keys, the environment and --help): the configuration reference
 * (Markdown), a commented example INI file, the tickerd(1) man page (roff)
 * and bash completion. Pure writers: the same tables give the same bytes. */
#ifndef TD_CORE_OPT_DOC_H
#define TD_CORE_OPT_DOC_H

#include "core/opt.h"

#include <stdio.h>

typedef struct td_opt_doc_s {
    const char *summary;          /* one line: what the program is */
    const char *description;      /* a paragraph (plain text, blank lines split) */
    const td_opts_t *const *cmds; /* NULL-terminated */
    const char *const *cmd_help;  /* one line per cmds[i] */
    const char *const *extra;     /* other commands: "name", "one line", ..., NULL */
} td_opt_doc_t;

void td_opt_doc_markdown(const td_opt_doc_t *d, FILE *out);
void td_opt_doc_ini(const td_opt_doc_t *d, FILE *out);
void td_opt_doc_man(const td_opt_doc_t *d, FILE *out);
void td_opt_doc_bash(const td_opt_doc_t *d, FILE *out);

#endif
