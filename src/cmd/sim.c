#include "cmd/cmd.h"

#include <stdio.h>

int td_cmd_sim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tickerd sim: not built yet\n");
    return 1;
}
