/*
 * cmd_lattice.c - the lattice side of the `corral` command, speaking NATS
 * directly (docs/lattice.md subjects):
 *   corral watch events   prints the lattice's CloudEvents as they come;
 *   corral get hosts|links|claims   (reached from `corral get` through
 *                         corral_cli_lattice_get: `get` itself is
 *                         cmd_get.c's) asks every host (ping.hosts,
 *                         collected until a timeout) or the lattice's bucket;
 *   corral get inventory | start | stop | update | link | call ... --lattice L
 *                         (handed over by cmd_get.c, cmd_start.c, ... through
 *                         corral_cli_lattice_cmd when --lattice is given):
 *                         the host commands as control requests to one host
 *                         of the lattice (chosen by --host or an auction),
 *                         and `call` as a cluster-signed invocation.
 * The host commands' requests go through lattice_client.h (shared with the
 * lattice view of `corral ui`); this file parses, prints and picks exit codes.
 * Built with lattice support when the corral_lattice target exists
 * (CORRAL_HAVE_LATTICE); otherwise each says so and exits 4.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int corral_cli_lattice_get(int argc, char **argv);
int corral_cli_lattice_wants(int argc, char **argv);
int corral_cli_lattice_cmd(int argc, char **argv);

#ifdef CORRAL_HAVE_LATTICE

#include <jansson.h>
#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include "corral_lattice.h"
#include "lattice_client.h"

typedef struct lat_opts {
    const char *lattice, *url, *type;
    int json;
    long count, timeout_ms;
} lat_opts_t;

static volatile sig_atomic_t g_stop;
static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
}

static int parse_opts(int argc, char **argv, lat_opts_t *o, void (*usage)(FILE *)) {
    static const struct option opts[] = {{"lattice", required_argument, NULL, 'l'},
                                         {"nats", required_argument, NULL, 'n'},
                                         {"type", required_argument, NULL, 't'},
                                         {"count", required_argument, NULL, 'c'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    o->lattice = getenv("CORRAL_LATTICE") ? getenv("CORRAL_LATTICE") : "default";
    o->url = getenv("CORRAL_NATS_URL") ? getenv("CORRAL_NATS_URL") : "nats://127.0.0.1:4222";
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:n:t:c:T:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o->lattice = optarg; break;
        case 'n': o->url = optarg; break;
        case 't': o->type = optarg; break;
        case 'j': o->json = 1; break;
        case 'c':
        case 'T': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0) {
                corral_cli_error("--%s wants a non-negative number", c == 'c' ? "count" : "timeout");
                return CORRAL_EXIT_USAGE;
            }
            if (c == 'c') o->count = v;
            else o->timeout_ms = v;
            break;
        }
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    for (const char *p = o->lattice; *p; p++)
        if (*p == '.' || *p == '*' || *p == '>' || *p == ' ') {
            corral_cli_error("lattice name '%s' is not valid", o->lattice);
            return CORRAL_EXIT_USAGE;
        }
    return 0;
}

static int connect_nats(const lat_opts_t *o, natsConnection **nc) {
    natsStatus s = natsConnection_ConnectTo(nc, o->url);
    if (s != NATS_OK) {
        corral_cli_error("cannot reach NATS at %s: %s", o->url, natsStatus_GetText(s));
        return CORRAL_EXIT_FAIL;
    }
    return 0;
}

/* ---- watch events ------------------------------------------------------------ */

static void watch_usage(FILE *out) {
    fprintf(out,
            "usage: corral watch events [--lattice L] [--nats URL] [--type T] [--count N]\n"
            "                           [--timeout MS] [--json]\n\n"
            "Prints the lattice's events (CloudEvents on wasmbus.evt.<lattice>) as they come,\n"
            "one line each: time, type, source host, data. Ends on Ctrl-C, after N events, or\n"
            "after MS milliseconds without one.\n"
            "  --lattice L  lattice name (default $CORRAL_LATTICE, else \"default\")\n"
            "  --nats URL   NATS server (default $CORRAL_NATS_URL, else nats://127.0.0.1:4222)\n"
            "  --type T     only events whose type ends with T (e.g. actor_started)\n"
            "  --json       print each event's JSON as it arrived\n\n"
            "exit codes: 0 success, 1 NATS unreachable, 2 usage error, 4 internal error\n");
}

int corral_cli_watch(int argc, char **argv) {
    lat_opts_t o = {0};
    if (argc < 2 || strcmp(argv[1], "events") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            watch_usage(stdout);
            return CORRAL_EXIT_OK;
        }
        watch_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    int rc = parse_opts(argc - 1, argv + 1, &o, watch_usage);
    if (rc) return rc < 0 ? CORRAL_EXIT_OK : rc;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    if ((rc = connect_nats(&o, &nc))) return rc;
    char subj[256];
    snprintf(subj, sizeof subj, "wasmbus.evt.%s", o.lattice);
    if (natsConnection_SubscribeSync(&sub, nc, subj) != NATS_OK) {
        corral_cli_error("cannot subscribe %s", subj);
        natsConnection_Destroy(nc);
        return CORRAL_EXIT_FAIL;
    }
    natsConnection_Flush(nc); /* subscribed at the server before saying so */
    fprintf(stderr, "watching %s at %s\n", subj, o.url);
    fflush(stderr);
    signal(SIGINT, on_sigint);
    long seen = 0;
    while (!g_stop && (!o.count || seen < o.count)) {
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, o.timeout_ms ? o.timeout_ms : 250);
        if (s == NATS_TIMEOUT) {
            if (o.timeout_ms) break;
            continue;
        }
        if (s != NATS_OK) break;
        json_t *ev = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        size_t tl = type ? strlen(type) : 0, fl = o.type ? strlen(o.type) : 0;
        if (!o.type || (type && tl >= fl && strcmp(type + tl - fl, o.type) == 0)) {
            if (o.json) {
                printf("%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
            } else {
                const char *short_type = type ? strrchr(type, '.') : NULL;
                char *data = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
                printf("%s  %-20s %s  %s\n", json_string_value(json_object_get(ev, "time"))
                                               ? json_string_value(json_object_get(ev, "time"))
                                               : "-",
                       short_type ? short_type + 1 : (type ? type : "?"),
                       json_string_value(json_object_get(ev, "source"))
                           ? json_string_value(json_object_get(ev, "source"))
                           : "-",
                       data ? data : "{}");
                free(data);
            }
            fflush(stdout);
            seen++;
        }
        json_decref(ev);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    return CORRAL_EXIT_OK;
}

/* ---- get hosts | links | claims --------------------------------------------------- */

static void get_usage(FILE *out) {
    fprintf(out,
            "usage: corral get hosts|links|claims [--lattice L] [--nats URL] [--timeout MS]\n"
            "                                     [--json]\n\n"
            "  hosts   every host of the lattice (ping.hosts, answers collected for MS ms,\n"
            "          default 1000): key, labels, uptime\n"
            "  links   the lattice's link definitions (from its key-value bucket)\n"
            "  claims  the claims of every actor started in the lattice\n"
            "  --lattice L, --nats URL  as for `corral watch events`\n"
            "  --json  print the JSON answers\n\n"
            "exit codes: 0 success, 1 NATS unreachable or no answer, 2 usage error\n");
}

static int print_hosts(natsConnection *nc, const lat_opts_t *o) {
    char subj[256], inbox[128];
    natsSubscription *sub = NULL;
    natsInbox *ib = NULL;
    natsInbox_Create(&ib);
    snprintf(inbox, sizeof inbox, "%s", (const char *)ib);
    natsInbox_Destroy(ib);
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.ping.hosts", o->lattice);
    if (natsConnection_SubscribeSync(&sub, nc, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(nc, subj, inbox, "") != NATS_OK) {
        corral_cli_error("cannot ask %s", subj);
        natsSubscription_Destroy(sub);
        return CORRAL_EXIT_FAIL;
    }
    natsConnection_Flush(nc);
    int64_t deadline = nats_Now() + (o->timeout_ms ? o->timeout_ms : 1000);
    json_t *all = json_array();
    for (;;) {
        int64_t left = deadline - nats_Now();
        natsMsg *m = NULL;
        if (left <= 0 || natsSubscription_NextMsg(&m, sub, left) != NATS_OK) break;
        json_t *h = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        if (h) json_array_append_new(all, h);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    if (o->json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        printf("%s\n", t ? t : "[]");
        free(t);
    } else {
        printf("HOSTS (%zu) in lattice %s\n", json_array_size(all), o->lattice);
        size_t i;
        json_t *h;
        json_array_foreach(all, i, h) {
            char *labels = json_dumps(json_object_get(h, "labels"), JSON_COMPACT);
            printf("  %-56s  up %6llds  %s\n",
                   json_string_value(json_object_get(h, "id"))
                       ? json_string_value(json_object_get(h, "id"))
                       : "?",
                   (long long)json_integer_value(json_object_get(h, "uptime_seconds")),
                   labels ? labels : "{}");
            free(labels);
        }
    }
    int rc = json_array_size(all) ? CORRAL_EXIT_OK : CORRAL_EXIT_FAIL;
    if (rc) corral_cli_error("no host of lattice %s answered", o->lattice);
    json_decref(all);
    return rc;
}

static int print_request(natsConnection *nc, const lat_opts_t *o, const char *what) {
    char subj[256];
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.%s", o->lattice, what);
    natsMsg *m = NULL;
    natsStatus s = natsConnection_RequestString(&m, nc, subj, "", o->timeout_ms ? o->timeout_ms : 2000);
    if (s != NATS_OK) {
        corral_cli_error("no host of lattice %s answered %s: %s", o->lattice, subj,
                         natsStatus_GetText(s));
        return CORRAL_EXIT_FAIL;
    }
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    natsMsg_Destroy(m);
    json_t *arr = json_object_get(j, what);
    if (o->json || !json_is_array(arr)) {
        char *t = json_dumps(j, JSON_INDENT(2));
        printf("%s\n", t ? t : "null");
        free(t);
    } else if (strcmp(what, "links") == 0) {
        printf("LINKS (%zu)\n", json_array_size(arr));
        size_t i;
        json_t *l;
        json_array_foreach(arr, i, l) {
            char *v = json_dumps(json_object_get(l, "values"), JSON_COMPACT);
            printf("  %-56s  %-24s %-10s %s\n",
                   json_string_value(json_object_get(l, "actor_id")),
                   json_string_value(json_object_get(l, "contract_id")),
                   json_string_value(json_object_get(l, "link_name")), v ? v : "{}");
            free(v);
        }
    } else {
        printf("CLAIMS (%zu)\n", json_array_size(arr));
        size_t i;
        json_t *c;
        json_array_foreach(arr, i, c) {
            char *caps = json_dumps(json_object_get(c, "caps"), JSON_COMPACT);
            const char *name = json_string_value(json_object_get(c, "name"));
            printf("  %-56s  %-16s %s\n", json_string_value(json_object_get(c, "sub")),
                   name && *name ? name : "-", caps ? caps : "[]");
            free(caps);
        }
    }
    json_decref(j);
    return CORRAL_EXIT_OK;
}

int corral_cli_lattice_get(int argc, char **argv) {
    if (argc < 2) {
        get_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    const char *what = argv[1];
    if (strcmp(what, "hosts") && strcmp(what, "links") && strcmp(what, "claims")) {
        get_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    lat_opts_t o = {0};
    int rc = parse_opts(argc - 1, argv + 1, &o, get_usage);
    if (rc) return rc < 0 ? CORRAL_EXIT_OK : rc;
    natsConnection *nc = NULL;
    if ((rc = connect_nats(&o, &nc))) return rc;
    rc = strcmp(what, "hosts") == 0 ? print_hosts(nc, &o) : print_request(nc, &o, what);
    natsConnection_Destroy(nc);
    return rc;
}

/* ---- the host commands through the lattice ------------------------------------------
 * `corral get inventory | start | stop | update | link | call ... --lattice L`:
 * cmd_get.c, cmd_start.c, ... hand over here when --lattice is on the command
 * line. Each is one NATS request to a control subject (or to the actor's rpc
 * subject for `call`), answered by the chosen host's lattice member. */

#define LC_DISCOVER_MS CORRAL_LC_DISCOVER_MS

typedef struct lcmd {
    const char *lattice, *url, *creds, *nkey, *host, *cluster_seed, *link_name, *provider;
    const char *payload, *payload_file;
    int json, allow_unsigned, have_actor_opts, have_prov_opts;
    long timeout_ms;
    json_t *aopts, *values, *constraints;
    corral_lc_t *lc; /* the lattice control client (lattice_client.h) */
    char **pos;
    int npos;
} lcmd_t;

int corral_cli_lattice_wants(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--lattice") == 0 || strncmp(argv[i], "--lattice=", 10) == 0) return 1;
    }
    return 0;
}

static void lc_usage(FILE *out) {
    fprintf(out,
            "usage (through a lattice, over NATS):\n"
            "  corral get inventory [--host H]\n"
            "  corral start actor <module.wasm> [--host H | --constraint K=V]...\n"
            "                     [--allow-unsigned] [--max-instances N] [--deadline-ms N]\n"
            "                     [--fuel N] [--max-pages N] [--engine interp|aot|auto]\n"
            "  corral start provider <kind | /abs/lib.so> [--host H | --constraint K=V]...\n"
            "                        [--link-name N] [--value K=V]...\n"
            "  corral stop actor <key or alias> [--host H]\n"
            "  corral stop provider <service key> [--host H]\n"
            "  corral update actor <key or alias> <module.wasm> [--host H]\n"
            "  corral link put <actor key> <contract id> [K=V]... [--link-name N] [--provider V...]\n"
            "  corral link del <actor key> <contract id> [--link-name N]\n"
            "  corral call <actor key or alias> <operation> --cluster-seed S\n"
            "              [--payload TEXT | --payload-file F]\n"
            "each with --lattice L [--nats URL] [--nats-creds F] [--nats-nkey SEED|FILE]\n"
            "          [--timeout-ms MS] [--json]\n\n"
            "--host H picks the host by its key (N...). Without it, start holds an auction\n"
            "(hosts whose labels match every --constraint answer; one is picked at random),\n"
            "get inventory lists every host, and stop / update act on every host that runs\n"
            "the actor or provider. Modules are sent inline, or through the lattice's chunk\n"
            "bucket (CHUNKS_<lattice>) when above the server's message limit; the host\n"
            "verifies their claims as always. call signs the invocation with the cluster\n"
            "seed (SC... or a file; default $CORRAL_CLUSTER_SEED), which the hosts must\n"
            "accept as an issuer.\n"
            "  --timeout-ms MS  how long to wait for each answer (default 2000)\n"
            "  --json           print the hosts' JSON answers\n\n"
            "exit codes: 0 success, 1 refused, no answer or NATS unreachable, 2 usage error,\n"
            "            3 module or payload file unreadable, 4 internal error\n");
}

static int lc_u64(json_t *obj, const char *key, const char *opt, const char *s,
                  unsigned long long max) {
    unsigned long long v;
    if (!corral_cli_parse_uint(opt, s, 0, max, &v)) return 0;
    json_object_set_new(obj, key, json_integer((json_int_t)v));
    return 1;
}

static int lc_kv(json_t **obj, const char *kv, const char *what) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        corral_cli_error("%s wants K=V, not '%s'", what, kv);
        return 0;
    }
    if (!*obj) *obj = json_object();
    char k[256];
    snprintf(k, sizeof k, "%.*s", (int)(eq - kv), kv);
    json_object_set_new(*obj, k, json_string(eq + 1));
    return 1;
}

/* 0 ok, -1 help printed, else an exit code. */
static int lc_parse(int argc, char **argv, lcmd_t *o) {
    static const struct option opts[] = {
        {"lattice", required_argument, NULL, 'l'},   {"nats", required_argument, NULL, 'n'},
        {"nats-creds", required_argument, NULL, 'C'}, {"nats-nkey", required_argument, NULL, 'K'},
        {"host", required_argument, NULL, 'H'},      {"json", no_argument, NULL, 'j'},
        {"timeout-ms", required_argument, NULL, 'T'}, {"timeout", required_argument, NULL, 'T'},
        {"cluster-seed", required_argument, NULL, 'S'},
        {"allow-unsigned", no_argument, NULL, 'U'},  {"max-instances", required_argument, NULL, 'm'},
        {"deadline-ms", required_argument, NULL, 'd'}, {"fuel", required_argument, NULL, 'f'},
        {"max-pages", required_argument, NULL, 'p'}, {"link-name", required_argument, NULL, 'L'},
        {"value", required_argument, NULL, 'v'},     {"provider", required_argument, NULL, 'P'},
        {"constraint", required_argument, NULL, 'c'}, {"payload", required_argument, NULL, 'a'},
        {"payload-file", required_argument, NULL, 'A'}, {"help", no_argument, NULL, 'h'},
        {"engine", required_argument, NULL, 'E'},    {NULL, 0, NULL, 0}};
    o->lattice = getenv("CORRAL_LATTICE") ? getenv("CORRAL_LATTICE") : "default";
    o->url = getenv("CORRAL_NATS_URL") ? getenv("CORRAL_NATS_URL") : "nats://127.0.0.1:4222";
    o->timeout_ms = 2000;
    o->aopts = json_object();
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o->lattice = optarg; break;
        case 'n': o->url = optarg; break;
        case 'C': o->creds = optarg; break;
        case 'K': o->nkey = optarg; break;
        case 'H': o->host = optarg; break;
        case 'j': o->json = 1; break;
        case 'S': o->cluster_seed = optarg; break;
        case 'T':
            o->timeout_ms = strtol(optarg, &end, 10);
            if (*end || o->timeout_ms <= 0 || o->timeout_ms > 3600000) {
                corral_cli_error("--timeout-ms wants 1 to 3600000, not '%s'", optarg);
                return CORRAL_EXIT_USAGE;
            }
            break;
        case 'U':
            json_object_set_new(o->aopts, "allow_unsigned", json_true());
            o->have_actor_opts = 1;
            break;
        case 'm':
        case 'd':
        case 'f':
        case 'p': {
            static const struct {
                int c;
                const char *key, *opt;
                unsigned long long max;
            } n[] = {{'m', "max_instances", "--max-instances", 100000},
                     {'d', "deadline_ms", "--deadline-ms", 86400000},
                     {'f', "fuel", "--fuel", (unsigned long long)INT64_MAX},
                     {'p', "max_pages", "--max-pages", 65536}};
            for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
                if (n[i].c == c && !lc_u64(o->aopts, n[i].key, n[i].opt, optarg, n[i].max))
                    return CORRAL_EXIT_USAGE;
            o->have_actor_opts = 1;
            break;
        }
        case 'E':
            if (strcmp(optarg, "interp") && strcmp(optarg, "aot") && strcmp(optarg, "auto")) {
                corral_cli_error("--engine must be interp, aot or auto, not '%s'", optarg);
                return CORRAL_EXIT_USAGE;
            }
            json_object_set_new(o->aopts, "engine", json_string(optarg));
            o->have_actor_opts = 1;
            break;
        case 'L': o->link_name = optarg; o->have_prov_opts = 1; break;
        case 'v':
            if (!lc_kv(&o->values, optarg, "--value")) return CORRAL_EXIT_USAGE;
            o->have_prov_opts = 1;
            break;
        case 'P': o->provider = optarg; break;
        case 'c':
            if (!lc_kv(&o->constraints, optarg, "--constraint")) return CORRAL_EXIT_USAGE;
            break;
        case 'a': o->payload = optarg; break;
        case 'A': o->payload_file = optarg; break;
        case 'h': lc_usage(stdout); return -1;
        default: lc_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    for (const char *p = o->lattice; *p; p++)
        if (*p == '.' || *p == '*' || *p == '>' || *p == ' ') {
            corral_cli_error("lattice name '%s' is not valid", o->lattice);
            return CORRAL_EXIT_USAGE;
        }
    if (o->host && (!*o->host || strpbrk(o->host, ".*> "))) {
        corral_cli_error("--host wants a host key (N...), not '%s'", o->host);
        return CORRAL_EXIT_USAGE;
    }
    if (o->payload && o->payload_file) {
        corral_cli_error("give --payload or --payload-file, not both");
        return CORRAL_EXIT_USAGE;
    }
    o->pos = argv + optind;
    o->npos = argc - optind;
    return 0;
}

/* The wrappers below print the client's message (lattice_client.h) as the
 * CLI always has and hand back what the command code expects. */
static void lc_warn(void *ctx, const char *msg) {
    (void)ctx;
    corral_cli_error("%s", msg);
}

static int lc_connect(lcmd_t *o) {
    corral_lc_config_t cfg;
    corral_err_t err;
    memset(&cfg, 0, sizeof cfg);
    cfg.lattice = o->lattice;
    cfg.url = o->url;
    cfg.creds = o->creds;
    cfg.nkey = o->nkey;
    cfg.timeout_ms = o->timeout_ms;
    cfg.warn = lc_warn;
    corral_status_t st = corral_lc_connect(&cfg, &o->lc, &err);
    if (st == CORRAL_OK) return 0;
    corral_cli_error("%s", corral_err_msg(&err));
    return st == CORRAL_ERR_INVALID_ARG ? CORRAL_EXIT_USAGE
           : st == CORRAL_ERR_NOMEM     ? CORRAL_EXIT_INTERNAL
                                        : CORRAL_EXIT_FAIL;
}

/* One request / reply on subj with req (stolen); the JSON answer, or NULL
 * after printing why (who names the answerer in messages). */
static json_t *lc_request(lcmd_t *o, const char *subj, json_t *req, const char *who) {
    json_t *j = NULL;
    corral_err_t err;
    if (corral_lc_request(o->lc, subj, req, who, &j, &err) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return NULL;
    }
    return j;
}

/* A control command (la, sa, upd, lp, sp) to host: the ack's "result" on
 * acceptance (a new reference, maybe json_null), NULL after printing the
 * host's own error. */
static json_t *lc_cmd(lcmd_t *o, const char *host, const char *op, json_t *req) {
    json_t *res = NULL;
    corral_err_t err;
    if (corral_lc_cmd(o->lc, host, op, req, &res, &err) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return NULL;
    }
    return res;
}

/* Every host key answering ping.hosts. */
static json_t *lc_hosts(lcmd_t *o) {
    json_t *keys = corral_lc_hosts(o->lc);
    return keys ? keys : json_array();
}

static json_t *lc_inventory(lcmd_t *o, const char *host) {
    json_t *inv = NULL;
    corral_err_t err;
    if (corral_lc_inventory(o->lc, host, &inv, &err) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return NULL;
    }
    return inv;
}

/* The host for a start: --host, else an auction ("actor" / "provider"). */
static const char *lc_place(lcmd_t *o, const char *what, char *buf, size_t n) {
    if (o->host) return o->host;
    char subj[256];
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.auction.%s", o->lattice, what);
    json_t *req = json_pack("{s:o}", "constraints",
                            o->constraints ? json_incref(o->constraints) : json_object());
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *bids = corral_lc_collect(o->lc, subj, text ? text : "{}", LC_DISCOVER_MS);
    free(text);
    size_t nb = json_array_size(bids);
    if (!nb) {
        char *c = o->constraints ? json_dumps(o->constraints, JSON_COMPACT) : NULL;
        corral_cli_error("no host of lattice %s answered the auction%s%s (in %d ms)", o->lattice,
                         c ? " with constraints " : "", c ? c : "", LC_DISCOVER_MS);
        free(c);
        json_decref(bids);
        return NULL;
    }
    json_t *pick = json_array_get(bids, (size_t)((corral_now_ns() / 1000) % nb));
    const char *id = json_string_value(json_object_get(pick, "host_id"));
    snprintf(buf, n, "%s", id ? id : "");
    json_decref(bids);
    if (!*buf || strpbrk(buf, ".*> ")) {
        corral_cli_error("the auction's winner gave no usable host key");
        return NULL;
    }
    return buf;
}

/* Hosts running an actor (by key or alias) or a provider (by key): from
 * every host's inventory. */
static json_t *lc_hosts_running(lcmd_t *o, const char *what, int actor) {
    json_t *found = NULL;
    corral_err_t err;
    if (corral_lc_hosts_running(o->lc, what, actor, &found, &err) != CORRAL_OK)
        corral_cli_error("%s", corral_err_msg(&err));
    return found ? found : json_array();
}

static void lc_print_json(json_t *j) {
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", t ? t : "null");
    free(t);
}

static const char *lc_str(json_t *o, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

static long long lc_int(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static void lc_print_inventory(json_t *inv) {
    printf("host %s  up %llds", lc_str(inv, "host_key", "?"), lc_int(inv, "uptime_s"));
    const char *k;
    json_t *v, *a;
    int first = 1;
    json_object_foreach(json_object_get(inv, "labels"), k, v) {
        printf("%s%s=%s", first ? "  labels " : ",", k, json_string_value(v) ? json_string_value(v) : "?");
        first = 0;
    }
    size_t i;
    json_t *actors = json_object_get(inv, "actors"), *provs = json_object_get(inv, "providers");
    printf("\nACTORS (%zu)\n", json_array_size(actors));
    if (json_array_size(actors))
        printf("  %-56s  %-16s %-16s %5s %9s %9s\n", "KEY", "NAME", "ALIAS", "REV", "INSTANCES",
               "CALLS");
    json_array_foreach(actors, i, a) {
        char inst[48];
        snprintf(inst, sizeof inst, "%lld/%lld", lc_int(a, "instances"), lc_int(a, "max_instances"));
        printf("  %-56s  %-16s %-16s %5lld %9s %9lld\n", lc_str(a, "key", "?"), lc_str(a, "name", "-"),
               lc_str(a, "call_alias", "-"), lc_int(a, "rev"), inst, lc_int(a, "calls"));
    }
    printf("PROVIDERS (%zu)\n", json_array_size(provs));
    if (json_array_size(provs))
        printf("  %-56s  %-18s %-28s %s\n", "KEY", "NAME", "CONTRACT", "LINK NAME");
    json_array_foreach(provs, i, a)
        printf("  %-56s  %-18s %-28s %s\n", lc_str(a, "key", "?"), lc_str(a, "name", "-"),
               lc_str(a, "contract_id", "-"), lc_str(a, "link_name", "default"));
}

static int lc_get(lcmd_t *o) {
    if (o->npos != 1 || strcmp(o->pos[0], "inventory") != 0) {
        corral_cli_error("through a lattice, get knows 'inventory' (and hosts, links, claims)");
        return CORRAL_EXIT_USAGE;
    }
    json_t *keys = o->host ? json_pack("[s]", o->host) : lc_hosts(o), *k, *out = json_array();
    size_t i;
    int rc = CORRAL_EXIT_OK;
    if (!json_array_size(keys)) {
        corral_cli_error("no host of lattice %s answered", o->lattice);
        rc = CORRAL_EXIT_FAIL;
    }
    json_array_foreach(keys, i, k) {
        json_t *inv = lc_inventory(o, json_string_value(k));
        if (!inv) {
            rc = CORRAL_EXIT_FAIL;
            continue;
        }
        if (!o->json) {
            if (i) printf("\n");
            lc_print_inventory(inv);
        }
        json_array_append_new(out, inv);
    }
    if (o->json) lc_print_json(o->host && json_array_size(out) ? json_array_get(out, 0) : out);
    json_decref(out);
    json_decref(keys);
    return rc;
}

/* Puts the module into req (corral_lc_module: inline, or by reference
 * through the chunk bucket); 0, or an exit code after printing why. Follow
 * with corral_lc_module_cleanup(m) in every case. */
static int lc_module(lcmd_t *o, const char *path, json_t *req, corral_lc_module_t *m) {
    corral_err_t err;
    corral_status_t st = corral_lc_module(o->lc, path, req, m, &err);
    if (st == CORRAL_OK) return 0;
    corral_cli_error("%s", corral_err_msg(&err));
    return m->file_failed ? CORRAL_EXIT_INPUT
           : st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL
                                    : CORRAL_EXIT_FAIL;
}

static int lc_start(lcmd_t *o) {
    char hbuf[128];
    const char *what = o->npos ? o->pos[0] : "";
    int actor = strcmp(what, "actor") == 0;
    if ((!actor && strcmp(what, "provider") != 0) || o->npos != 2) {
        corral_cli_error("usage: corral start actor <module.wasm> | provider <kind> --lattice L ...");
        return CORRAL_EXIT_USAGE;
    }
    if (actor ? o->have_prov_opts : o->have_actor_opts) {
        corral_cli_error(actor ? "--link-name and --value apply to 'start provider'"
                               : "actor options do not apply to 'start provider'");
        return CORRAL_EXIT_USAGE;
    }
    const char *host = lc_place(o, actor ? "actor" : "provider", hbuf, sizeof hbuf);
    if (!host) return CORRAL_EXIT_FAIL;
    json_t *res;
    if (actor) {
        corral_lc_module_t m;
        json_t *req = json_deep_copy(o->aopts);
        int rc = lc_module(o, o->pos[1], req, &m);
        if (rc) {
            corral_lc_module_cleanup(&m);
            json_decref(req);
            return rc;
        }
        res = lc_cmd(o, host, "la", json_incref(req));
        corral_lc_module_cleanup(&m);
        json_decref(req);
        if (!res) return CORRAL_EXIT_FAIL;
        if (o->json) {
            json_object_set_new(res, "host_id", json_string(host));
            lc_print_json(res);
        } else {
            printf("started actor %s (%s, rev %lld) on host %s\n", lc_str(res, "key", "?"),
                   lc_str(res, "name", "unnamed"), lc_int(res, "rev"), host);
        }
    } else {
        json_t *req = json_pack("{s:s, s:o}", "link_name", o->link_name ? o->link_name : "default",
                                "values", o->values ? json_incref(o->values) : json_object());
        json_object_set_new(req, o->pos[1][0] == '/' ? "path" : "kind", json_string(o->pos[1]));
        res = lc_cmd(o, host, "lp", req);
        if (!res) return CORRAL_EXIT_FAIL;
        if (o->json) {
            json_object_set_new(res, "host_id", json_string(host));
            lc_print_json(res);
        } else {
            printf("started provider %s (%s, %s, link name %s) on host %s\n", lc_str(res, "key", "?"),
                   lc_str(res, "name", "-"), lc_str(res, "contract_id", "-"),
                   lc_str(res, "link_name", "default"), host);
        }
    }
    json_decref(res);
    return CORRAL_EXIT_OK;
}

/* stop actor|provider and update actor: on --host, else on every host running it. */
static int lc_stop_update(lcmd_t *o, int update) {
    const char *what = o->npos ? o->pos[0] : "";
    int actor = strcmp(what, "actor") == 0;
    if ((update && (!actor || o->npos != 3)) ||
        (!update && ((!actor && strcmp(what, "provider") != 0) || o->npos != 2))) {
        corral_cli_error(update ? "usage: corral update actor <key or alias> <module.wasm> --lattice L"
                                : "usage: corral stop actor|provider <key> --lattice L (stopping a "
                                  "host through the lattice is not offered)");
        return CORRAL_EXIT_USAGE;
    }
    const char *target = o->pos[1];
    json_t *hosts = o->host ? json_pack("[s]", o->host) : lc_hosts_running(o, target, actor), *h;
    json_t *all = json_array();
    size_t i;
    int rc = json_array_size(hosts) ? CORRAL_EXIT_OK : CORRAL_EXIT_FAIL;
    json_array_foreach(hosts, i, h) {
        const char *host = json_string_value(h);
        json_t *res;
        if (update) {
            corral_lc_module_t m;
            json_t *req = json_pack("{s:s}", "actor", target);
            int mrc = lc_module(o, o->pos[2], req, &m);
            res = mrc ? NULL : lc_cmd(o, host, "upd", json_incref(req));
            corral_lc_module_cleanup(&m);
            json_decref(req);
            if (mrc) {
                rc = mrc;
                break;
            }
        } else {
            res = lc_cmd(o, host, actor ? "sa" : "sp",
                         json_pack("{s:s}", actor ? "actor" : "provider", target));
        }
        if (!res) {
            rc = CORRAL_EXIT_FAIL;
            continue;
        }
        json_object_set_new(res, "host_id", json_string(host));
        if (o->json) json_array_append(all, res);
        else if (update)
            printf("updated actor %s on host %s: rev %lld -> %lld (swap pause %lld us)\n",
                   lc_str(res, "key", target), host, lc_int(res, "old_rev"), lc_int(res, "new_rev"),
                   lc_int(res, "swap_pause_us"));
        else
            printf("stopped %s %s on host %s\n", what, lc_str(res, "key", target), host);
        json_decref(res);
    }
    if (o->json) lc_print_json(all);
    json_decref(all);
    json_decref(hosts);
    return rc;
}

static int lc_link(lcmd_t *o) {
    const char *what = o->npos ? o->pos[0] : "";
    int put = strcmp(what, "put") == 0, del = strcmp(what, "del") == 0;
    if ((!put && !del) || o->npos < 3 || (del && (o->npos != 3 || o->values))) {
        corral_cli_error("usage: corral link put|del <actor key> <contract id> [K=V]... --lattice L");
        return CORRAL_EXIT_USAGE;
    }
    for (int i = 3; i < o->npos; i++)
        if (!lc_kv(&o->values, o->pos[i], "value")) return CORRAL_EXIT_USAGE;
    const char *ln = o->link_name ? o->link_name : "default";
    json_t *ack = NULL;
    corral_err_t err;
    int ok = corral_lc_link(o->lc, put, o->pos[1], o->pos[2], ln, o->values,
                            put ? o->provider : NULL, &ack, &err) == CORRAL_OK;
    if (!ok)
        corral_cli_error("%s", corral_err_msg(&err));
    else if (o->json)
        lc_print_json(ack);
    else
        printf("%s %s -> %s (link name %s) in lattice %s\n", put ? "linked" : "unlinked", o->pos[1],
               o->pos[2], ln, o->lattice);
    json_decref(ack);
    return ok ? CORRAL_EXIT_OK : CORRAL_EXIT_FAIL;
}

/* An actor key (M..., 56 characters) as given, else an alias or name looked
 * up in the lattice's claims. */
static int lc_actor_key(lcmd_t *o, const char *what, char *out, size_t n) {
    if (what[0] == 'M' && strlen(what) == CORRAL_NKEY_PUBLIC_LEN) {
        snprintf(out, n, "%s", what);
        return 1;
    }
    char subj[256], who[300];
    snprintf(subj, sizeof subj, "wasmbus.ctl.%s.get.claims", o->lattice);
    snprintf(who, sizeof who, "no host of lattice %s (asked for its claims)", o->lattice);
    json_t *r = lc_request(o, subj, json_object(), who), *c;
    size_t i;
    out[0] = 0;
    json_array_foreach(json_object_get(r, "claims"), i, c) {
        const char *alias = json_string_value(json_object_get(c, "call_alias"));
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *sub = json_string_value(json_object_get(c, "sub"));
        if (sub && ((alias && strcmp(alias, what) == 0) || (name && strcmp(name, what) == 0))) {
            snprintf(out, n, "%s", sub);
            break;
        }
    }
    if (r && !out[0]) corral_cli_error("no actor key, alias or name '%s' in lattice %s", what, o->lattice);
    json_decref(r);
    return out[0] != 0;
}

static int lc_call(lcmd_t *o) {
    if (o->npos != 2) {
        corral_cli_error("usage: corral call <actor> <operation> --lattice L --cluster-seed S");
        return CORRAL_EXIT_USAGE;
    }
    const char *seed = o->cluster_seed ? o->cluster_seed : getenv("CORRAL_CLUSTER_SEED");
    if (!seed) {
        corral_cli_error("calling through a lattice needs --cluster-seed (a cluster seed SC... or "
                         "its file): hosts refuse unsigned invocations");
        return CORRAL_EXIT_USAGE;
    }
    corral_nkey_t cluster;
    corral_err_t err;
    corral_buf_t body = CORRAL_BUF_INIT, wire = CORRAL_BUF_INIT, resp = CORRAL_BUF_INIT;
    corral_lattice_invocation_t inv = {0};
    corral_lattice_response_t r = {0};
    natsMsg *reply = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    char key[CORRAL_NKEY_PUBLIC_LEN + 8], pub[CORRAL_NKEY_PUBLIC_LEN + 1], subj[512], bucket[256];
    int rc = CORRAL_EXIT_FAIL;
    if (corral_nkey_load(seed, CORRAL_NKEY_CLUSTER, &cluster, &err) != CORRAL_OK) {
        corral_cli_error("--cluster-seed: %s", corral_err_msg(&err));
        return CORRAL_EXIT_USAGE;
    }
    corral_nkey_public_str(&cluster, pub);
    if (o->payload_file) {
        if (corral_file_read(o->payload_file, 0, &body, &err) != CORRAL_OK) {
            corral_cli_error("%s: %s", o->payload_file, corral_err_msg(&err));
            rc = CORRAL_EXIT_INPUT;
            goto out;
        }
    } else if (o->payload && corral_buf_append(&body, o->payload, strlen(o->payload))) {
        corral_cli_error("out of memory");
        rc = CORRAL_EXIT_INTERNAL;
        goto out;
    }
    if (!lc_actor_key(o, o->pos[0], key, sizeof key)) goto out;
    int64_t maxp = natsConnection_GetMaxPayload(corral_lc_nats(o->lc));
    int chunked = (int64_t)body.len + 16384 > (maxp > 0 ? maxp : 1 << 20);
    /* the CLI is an anonymous origin named by the cluster key it signs with */
    inv.origin.public_key = pub;
    inv.target.public_key = key;
    inv.operation = o->pos[1];
    inv.host_id = pub;
    inv.content_length = body.len;
    if (corral_lattice_sign(&inv, body.data, body.len, &cluster, 0, 0, &err) != CORRAL_OK) {
        corral_cli_error("signing the invocation: %s", corral_err_msg(&err));
        goto out;
    }
    snprintf(bucket, sizeof bucket, "CHUNKS_%s", o->lattice);
    if (chunked) { /* above the limit: the host fetches "<id>.<i>" from the chunk bucket */
        natsStatus s = natsConnection_JetStream(&js, corral_lc_nats(o->lc), NULL);
        if (s == NATS_OK) s = js_KeyValue(&kv, js, bucket);
        size_t cs = (size_t)(maxp > 20480 ? maxp - 16384 : 4096);
        char ck[CORRAL_LATTICE_ID_MAX + 32];
        for (size_t off = 0, i = 0; s == NATS_OK && off < body.len; off += cs, i++) {
            size_t n = body.len - off < cs ? body.len - off : cs;
            snprintf(ck, sizeof ck, "%s.%zu", inv.id, i);
            s = kvStore_Put(NULL, kv, ck, body.data + off, (int)n);
        }
        if (s != NATS_OK) {
            corral_cli_error("a payload of %zu bytes needs the chunk bucket %s: %s", body.len,
                             bucket, natsStatus_GetText(s));
            goto out;
        }
    } else {
        inv.msg = body.data;
        inv.msg_len = body.len;
    }
    if (corral_lattice_invocation_encode(&inv, &wire, &err) != CORRAL_OK) {
        corral_cli_error("encoding the invocation: %s", corral_err_msg(&err));
        goto out;
    }
    snprintf(subj, sizeof subj, "wasmbus.rpc.%s.%s", o->lattice, key);
    natsStatus s = natsConnection_Request(&reply, corral_lc_nats(o->lc), subj, wire.data,
                                          (int)wire.len, o->timeout_ms);
    if (s == NATS_TIMEOUT) {
        corral_cli_error("actor %s did not answer in %ld ms", key, o->timeout_ms);
        goto out;
    }
    if (s == NATS_NO_RESPONDERS) {
        corral_cli_error("no host of lattice %s runs actor %s", o->lattice, key);
        goto out;
    }
    if (s != NATS_OK) {
        corral_cli_error("calling %s over NATS: %s", key, natsStatus_GetText(s));
        goto out;
    }
    if (corral_lattice_response_decode((const uint8_t *)natsMsg_GetData(reply),
                                       (size_t)natsMsg_GetDataLength(reply), &r, &err) != CORRAL_OK) {
        corral_cli_error("the answer of %s: %s", key, corral_err_msg(&err));
        goto out;
    }
    if (!r.invocation_id || strcmp(r.invocation_id, inv.id) != 0) {
        corral_cli_error("the answer of %s is for another call", key);
        goto out;
    }
    if (r.error) {
        corral_cli_error("%s: %s", key, r.error);
        goto out;
    }
    if (r.msg_len == 0 && r.content_length > 0) {
        /* a large answer waits in the chunk bucket under "<id>-r.<i>" */
        if (!kv) {
            natsStatus ks = natsConnection_JetStream(&js, corral_lc_nats(o->lc), NULL);
            if (ks == NATS_OK) ks = js_KeyValue(&kv, js, bucket);
            if (ks != NATS_OK) {
                corral_cli_error("the answer is in chunks but %s cannot be opened", bucket);
                goto out;
            }
        }
        if (r.content_length > (64u << 20)) {
            corral_cli_error("the answer of %llu bytes is too large", (unsigned long long)r.content_length);
            goto out;
        }
        char ck[CORRAL_LATTICE_ID_MAX + 32];
        for (size_t i = 0; resp.len < r.content_length; i++) {
            kvEntry *e = NULL;
            snprintf(ck, sizeof ck, "%s-r.%zu", inv.id, i);
            if (kvStore_Get(&e, kv, ck) != NATS_OK || kvEntry_ValueLen(e) <= 0 ||
                (uint64_t)kvEntry_ValueLen(e) > r.content_length - resp.len) {
                kvEntry_Destroy(e);
                corral_cli_error("chunk %zu of the answer is missing or has a bad size", i);
                goto out;
            }
            corral_buf_append(&resp, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e));
            kvEntry_Destroy(e);
            kvStore_Purge(kv, ck, NULL);
        }
    } else if (r.msg_len && corral_buf_append(&resp, r.msg, r.msg_len)) {
        corral_cli_error("out of memory");
        goto out;
    }
    if (o->json) {
        corral_buf_t b = CORRAL_BUF_INIT;
        corral_base64_encode(resp.data, resp.len, &b);
        corral_buf_append(&b, "", 1);
        json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "actor", key, "operation", o->pos[1],
                              "bytes", (json_int_t)resp.len, "response_b64",
                              b.data ? (const char *)b.data : "");
        if (resp.len && corral_utf8_valid(resp.data, resp.len)) {
            json_object_set_new(j, "response", json_stringn((const char *)resp.data, resp.len));
        }
        lc_print_json(j);
        json_decref(j);
        corral_buf_free(&b);
    } else if (resp.len) {
        fwrite(resp.data, 1, resp.len, stdout);
        if (resp.data[resp.len - 1] != '\n') putchar('\n');
    }
    rc = fflush(stdout) == 0 ? CORRAL_EXIT_OK : CORRAL_EXIT_INTERNAL;
out:
    corral_nkey_wipe(&cluster);
    inv.origin.public_key = inv.target.public_key = inv.operation = inv.host_id = NULL;
    inv.msg = NULL;
    corral_lattice_invocation_deinit(&inv);
    corral_lattice_response_deinit(&r);
    natsMsg_Destroy(reply);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    corral_buf_free(&body);
    corral_buf_free(&wire);
    corral_buf_free(&resp);
    return rc;
}

int corral_cli_lattice_cmd(int argc, char **argv) {
    lcmd_t o = {0};
    int rc = lc_parse(argc, argv, &o);
    if (rc) {
        rc = rc < 0 ? CORRAL_EXIT_OK : rc;
        goto out;
    }
    const char *cmd = argv[0];
    if (strcmp(cmd, "get") == 0 && o.npos >= 1 &&
        (!strcmp(o.pos[0], "hosts") || !strcmp(o.pos[0], "links") || !strcmp(o.pos[0], "claims"))) {
        /* getopt has permuted argv (options first, then the positionals);
         * corral_cli_lattice_get wants "get <what> options..." */
        char **full = malloc((size_t)(argc + 1) * sizeof *full);
        rc = CORRAL_EXIT_INTERNAL;
        if (full) {
            int k = 0;
            full[k++] = argv[0];
            full[k++] = o.pos[0];
            for (int i = 1; i < argc - o.npos; i++) full[k++] = argv[i];
            for (int i = 1; i < o.npos; i++) full[k++] = o.pos[i];
            full[k] = NULL;
            rc = corral_cli_lattice_get(k, full);
            free(full);
        }
        goto out;
    }
    if ((rc = lc_connect(&o))) goto out;
    if (strcmp(cmd, "get") == 0) rc = lc_get(&o);
    else if (strcmp(cmd, "start") == 0) rc = lc_start(&o);
    else if (strcmp(cmd, "stop") == 0) rc = lc_stop_update(&o, 0);
    else if (strcmp(cmd, "update") == 0) rc = lc_stop_update(&o, 1);
    else if (strcmp(cmd, "link") == 0) rc = lc_link(&o);
    else if (strcmp(cmd, "call") == 0) rc = lc_call(&o);
    else {
        corral_cli_error("'%s' does not work through a lattice", cmd);
        rc = CORRAL_EXIT_USAGE;
    }
out:
    corral_lc_close(o.lc);
    json_decref(o.aopts);
    json_decref(o.values);
    json_decref(o.constraints);
    return rc;
}

#else /* !CORRAL_HAVE_LATTICE */

int corral_cli_watch(int argc, char **argv) {
    (void)argc;
    (void)argv;
    corral_cli_error("this corral was built without lattice support (libnats)");
    return CORRAL_EXIT_INTERNAL;
}

int corral_cli_lattice_get(int argc, char **argv) { return corral_cli_watch(argc, argv); }

int corral_cli_lattice_wants(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--lattice") == 0 || strncmp(argv[i], "--lattice=", 10) == 0) return 1;
    return 0;
}

int corral_cli_lattice_cmd(int argc, char **argv) { return corral_cli_watch(argc, argv); }

#endif
