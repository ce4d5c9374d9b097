/*
 * cmd_lattice.c - the lattice side of the `corral` command, speaking NATS
 * directly (docs/lattice.md subjects):
 *   corral watch events   prints the lattice's CloudEvents as they come;
 *   corral get hosts|links|claims   (reached from `corral get` through
 *                         corral_cli_lattice_get: `get` itself is
 *                         cmd_get.c's) asks every host (ping.hosts,
 *                         collected until a timeout) or the lattice's bucket.
 * Built with lattice support when the corral_lattice target exists
 * (CORRAL_HAVE_LATTICE); otherwise each says so and exits 4.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int corral_cli_lattice_get(int argc, char **argv);

#ifdef CORRAL_HAVE_LATTICE

#include <jansson.h>
#include <nats/nats.h>
#include <signal.h>

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

#else /* !CORRAL_HAVE_LATTICE */

int corral_cli_watch(int argc, char **argv) {
    (void)argc;
    (void)argv;
    corral_cli_error("this corral was built without lattice support (libnats)");
    return CORRAL_EXIT_INTERNAL;
}

int corral_cli_lattice_get(int argc, char **argv) { return corral_cli_watch(argc, argv); }

#endif
