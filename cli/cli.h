/*
 * cli.h - what the `corral` command's parts share: the command table, exit
 * codes and small helpers. The CLI only parses arguments and prints; all
 * work goes through the public headers of the other modules.
 */
#ifndef CORRAL_CLI_H
#define CORRAL_CLI_H

#include <stdio.h>

#include "corral_base.h"

/* Exit codes shared by every command (documented in each --help). */
enum {
    CORRAL_EXIT_OK = 0,      /* success */
    CORRAL_EXIT_FAIL = 1,    /* the operation ran and failed (verification, guest error, trap) */
    CORRAL_EXIT_USAGE = 2,   /* bad arguments */
    CORRAL_EXIT_INPUT = 3,   /* a file is missing, unreadable or malformed; a key is bad */
    CORRAL_EXIT_INTERNAL = 4 /* out of memory or an unexpected internal failure */
};

/* A subcommand: argv[0] is the subcommand's own name. Returns an exit code. */
typedef int (*corral_cli_cmd_fn)(int argc, char **argv);

/* Prints "corral: <msg>" to stderr. */
void corral_cli_error(const char *fmt, ...) CORRAL_PRINTF(1, 2);

/* Parses an option's value as a whole decimal number in [min, max]: digits
 * only (no sign, no spaces). On success stores it and returns 1; otherwise
 * prints "<opt> needs a whole number from <min> to <max>, not '<s>'" and
 * returns 0 (the caller exits with CORRAL_EXIT_USAGE). */
int corral_cli_parse_uint(const char *opt, const char *s, unsigned long long min,
                          unsigned long long max, unsigned long long *out);

/* Maps a status to an exit code (input errors vs. failures vs. internal). */
int corral_cli_exit_for(corral_status_t st);

/* Every subcommand, each defined in its own cmd_*.c file. */
#define CORRAL_CLI_COMMANDS(X)                                                                     \
    X(keys, "make keys and read public keys from seeds")                                           \
    X(claims, "sign, inspect and verify actor modules")                                            \
    X(spectest, "run WebAssembly core spec test scripts against the engine")                       \
    X(wasm, "run or validate a plain WebAssembly module")                                          \
    X(compile, "compile a module ahead of time into a native artifact")                            \
    X(call, "make one waPC call into an actor module, without a host")                             \
    X(up, "run a host in the foreground, applying a manifest")                                     \
    X(get, "show a running host's inventory")                                                      \
    X(top, "a live view of a running host's actors: calls/s, errors, latency")                    \
    X(ui, "serve a web dashboard of a running host on a loopback port")                           \
    X(start, "start an actor or a provider on a running host")                                     \
    X(stop, "stop an actor, a provider or the host")                                               \
    X(update, "live-update a running actor to a new revision")                                     \
    X(link, "link or unlink an actor and a capability provider")                                   \
    X(new, "scaffold a new actor project (C or AssemblyScript)")                                   \
    X(build, "compile and sign an actor project")                                                  \
    X(run, "build an actor project, serve it locally, live-update it on every change")              \
    X(watch, "print a lattice's events as they come (corral watch events)")

#define CORRAL_CLI_DECLARE_(name, summary) int corral_cli_##name(int argc, char **argv);
CORRAL_CLI_COMMANDS(CORRAL_CLI_DECLARE_)
#undef CORRAL_CLI_DECLARE_

#endif
