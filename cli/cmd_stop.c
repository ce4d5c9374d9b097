/*
 * cmd_stop.c - `corral stop actor|provider|host`: asks a running host
 * (control socket, docs/control.md) to stop an actor, a provider instance,
 * or itself (it then drains its calls and exits).
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"

static void stop_usage(FILE *out) {
    fprintf(out,
            "usage: corral stop actor <key or call alias> [--run-dir D]\n"
            "       corral stop provider <service key V...> [--run-dir D]\n"
            "       corral stop host [--wait] [--run-dir D]\n\n"
            "actor     stops the actor; its links are kept and apply again when it starts\n"
            "provider  stops a provider instance; calls to its contract then fail fast\n"
            "host      asks the host to drain its calls and exit; --wait returns only when\n"
            "          its control socket is gone (at most 60 s)\n"
            "  --run-dir D  the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "               /tmp/corral-<uid>)\n\n"
            "exit codes: 0 stopped, 1 no such actor or provider, no host running, or the wait\n"
            "            timed out, 2 usage error, 4 internal error\n");
}

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_stop(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    static const struct option opts[] = {{"run-dir", required_argument, NULL, 'R'},
                                         {"wait", no_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL;
    int c, wait = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "R:wh", opts, NULL)) != -1) {
        switch (c) {
        case 'R': run_dir = optarg; break;
        case 'w': wait = 1; break;
        case 'h': stop_usage(stdout); return CORRAL_EXIT_OK;
        default: stop_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    int npos = argc - optind;
    const char *what = npos > 0 ? argv[optind] : "";
    json_t *res = NULL;
    int rc;
    if (strcmp(what, "host") == 0 && npos == 1) {
        char dir[4096];
        corral_ctl_t *conn = NULL;
        corral_err_t err;
        if (!run_dir) {
            if (corral_ctl_default_run_dir(dir, sizeof dir) != CORRAL_OK) {
                corral_cli_error("the default run dir is too long");
                return CORRAL_EXIT_FAIL;
            }
            run_dir = dir;
        }
        rc = corral_ctl_cli(run_dir, json_pack("{s:s}", "op", "stop_host"), NULL);
        if (rc != CORRAL_EXIT_OK || !wait) {
            if (rc == CORRAL_EXIT_OK) printf("host is stopping\n");
            return rc;
        }
        /* The host removes its socket once it has drained; poll for that. */
        for (int i = 0; i < 600; i++) {
            if (corral_ctl_connect(run_dir, &conn, &err) != CORRAL_OK) {
                printf("host stopped\n");
                return CORRAL_EXIT_OK;
            }
            corral_ctl_close(conn);
            usleep(100000);
        }
        corral_cli_error("the host at %s is still answering after 60 s", run_dir);
        return CORRAL_EXIT_FAIL;
    }
    if (strcmp(what, "actor") == 0 && npos == 2) {
        rc = corral_ctl_cli(run_dir, json_pack("{s:s, s:s}", "op", "stop_actor", "actor", argv[optind + 1]),
                            &res);
        if (rc == CORRAL_EXIT_OK)
            printf("stopped actor %s\n", json_string_value(json_object_get(res, "key")));
        json_decref(res);
        return rc;
    }
    if (strcmp(what, "provider") == 0 && npos == 2) {
        rc = corral_ctl_cli(run_dir,
                            json_pack("{s:s, s:s}", "op", "stop_provider", "provider", argv[optind + 1]),
                            &res);
        if (rc == CORRAL_EXIT_OK)
            printf("stopped provider %s\n", json_string_value(json_object_get(res, "key")));
        json_decref(res);
        return rc;
    }
    corral_cli_error("usage: corral stop actor <key or alias> | provider <key> | host (see 'corral stop --help')");
    return CORRAL_EXIT_USAGE;
}
