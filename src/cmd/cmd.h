/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommand entry points: argv[0] is the subcommand name. Each returns the
 * process exit code. */
#ifndef TD_CMD_H
#define TD_CMD_H

int td_cmd_run(int argc, char **argv);
int td_cmd_sim(int argc, char **argv);
int td_cmd_backfill(int argc, char **argv);
int td_cmd_config(int argc, char **argv);
int td_cmd_version(void);

/* The options tables, for the documents generated from them. */
#include "core/opt.h"
const td_opts_t *td_cmd_run_opts(void);
const td_opts_t *td_cmd_sim_opts(void);
const td_opts_t *td_cmd_backfill_opts(void);

#endif
