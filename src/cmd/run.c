#include "cmd/cmd.h"

#include <stdio.h>

int td_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tickerd run: not built yet\n");
    return 1;
}
