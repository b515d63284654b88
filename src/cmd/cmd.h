/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommand entry points: argv[0] is the subcommand name. Each returns the
 * process exit code. */
#ifndef TD_CMD_H
#define TD_CMD_H

int td_cmd_run(int argc, char **argv);
int td_cmd_sim(int argc, char **argv);
int td_cmd_replay(int argc, char **argv);
int td_cmd_backfill(int argc, char **argv);
int td_cmd_config(int argc, char **argv);
int td_cmd_version(void);

/* The options tables, for the documents generated from them. */
#include "core/opt.h"
const td_opts_t *td_cmd_run_opts(void);
const td_opts_t *td_cmd_sim_opts(void);
const td_opts_t *td_cmd_replay_opts(void);

/* sim.c: serves cfg (the simulator, or recordings) until SIGINT/SIGTERM;
 * the exit code. `cmd` names the command in error messages. */
struct td_sim_cfg_s;
int td__cmd_sim_serve(const struct td_sim_cfg_s *cfg, const char *cmd);
const td_opts_t *td_cmd_backfill_opts(void);

#endif
