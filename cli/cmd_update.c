/*
 * cmd_update.c - `corral update actor`: live update of a running actor to a
 * newly signed module (same module key, higher revision) through the
 * control socket (docs/control.md). Calls in flight finish on the old
 * version; nothing is refused.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control_client.h"

static void update_usage(FILE *out) {
    fprintf(out,
            "usage: corral update actor <key or call alias> <module.wasm> [--run-dir D]\n\n"
            "Replaces a running actor by a new version without dropping calls. The new\n"
            "module must be signed for the same module key with a strictly higher --rev;\n"
            "a change in its capabilities is reported.\n"
            "  --run-dir D  the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "               /tmp/corral-<uid>)\n\n"
            "exit codes: 0 updated, 1 refused (other key, revision not higher, claims do not\n"
            "            verify), no such actor or no host running, 2 usage error, 3 module\n"
            "            file missing or malformed, 4 internal error\n");
}

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_update(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    static const struct option opts[] = {{"run-dir", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "R:h", opts, NULL)) != -1) {
        switch (c) {
        case 'R': run_dir = optarg; break;
        case 'h': update_usage(stdout); return CORRAL_EXIT_OK;
        default: update_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 3 || strcmp(argv[optind], "actor") != 0) {
        corral_cli_error("usage: corral update actor <key or alias> <module.wasm> (see 'corral update --help')");
        return CORRAL_EXIT_USAGE;
    }
    char *abs = realpath(argv[optind + 2], NULL);
    if (!abs) {
        corral_cli_error("%s: %s", argv[optind + 2], strerror(errno));
        return CORRAL_EXIT_INPUT;
    }
    json_t *res = NULL;
    int rc = corral_ctl_cli(
        run_dir, json_pack("{s:s, s:s, s:s}", "op", "update_actor", "actor", argv[optind + 1], "path", abs),
        &res);
    free(abs);
    if (rc != CORRAL_EXIT_OK) return rc;
    json_t *o = json_object_get(res, "old_rev"), *n = json_object_get(res, "new_rev");
    json_t *pause = json_object_get(res, "swap_pause_us");
    printf("updated actor %s: rev %lld -> %lld (swap pause %lld us)%s\n",
           json_string_value(json_object_get(res, "key")),
           json_is_integer(o) ? (long long)json_integer_value(o) : 0,
           json_is_integer(n) ? (long long)json_integer_value(n) : 0,
           json_is_integer(pause) ? (long long)json_integer_value(pause) : 0,
           json_is_true(json_object_get(res, "caps_changed")) ? "; its capabilities changed" : "");
    json_decref(res);
    return CORRAL_EXIT_OK;
}
