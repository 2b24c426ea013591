/* Subcommands of the boson CLI. Each takes argv starting at the command name. */
#ifndef BOSON_CLI_CLI_H
#define BOSON_CLI_CLI_H

enum { BS_EXIT_OK = 0, BS_EXIT_USAGE = 1, BS_EXIT_LOAD = 2, BS_EXIT_RUNTIME = 3 };

int bs_cmd_inspect(int argc, char **argv);

#endif
