/*
 * cmd_link.c - `corral link put|del`: make or remove a link between an actor
 * and a capability contract (with a link name and values) on a running host,
 * through the control socket (docs/control.md).
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "control_client.h"

static void link_usage(FILE *out) {
    fprintf(out,
            "usage: corral link put <actor> <contract id> [--link-name N] [K=V]... [--run-dir D]\n"
            "       corral link del <actor> <contract id> [--link-name N] [--run-dir D]\n\n"
            "put  links an actor (module key or call alias) to the provider serving the\n"
            "     contract under the link name (default 'default'), with values K=V (also\n"
            "     --value K=V), e.g. 'corral link put kvcounter wasmcloud:httpserver PORT=8080'.\n"
            "     A link to a provider that is not running yet is kept until it starts.\n"
            "del  removes the link; the actor's calls to that contract then fail fast.\n"
            "  --run-dir D  the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "               /tmp/corral-<uid>)\n\n"
            "exit codes: 0 done, 1 refused (no such actor or link, the provider rejected the\n"
            "            values) or no host running, 2 usage error, 4 internal error\n");
}

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_link(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    static const struct option opts[] = {{"link-name", required_argument, NULL, 'l'},
                                         {"value", required_argument, NULL, 'v'},
                                         {"run-dir", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL, *link_name = "default";
    json_t *values = NULL, *req = NULL;
    int c, rc = CORRAL_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:v:R:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': link_name = optarg; break;
        case 'v':
            if ((rc = corral_ctl_add_kv(&values, optarg, "--value")) != CORRAL_EXIT_OK) goto done;
            rc = CORRAL_EXIT_USAGE;
            break;
        case 'R': run_dir = optarg; break;
        case 'h': link_usage(stdout); rc = CORRAL_EXIT_OK; goto done;
        default: link_usage(stderr); goto done;
        }
    }
    int npos = argc - optind;
    const char *what = npos > 0 ? argv[optind] : "";
    int put = strcmp(what, "put") == 0, del = strcmp(what, "del") == 0;
    if ((!put && !del) || npos < 3 || (del && npos != 3)) {
        corral_cli_error("usage: corral link put|del <actor> <contract id> ... (see 'corral link --help')");
        goto done;
    }
    if (del && values) {
        corral_cli_error("link del takes no values");
        goto done;
    }
    for (int i = optind + 3; i < argc; i++)
        if ((rc = corral_ctl_add_kv(&values, argv[i], "value")) != CORRAL_EXIT_OK) goto done;
    const char *actor = argv[optind + 1], *contract = argv[optind + 2];
    req = json_pack("{s:s, s:s, s:s, s:s}", "op", put ? "link_put" : "link_del", "actor", actor,
                    "contract_id", contract, "link_name", link_name);
    if (put && !values) values = json_object();
    if (req && put) json_object_set(req, "values", values);
    rc = corral_ctl_cli(run_dir, req, NULL);
    req = NULL;
    if (rc == CORRAL_EXIT_OK)
        printf("%s %s -> %s (link name %s)\n", put ? "linked" : "unlinked", actor, contract, link_name);
done:
    json_decref(req);
    json_decref(values);
    return rc;
}
