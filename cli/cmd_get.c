/*
 * cmd_get.c - `corral get inventory` and `corral get health <actor>`: asks a
 * running host (control socket, docs/control.md) what it runs, or whether an
 * actor is healthy, and prints tables / a line, or the host's JSON with --json.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control_client.h"

static void get_usage(FILE *out) {
    fprintf(out,
            "usage: corral get inventory [--json] [--run-dir D]\n"
            "       corral get hosts|links|claims [--lattice L] [--nats URL] [--json]\n"
            "       (the lattice over NATS: see 'corral get hosts --help')\n"
            "       corral get health <actor key or alias> [--json] [--run-dir D]\n\n"
            "Lists the running host's actors (key, name, alias, revision, instances, calls,\n"
            "errors, traps), providers (service key, name, contract, link name) and links.\n"
            "health asks the actor now (HealthRequest) and prints whether it is healthy.\n"
            "  --json       print the host's result object as JSON\n"
            "  --run-dir D  the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "               /tmp/corral-<uid>)\n\n"
            "exit codes: 0 success (health: the actor is healthy), 1 no host running, the\n"
            "            request failed or the actor is unhealthy, 2 usage error, 4 internal error\n");
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

static long long int_of(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static void print_values(json_t *obj) {
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(obj, k, v) {
        const char *s = json_string_value(v);
        printf("%s%s=%s", first ? "" : ",", k, s ? s : "?");
        first = 0;
    }
    if (first) printf("-");
}

static void print_inventory(json_t *inv) {
    json_t *labels = json_object_get(inv, "labels");
    printf("host %s  up %llds", str_or(inv, "host_key", "?"), int_of(inv, "uptime_s"));
    if (json_object_size(labels)) {
        printf("  labels ");
        print_values(labels);
    }
    printf("\n\n");

    json_t *actors = json_object_get(inv, "actors"), *a;
    size_t i;
    printf("ACTORS (%zu)\n", json_array_size(actors));
    if (json_array_size(actors))
        printf("  %-56s  %-16s %-16s %5s %9s %9s %7s %6s\n", "KEY", "NAME", "ALIAS", "REV",
               "INSTANCES", "CALLS", "ERRORS", "TRAPS");
    json_array_foreach(actors, i, a) {
        char inst[32];
        snprintf(inst, sizeof inst, "%lld/%lld", int_of(a, "instances"), int_of(a, "max_instances"));
        printf("  %-56s  %-16s %-16s %5lld %9s %9lld %7lld %6lld\n", str_or(a, "key", "?"),
               str_or(a, "name", "-"), str_or(a, "call_alias", "-"), int_of(a, "rev"), inst,
               int_of(a, "calls"), int_of(a, "errors"), int_of(a, "traps"));
    }
    json_t *provs = json_object_get(inv, "providers"), *p;
    printf("\nPROVIDERS (%zu)\n", json_array_size(provs));
    if (json_array_size(provs))
        printf("  %-56s  %-18s %-28s %s\n", "KEY", "NAME", "CONTRACT", "LINK NAME");
    json_array_foreach(provs, i, p) {
        printf("  %-56s  %-18s %-28s %s\n", str_or(p, "key", "?"), str_or(p, "name", "-"),
               str_or(p, "contract_id", "-"), str_or(p, "link_name", "default"));
    }
    json_t *links = json_object_get(inv, "links"), *l;
    printf("\nLINKS (%zu)\n", json_array_size(links));
    if (json_array_size(links))
        printf("  %-56s  %-28s %-10s %-10s %s\n", "ACTOR", "CONTRACT", "LINK NAME", "PROVIDER",
               "VALUES");
    json_array_foreach(links, i, l) {
        const char *prov = str_or(l, "provider", NULL);
        char pshort[16];
        /* A provider key is 56 characters; its head is enough to tell them apart. */
        if (prov) snprintf(pshort, sizeof pshort, "%.8s..", prov);
        printf("  %-56s  %-28s %-10s %-10s ", str_or(l, "actor", "?"), str_or(l, "contract_id", "-"),
               str_or(l, "link_name", "default"), prov ? pshort : "(waiting)");
        print_values(json_object_get(l, "values"));
        printf("\n");
    }
}

int corral_cli_lattice_get(int argc, char **argv); /* cmd_lattice.c */

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_get(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "hosts") == 0 || strcmp(argv[1], "links") == 0 ||
                      strcmp(argv[1], "claims") == 0))
        return corral_cli_lattice_get(argc, argv);
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"run-dir", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jR:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'R': run_dir = optarg; break;
        case 'h': get_usage(stdout); return CORRAL_EXIT_OK;
        default: get_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    json_t *res = NULL;
    int rc, health = 0;
    if (argc - optind == 2 && strcmp(argv[optind], "health") == 0) {
        health = 1;
        rc = corral_ctl_cli(run_dir, json_pack("{s:s, s:s}", "op", "health", "actor", argv[optind + 1]),
                            &res);
    } else if (argc - optind == 1 && strcmp(argv[optind], "inventory") == 0) {
        rc = corral_ctl_cli(run_dir, json_pack("{s:s}", "op", "inventory"), &res);
    } else {
        corral_cli_error("usage: corral get inventory | corral get health <actor> (see 'corral get --help')");
        return CORRAL_EXIT_USAGE;
    }
    if (rc != CORRAL_EXIT_OK) return rc;
    if (health) {
        int ok = json_is_true(json_object_get(res, "healthy"));
        const char *msg = json_string_value(json_object_get(res, "message"));
        if (json) {
            char *text = json_dumps(res, JSON_PRESERVE_ORDER);
            if (text) printf("%s\n", text);
            free(text);
        } else {
            printf("%s: %s%s%s\n", argv[optind + 1], ok ? "healthy" : "unhealthy",
                   msg && *msg ? " - " : "", msg ? msg : "");
        }
        json_decref(res);
        if (fflush(stdout) != 0) return CORRAL_EXIT_INTERNAL;
        return ok ? CORRAL_EXIT_OK : CORRAL_EXIT_FAIL;
    }
    if (json) {
        char *text = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        print_inventory(res);
    }
    json_decref(res);
    return fflush(stdout) == 0 ? CORRAL_EXIT_OK : CORRAL_EXIT_INTERNAL;
}
