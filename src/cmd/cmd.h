/* Subcommand entry points: argv[0] is the subcommand name. Each returns the
 * process exit code. */
#ifndef TD_CMD_H
#define TD_CMD_H

int td_cmd_run(int argc, char **argv);
int td_cmd_sim(int argc, char **argv);
int td_cmd_backfill(int argc, char **argv);

#endif
