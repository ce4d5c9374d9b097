/*
 * cmd_start.c - `corral start actor|provider`: asks a running host (control
 * socket, docs/control.md) to start an actor from a module file or a
 * provider by registry name or shared object.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control_client.h"

static void start_usage(FILE *out) {
    fprintf(out,
            "usage: corral start actor <module.wasm> [--allow-unsigned] [--max-instances N]\n"
            "                          [--deadline-ms N] [--fuel N] [--max-pages N]\n"
            "                          [--engine interp|aot|auto] [--artifact A] [--run-dir D]\n"
            "       corral start provider <kind | lib.so> [--link-name N] [--value K=V]...\n"
            "                             [--run-dir D]\n\n"
            "actor     starts a signed actor module on the running host. Its claims are\n"
            "          verified; --allow-unsigned accepts a module without a token.\n"
            "          --max-instances, --deadline-ms (per call), --fuel (per call, 0 =\n"
            "          unlimited) and --max-pages (64 KiB pages) override the host defaults.\n"
            "          --engine picks the tier for this actor (default: the host's, see\n"
            "          'corral up --engine'): interp, aot (native code from the host's cache,\n"
            "          compiled at start when missing) or auto (interpreter at once, native\n"
            "          code swapped in when its background compile ends). --artifact runs\n"
            "          it on a prebuilt artifact ('corral compile'; implies --engine aot):\n"
            "          used only if it is for this module and ABI and lies in the host's\n"
            "          cache or is signed by a key the host allows ('corral up\n"
            "          --aot-signer'); otherwise the actor runs on the interpreter and the\n"
            "          host's log says why. 'corral get inventory' shows each actor's engine.\n"
            "provider  starts a provider: a built-in kind (httpserver, keyvalue:memory,\n"
            "          keyvalue:sqlite, keyvalue:redis, logging, numbergen) or a shared\n"
            "          object (a path containing '/' or ending in .so). --link-name names\n"
            "          the link (default 'default'); --value K=V configures it (repeatable).\n"
            "  --run-dir D  the host's run dir (default $XDG_RUNTIME_DIR/corral, else\n"
            "               /tmp/corral-<uid>)\n\n"
            "Prints the started actor's key, name and revision, or the provider's service key.\n"
            "exit codes: 0 started, 1 the host refused (claims, already running, ...) or no\n"
            "            host running, 2 usage error, 3 module file missing or malformed,\n"
            "            4 internal error\n");
}

/* An actor option's number: 0..max (corral_cli_parse_uint prints the error). */
static int parse_u64(const char *s, const char *opt, unsigned long long max, json_int_t *out) {
    unsigned long long v;
    if (!corral_cli_parse_uint(opt, s, 0, max, &v)) return 0;
    *out = (json_int_t)v;
    return 1;
}

static int start_actor(int argc, char **argv, const char *run_dir, json_t *opts_obj) {
    if (argc != 1) {
        corral_cli_error("start actor needs exactly one module file (see 'corral start --help')");
        json_decref(opts_obj);
        return CORRAL_EXIT_USAGE;
    }
    char *abs = realpath(argv[0], NULL);
    if (!abs) {
        corral_cli_error("%s: %s", argv[0], strerror(errno));
        json_decref(opts_obj);
        return CORRAL_EXIT_INPUT;
    }
    json_object_set_new(opts_obj, "op", json_string("start_actor"));
    json_object_set_new(opts_obj, "path", json_string(abs));
    free(abs);
    json_t *res = NULL;
    int rc = corral_ctl_cli(run_dir, opts_obj, &res);
    if (rc != CORRAL_EXIT_OK) return rc;
    json_t *rev = json_object_get(res, "rev");
    const char *name = json_string_value(json_object_get(res, "name"));
    printf("started actor %s (%s, rev %lld)\n", json_string_value(json_object_get(res, "key")),
           name && *name ? name : "unnamed", json_is_integer(rev) ? (long long)json_integer_value(rev) : 0);
    json_decref(res);
    return CORRAL_EXIT_OK;
}

static int start_provider(int argc, char **argv, const char *run_dir, const char *link_name,
                          json_t *values) {
    if (argc != 1) {
        corral_cli_error("start provider needs exactly one kind or shared object (see 'corral start --help')");
        json_decref(values);
        return CORRAL_EXIT_USAGE;
    }
    json_t *req = json_pack("{s:s, s:s}", "op", "start_provider", "link_name",
                            link_name ? link_name : "default");
    if (!req) {
        json_decref(values);
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    const char *what = argv[0];
    size_t n = strlen(what);
    if (strchr(what, '/') || (n > 3 && strcmp(what + n - 3, ".so") == 0)) {
        char *abs = realpath(what, NULL);
        if (!abs) {
            corral_cli_error("%s: %s", what, strerror(errno));
            json_decref(req);
            json_decref(values);
            return CORRAL_EXIT_INPUT;
        }
        json_object_set_new(req, "path", json_string(abs));
        free(abs);
    } else {
        json_object_set_new(req, "kind", json_string(what));
    }
    json_object_set_new(req, "values", values ? values : json_object());
    json_t *res = NULL;
    int rc = corral_ctl_cli(run_dir, req, &res);
    if (rc != CORRAL_EXIT_OK) return rc;
    printf("started provider %s (%s, %s, link name %s)\n",
           json_string_value(json_object_get(res, "key")),
           json_string_value(json_object_get(res, "name")),
           json_string_value(json_object_get(res, "contract_id")),
           json_string_value(json_object_get(res, "link_name")));
    json_decref(res);
    return CORRAL_EXIT_OK;
}

/* cmd_lattice.c: the same command through a lattice when --lattice is given */
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

int corral_cli_start(int argc, char **argv) {
    if (corral_cli_lattice_wants(argc, argv)) return corral_cli_lattice_cmd(argc, argv);
    static const struct option opts[] = {{"allow-unsigned", no_argument, NULL, 'U'},
                                         {"max-instances", required_argument, NULL, 'm'},
                                         {"deadline-ms", required_argument, NULL, 'd'},
                                         {"fuel", required_argument, NULL, 'f'},
                                         {"max-pages", required_argument, NULL, 'p'},
                                         {"link-name", required_argument, NULL, 'l'},
                                         {"value", required_argument, NULL, 'v'},
                                         {"run-dir", required_argument, NULL, 'R'},
                                         {"engine", required_argument, NULL, 'E'},
                                         {"artifact", required_argument, NULL, 'A'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL, *link_name = NULL;
    json_t *aopts = json_object(), *values = NULL;
    json_int_t v;
    int c, rc = CORRAL_EXIT_USAGE, actor_opts = 0, prov_opts = 0;
    if (!aopts) {
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "Um:d:f:p:l:v:R:h", opts, NULL)) != -1) {
        switch (c) {
        case 'U': json_object_set_new(aopts, "allow_unsigned", json_true()); actor_opts = 1; break;
        case 'm':
            if (!parse_u64(optarg, "--max-instances", 100000, &v)) goto done;
            json_object_set_new(aopts, "max_instances", json_integer(v));
            actor_opts = 1;
            break;
        case 'd':
            if (!parse_u64(optarg, "--deadline-ms", 86400000, &v)) goto done;
            json_object_set_new(aopts, "deadline_ms", json_integer(v));
            actor_opts = 1;
            break;
        case 'f':
            if (!parse_u64(optarg, "--fuel", (unsigned long long)INT64_MAX, &v)) goto done;
            json_object_set_new(aopts, "fuel", json_integer(v));
            actor_opts = 1;
            break;
        case 'p':
            if (!parse_u64(optarg, "--max-pages", 65536, &v)) goto done;
            json_object_set_new(aopts, "max_pages", json_integer(v));
            actor_opts = 1;
            break;
        case 'E':
            if (strcmp(optarg, "interp") && strcmp(optarg, "aot") && strcmp(optarg, "auto")) {
                corral_cli_error("--engine must be interp, aot or auto, not '%s'", optarg);
                goto done;
            }
            json_object_set_new(aopts, "engine", json_string(optarg));
            actor_opts = 1;
            break;
        case 'A': {
            /* the host does not share our working directory */
            char *abs = realpath(optarg, NULL);
            if (!abs) {
                corral_cli_error("--artifact %s: %s", optarg, strerror(errno));
                rc = CORRAL_EXIT_INPUT;
                goto done;
            }
            json_object_set_new(aopts, "artifact", json_string(abs));
            free(abs);
            actor_opts = 1;
            break;
        }
        case 'l': link_name = optarg; prov_opts = 1; break;
        case 'v':
            if ((rc = corral_ctl_add_kv(&values, optarg, "--value")) != CORRAL_EXIT_OK) goto done;
            rc = CORRAL_EXIT_USAGE;
            prov_opts = 1;
            break;
        case 'R': run_dir = optarg; break;
        case 'h': start_usage(stdout); rc = CORRAL_EXIT_OK; goto done;
        default: start_usage(stderr); goto done;
        }
    }
    if (optind >= argc) {
        corral_cli_error("start needs 'actor' or 'provider' (see 'corral start --help')");
        goto done;
    }
    const char *what = argv[optind];
    if (strcmp(what, "actor") == 0) {
        if (prov_opts) {
            corral_cli_error("--link-name and --value apply to 'start provider'");
            goto done;
        }
        json_decref(values);
        return start_actor(argc - optind - 1, argv + optind + 1, run_dir, aopts);
    }
    if (strcmp(what, "provider") == 0) {
        if (actor_opts) {
            corral_cli_error("--allow-unsigned, --max-instances, --deadline-ms, --fuel, "
                             "--max-pages, --engine and --artifact apply to 'start actor'");
            goto done;
        }
        json_decref(aopts);
        return start_provider(argc - optind - 1, argv + optind + 1, run_dir, link_name, values);
    }
    corral_cli_error("start what? '%s' is neither 'actor' nor 'provider'", what);
done:
    json_decref(aopts);
    json_decref(values);
    return rc;
}
