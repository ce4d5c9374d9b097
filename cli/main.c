/*
 * main.c - entry of the `corral` command: dispatches to subcommands listed in
 * cli.h and prints the top-level help.
 */
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    corral_cli_cmd_fn fn;
    const char *summary;
} command_t;

#define CORRAL_CLI_ENTRY_(name, summary) {#name, corral_cli_##name, summary},
static const command_t commands[] = {CORRAL_CLI_COMMANDS(CORRAL_CLI_ENTRY_)};
#undef CORRAL_CLI_ENTRY_

static void usage(FILE *out) {
    fprintf(out, "usage: corral <command> [options]\n\n"
                 "Corral runs signed WebAssembly actors and binds them to capability providers.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'corral <command> --help' describes a command, its options and exit codes.\n"
                 "exit codes: 0 success, 1 failed, 2 usage error, 3 bad input, 4 internal error\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CORRAL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    }
    corral_cli_error("unknown command '%s' (see 'corral --help')", argv[1]);
    return CORRAL_EXIT_USAGE;
}
