/*
 * cmd_up.c - `corral up [manifest.yaml]`: runs a host in the foreground.
 * Parses the manifest first (a mistake is reported with file, line and key
 * before anything starts), then starts the host (corral_host.h) and its
 * control socket, applies the manifest (actors, then providers, then links),
 * and waits for SIGINT / SIGTERM or `corral stop host`; then drains and
 * stops cleanly and exits 0.
 */
#include "cli.h"

#ifndef CORRAL_HAVE_HOST
/* A build without the host module (host/ not built yet) still links. */
int corral_cli_up(int argc, char **argv) {
    (void)argc;
    (void)argv;
    corral_cli_error("this corral was built without the host module: 'up' is unavailable");
    return CORRAL_EXIT_INTERNAL;
}
#else

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control_client.h"
#include "corral_host.h"
#include "manifest.h"
#include "ui_server.h"
#ifdef CORRAL_HAVE_HTTP_PROVIDER
#include "corral_provider_http.h"
#endif
#ifdef CORRAL_HAVE_LATTICE
#include "corral_lattice.h"
#endif

static void up_usage(FILE *out) {
    fprintf(out,
            "usage: corral up [manifest.yaml] [options]\n\n"
            "Runs a host in the foreground: starts it, opens its control socket\n"
            "(<run dir>/control.sock), applies the manifest (docs/manifest.md: actors,\n"
            "capability providers, links; ${NAME} is taken from the environment), logs to\n"
            "stderr, and runs until SIGINT or SIGTERM (or 'corral stop host'); then it\n"
            "drains calls in flight, stops everything and exits 0. A second SIGINT exits\n"
            "at once.\n\n"
            "  --run-dir D        where the control socket lives (default\n"
            "                     $XDG_RUNTIME_DIR/corral, else /tmp/corral-<uid>)\n"
            "  --data-dir D       where providers keep files, e.g. SQLite databases (default\n"
            "                     $XDG_DATA_HOME/corral, else ~/.local/share/corral)\n"
            "  --log-format F     text (default) or json (one object per line)\n"
            "  --log-level L      error, warn, info (default), debug or trace\n"
            "  --allow-unsigned   accept actor modules without a claims token\n"
            "  --engine E         interp (default), aot (native code, compiled at start\n"
            "                     when not cached) or auto (interpreter at once, native\n"
            "                     code swapped in after a background compile); per actor:\n"
            "                     'engine:' in the manifest\n"
            "  --aot-signer K     run actors on prebuilt AOT artifacts from outside the\n"
            "                     host's cache when signed by operator or account key K\n"
            "                     ('corral compile --sign'; repeatable; adds to the\n"
            "                     manifest's aot_signers)\n"
            "  --allowed-issuer A accept only actors signed by account key A (repeatable;\n"
            "                     default: any issuer whose signature verifies)\n"
            "  --revoked X        refuse actors whose token id (jti) or module key is X, at\n"
            "                     start and at update (repeatable)\n"
            "  --max-pages N      default memory cap per actor instance, in 64 KiB pages\n"
            "                     (default 256 = 16 MiB; a manifest's max_pages overrides)\n"
            "  --workers N        worker threads for provider -> actor calls (default: one\n"
            "                     per core)\n"
            "  --label K=V        a host label (repeatable; adds to the manifest's labels)\n"
            "  --lattice NAME     join lattice NAME over NATS (docs/lattice.md)\n"
            "  --nats URL         NATS server(s) of the lattice (default nats://127.0.0.1:4222)\n"
            "  --nats-creds FILE  NATS credentials file; --nats-nkey SEED|FILE a user nkey\n"
            "  --cluster-seed S   the lattice's cluster seed (SC...) or a file holding it\n"
            "                     (default: a new one, printed as a warning)\n"
            "  --cluster-issuer C accept invocations signed by cluster key C (repeatable)\n"
            "  --metrics-port N   serve Prometheus metrics at http://ADDR:N/metrics (0 = a\n"
            "                     free port, logged at start; default: off)\n"
            "  --metrics-bind A   the address for --metrics-port (default 127.0.0.1)\n"
            "  --ui-port N        serve the web dashboard of 'corral ui' (docs/ui.md) at\n"
            "                     http://127.0.0.1:N/ (0 = a free port, logged at start;\n"
            "                     default: off)\n"
            "  --events stdout    print lifecycle events (actor_started, provider_stopped,\n"
            "                     linkdef_set, ...) as CloudEvents JSON, one per line\n\n"
            "exit codes: 0 stopped cleanly, 1 the host or the manifest's actors, providers\n"
            "            or links failed to start, 2 usage error, 3 the manifest is missing\n"
            "            or malformed, 4 internal error\n");
}

/* --events stdout: one CloudEvent a line, whole lines even from several threads */
static void print_event(void *user, const char *line) {
    (void)user;
    flockfile(stdout);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    funlockfile(stdout);
}

static corral_host_t *volatile g_host;
static volatile sig_atomic_t g_signals;

static void on_signal(int sig) {
    (void)sig;
    if (++g_signals > 1 && sig == SIGINT) _exit(130);
    if (g_host) corral_host_request_stop(g_host);
}

/* Builds a borrowed corral_host_kv_t view of manifest pairs. */
static corral_host_kv_t *kv_view(const corral_manifest_kv_t *kv, size_t n) {
    corral_host_kv_t *v = corral_calloc(n ? n : 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i].key = kv[i].key;
        v[i].value = kv[i].value;
    }
    return v;
}

static const char *kv_get(const corral_manifest_kv_t *kv, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0) return kv[i].value;
    return NULL;
}

/* Starts what the manifest lists. On failure err names file, line and item. */
static corral_status_t apply_manifest(corral_host_t *host, const corral_manifest_t *m,
                                      int allow_unsigned, corral_err_t *err) {
    corral_status_t st;
    for (size_t i = 0; i < m->n_actors; i++) {
        const corral_manifest_actor_t *a = &m->actors[i];
        corral_host_actor_opts_t o;
        memset(&o, 0, sizeof o);
        o.allow_unsigned = allow_unsigned;
        o.limits.max_instances = a->max_instances;
        o.limits.deadline_ms = a->deadline_ms;
        o.limits.fuel = a->fuel;
        o.limits.max_pages = a->max_pages;
        o.engine = (corral_host_engine_t)a->engine;
        o.artifact = a->artifact;
        corral_host_actor_info_t info;
        if ((st = corral_host_actor_start_file(host, a->path, &o, &info, err)) != CORRAL_OK)
            return corral_err_wrap(err, "%s:%u: actors[%zu]", m->file, a->line, i);
        corral_log(CORRAL_LOG_DEBUG, "up", "actor %s (%s, rev %lld) started from %s", info.key,
                   info.name[0] ? info.name : "unsigned", (long long)info.rev, a->path);
    }
    for (size_t i = 0; i < m->n_providers; i++) {
        const corral_manifest_provider_t *p = &m->providers[i];
        corral_host_kv_t *vals = kv_view(p->values, p->n_values);
        if (!vals) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        corral_host_provider_opts_t o;
        memset(&o, 0, sizeof o);
        o.kind = p->kind;
        o.path = p->path;
        o.link_name = p->link_name;
        o.values = vals;
        o.nvalues = p->n_values;
        corral_host_provider_info_t info;
        st = corral_host_provider_start(host, &o, &info, err);
        corral_free(vals);
        if (st != CORRAL_OK)
            return corral_err_wrap(err, "%s:%u: capabilities[%zu] (%s)", m->file, p->line, i,
                                   p->kind ? p->kind : p->path);
        corral_log(CORRAL_LOG_DEBUG, "up", "provider %s (%s, %s, link name %s) started", info.key,
                   info.name, info.contract_id, info.link_name);
    }
    for (size_t i = 0; i < m->n_links; i++) {
        const corral_manifest_link_t *l = &m->links[i];
        corral_host_kv_t *vals = kv_view(l->values, l->n_values);
        if (!vals) return corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory");
        st = corral_host_link_put(host, l->actor, l->contract_id, l->link_name, vals, l->n_values,
                                  err);
        corral_free(vals);
        if (st != CORRAL_OK)
            return corral_err_wrap(err, "%s:%u: links[%zu] (%s -> %s)", m->file, l->line, i,
                                   l->actor, l->contract_id);
        corral_log(CORRAL_LOG_INFO, "up", "linked %s -> %s (link name %s)", l->actor,
                   l->contract_id, l->link_name);
        const char *port = kv_get(l->values, l->n_values, "PORT");
        if (port && (strcmp(l->contract_id, "wasmcloud:httpserver") == 0 ||
                     strcmp(l->contract_id, "wascc:http_server") == 0)) {
            const char *bind = kv_get(l->values, l->n_values, "BIND");
            corral_log(CORRAL_LOG_INFO, "up", "%s serves HTTP on http://%s:%s/", l->actor,
                       bind && strcmp(bind, "0.0.0.0") != 0 ? bind : "127.0.0.1", port);
        }
    }
    return CORRAL_OK;
}

static int add_label(corral_host_kv_t **labels, size_t *n, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        corral_cli_error("--label '%s' must look like KEY=VALUE", kv);
        return CORRAL_EXIT_USAGE;
    }
    corral_host_kv_t *grown = corral_realloc(*labels, (*n + 1) * sizeof **labels);
    if (!grown) {
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    *labels = grown;
    grown[*n].key = corral_strndup(kv, (size_t)(eq - kv));
    grown[*n].value = eq + 1;
    if (!grown[*n].key) {
        corral_cli_error("out of memory");
        return CORRAL_EXIT_INTERNAL;
    }
    (*n)++;
    return CORRAL_EXIT_OK;
}

/* Appends a borrowed argv string to a growing array (repeatable options). */
static corral_status_t push_arg(const char ***arr, size_t *n, const char *v) {
    const char **grown = corral_realloc(*arr, (*n + 1) * sizeof **arr);
    if (!grown) return CORRAL_ERR_NOMEM;
    grown[(*n)++] = v;
    *arr = grown;
    return CORRAL_OK;
}

int corral_cli_up(int argc, char **argv) {
    static const struct option opts[] = {{"run-dir", required_argument, NULL, 'R'},
                                         {"data-dir", required_argument, NULL, 'D'},
                                         {"log-format", required_argument, NULL, 'F'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {"allow-unsigned", no_argument, NULL, 'U'},
                                         {"workers", required_argument, NULL, 'w'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"engine", required_argument, NULL, 1009},
                                         {"aot-signer", required_argument, NULL, 1101},
                                         {"allowed-issuer", required_argument, NULL, 1006},
                                         {"revoked", required_argument, NULL, 1007},
                                         {"max-pages", required_argument, NULL, 1008},
                                         {"lattice", required_argument, NULL, 1000},
                                         {"nats", required_argument, NULL, 1001},
                                         {"nats-creds", required_argument, NULL, 1002},
                                         {"nats-nkey", required_argument, NULL, 1003},
                                         {"cluster-seed", required_argument, NULL, 1004},
                                         {"cluster-issuer", required_argument, NULL, 1005},
                                         {"metrics-port", required_argument, NULL, 1010},
                                         {"metrics-bind", required_argument, NULL, 1011},
                                         {"events", required_argument, NULL, 1012},
                                         {"ui-port", required_argument, NULL, 1013},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *run_dir = NULL, *data_dir = NULL;
    corral_log_format_t fmt = CORRAL_LOG_TEXT;
    corral_log_level_t level = CORRAL_LOG_INFO;
    int allow_unsigned = 0, c, rc = CORRAL_EXIT_USAGE;
    corral_host_engine_t engine = CORRAL_HOST_ENGINE_DEFAULT;
    unsigned long long workers = 0;
    corral_host_kv_t *labels = NULL;
    size_t n_cli_labels = 0, n_labels = 0;
    corral_manifest_t *m = NULL;
    corral_host_t *host = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    const char *lattice = NULL, *nats_url = NULL, *nats_creds = NULL, *nats_nkey = NULL,
               *cluster_seed = NULL;
    const char **issuers = NULL, **allowed = NULL, **revoked = NULL;
    size_t n_issuers = 0, n_allowed = 0, n_revoked = 0;
    const char **aot_signers = NULL; /* borrowed: argv and the manifest */
    size_t n_aot_signers = 0;
    unsigned long max_pages = 0;
    long metrics_port = -1;
    const char *metrics_bind = NULL;
    corral_host_metrics_http_t *metrics_srv = NULL;
    long ui_port = -1;
    corral_ui_t *ui = NULL;
    int events_stdout = 0;
#ifdef CORRAL_HAVE_LATTICE
    corral_lattice_t *lat = NULL;
#endif

    optind = 1;
    while ((c = getopt_long(argc, argv, "R:D:F:L:Uw:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'R': run_dir = optarg; break;
        case 'D': data_dir = optarg; break;
        case 'F':
            if (strcmp(optarg, "text") == 0) fmt = CORRAL_LOG_TEXT;
            else if (strcmp(optarg, "json") == 0) fmt = CORRAL_LOG_JSON;
            else {
                corral_cli_error("--log-format must be text or json, not '%s'", optarg);
                goto done;
            }
            break;
        case 'L':
            if (corral_log_level_parse(optarg, &level) != CORRAL_OK) {
                corral_cli_error("--log-level must be error, warn, info, debug or trace, not '%s'",
                                 optarg);
                goto done;
            }
            break;
        case 'U': allow_unsigned = 1; break;
        case 1009:
            if (strcmp(optarg, "interp") == 0) engine = CORRAL_HOST_ENGINE_INTERP;
            else if (strcmp(optarg, "aot") == 0) engine = CORRAL_HOST_ENGINE_AOT;
            else if (strcmp(optarg, "auto") == 0) engine = CORRAL_HOST_ENGINE_AUTO;
            else {
                corral_cli_error("--engine must be interp, aot or auto, not '%s'", optarg);
                goto done;
            }
            break;
        case 'w':
            if (!corral_cli_parse_uint("--workers", optarg, 0, 1024, &workers)) goto done;
            break;
        case 'l':
            if ((rc = add_label(&labels, &n_cli_labels, optarg)) != CORRAL_EXIT_OK) goto done;
            rc = CORRAL_EXIT_USAGE;
            break;
        case 1000: lattice = optarg; break;
        case 1001: nats_url = optarg; break;
        case 1002: nats_creds = optarg; break;
        case 1003: nats_nkey = optarg; break;
        case 1004: cluster_seed = optarg; break;
        case 1005:
        case 1006:
        case 1007: {
            const char ***arr = c == 1005 ? &issuers : c == 1006 ? &allowed : &revoked;
            size_t *n = c == 1005 ? &n_issuers : c == 1006 ? &n_allowed : &n_revoked;
            if (push_arg(arr, n, optarg) != CORRAL_OK) {
                corral_cli_error("out of memory");
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            break;
        }
        case 1008: {
            char *end = NULL;
            max_pages = strtoul(optarg, &end, 10);
            if (!end || *end || optarg[0] < '1' || optarg[0] > '9' || max_pages > 65536) {
                corral_cli_error("--max-pages needs a number from 1 to 65536, not '%s'", optarg);
                goto done;
            }
            break;
        }
        case 1010: {
            char *end = NULL;
            metrics_port = strtol(optarg, &end, 10);
            if (!end || *end || !*optarg || metrics_port < 0 || metrics_port > 65535) {
                corral_cli_error("--metrics-port needs a port from 0 to 65535, not '%s'", optarg);
                goto done;
            }
            break;
        }
        case 1101:
            if (push_arg(&aot_signers, &n_aot_signers, optarg) != CORRAL_OK) {
                corral_cli_error("out of memory");
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            break;
        case 1011: metrics_bind = optarg; break;
        case 1012:
            if (strcmp(optarg, "stdout") != 0) {
                corral_cli_error("--events takes 'stdout', not '%s'", optarg);
                goto done;
            }
            events_stdout = 1;
            break;
        case 1013: {
            unsigned long long v;
            if (!corral_cli_parse_uint("--ui-port", optarg, 0, 65535, &v)) goto done;
            ui_port = (long)v;
            break;
        }
        case 'h': up_usage(stdout); rc = CORRAL_EXIT_OK; goto done;
        default: up_usage(stderr); goto done;
        }
    }
    n_labels = n_cli_labels;
    if (metrics_bind && metrics_port < 0) {
        corral_cli_error("--metrics-bind needs --metrics-port");
        goto done;
    }
    if (argc - optind > 1) {
        corral_cli_error("up takes at most one manifest (see 'corral up --help')");
        goto done;
    }
#ifndef CORRAL_HAVE_LATTICE
    if (lattice || nats_url || nats_creds || nats_nkey || cluster_seed || n_issuers) {
        corral_cli_error("this corral was built without lattice support (libnats)");
        rc = CORRAL_EXIT_INTERNAL;
        goto done;
    }
#else
    if (!lattice && (nats_url || nats_creds || nats_nkey || cluster_seed || n_issuers)) {
        corral_cli_error("--nats, --cluster-seed and --cluster-issuer need --lattice NAME");
        goto done;
    }
#endif
    if (argc - optind == 1) {
        corral_status_t st = corral_manifest_load(argv[optind], &m, &err);
        if (st != CORRAL_OK) {
            corral_cli_error("%s", corral_err_msg(&err));
            rc = st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_INPUT;
            goto done;
        }
        if (m->n_labels) {
            corral_host_kv_t *grown = corral_realloc(labels, (n_labels + m->n_labels) * sizeof *labels);
            if (!grown) {
                corral_cli_error("out of memory");
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            labels = grown;
            for (size_t i = 0; i < m->n_labels; i++) {
                labels[n_labels].key = m->labels[i].key;
                labels[n_labels++].value = m->labels[i].value;
            }
        }
        for (size_t i = 0; i < m->n_aot_signers; i++)
            if (push_arg(&aot_signers, &n_aot_signers, m->aot_signers[i]) != CORRAL_OK) {
                corral_cli_error("out of memory");
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
    }

    corral_log_set_format(fmt);
    corral_log_set_level(level);

    corral_host_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = data_dir;
    cfg.run_dir = run_dir;
    cfg.labels = labels;
    cfg.nlabels = n_labels;
    cfg.worker_threads = (uint32_t)workers;
    cfg.allow_unsigned = allow_unsigned;
    cfg.engine = engine;
    cfg.allowed_issuers = allowed;
    cfg.n_allowed_issuers = n_allowed;
    cfg.revoked = revoked;
    cfg.n_revoked = n_revoked;
    cfg.aot_signers = aot_signers;
    cfg.n_aot_signers = n_aot_signers;
    cfg.limits.max_pages = (uint32_t)max_pages;

#ifdef CORRAL_HAVE_HTTP_PROVIDER
    if (!corral_provider_builtin_find(CORRAL_PROVIDER_HTTP_NAME)) {
        corral_status_t rs = corral_provider_builtin_register(corral_provider_http(), &err);
        if (rs != CORRAL_OK && rs != CORRAL_ERR_EXISTS)
            corral_log(CORRAL_LOG_WARN, "up", "HTTP server provider unavailable: %s",
                       corral_err_msg(&err));
    }
#endif

    rc = CORRAL_EXIT_FAIL;
    corral_status_t st;
    /* Refuse before starting anything when a host already answers there. */
    corral_ctl_t *other = NULL;
    if (corral_ctl_connect(run_dir, &other, NULL) == CORRAL_OK) {
        corral_cli_error("another host is running on %s: stop it ('corral stop host') or use "
                         "another --run-dir",
                         corral_ctl_path(other));
        corral_ctl_close(other);
        goto done;
    }
    if ((st = corral_host_new(&cfg, &host, &err)) == CORRAL_OK && events_stdout)
        corral_host_set_event_sink(host, print_event, NULL);
    if (st != CORRAL_OK || (st = corral_host_start(host, &err)) != CORRAL_OK) {
        corral_cli_error("cannot start the host: %s", corral_err_msg(&err));
        rc = corral_cli_exit_for(st) == CORRAL_EXIT_INTERNAL ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
        goto done;
    }

    /* Signals only request a stop; the main thread does the work. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_host = host;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

#ifdef CORRAL_HAVE_LATTICE
    if (lattice) {
        corral_lattice_config_t lc;
        memset(&lc, 0, sizeof lc);
        lc.lattice = lattice;
        lc.nats_url = nats_url;
        lc.creds_file = nats_creds;
        lc.nkey_seed = nats_nkey;
        lc.cluster_seed = cluster_seed;
        lc.cluster_issuers = issuers;
        lc.n_cluster_issuers = n_issuers;
        lc.labels = labels;
        lc.nlabels = n_labels;
        if ((st = corral_lattice_new(host, &lc, &lat, &err)) != CORRAL_OK ||
            (st = corral_lattice_start(lat, &err)) != CORRAL_OK) {
            corral_cli_error("cannot join lattice %s: %s", lattice, corral_err_msg(&err));
            rc = st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
            goto stop;
        }
        /* seed text given on the command line: erase it once read */
        if (cluster_seed && cluster_seed[0] == 'S' && !strchr(cluster_seed, '/'))
            corral_nkey_wipe_text((char *)cluster_seed, strlen(cluster_seed) + 1);
        if (nats_nkey && nats_nkey[0] == 'S' && !strchr(nats_nkey, '/'))
            corral_nkey_wipe_text((char *)nats_nkey, strlen(nats_nkey) + 1);
    }
#endif
    if ((st = corral_host_control_start(host, run_dir, &err)) != CORRAL_OK) {
        corral_cli_error("cannot open the control socket: %s", corral_err_msg(&err));
        goto stop;
    }
    if (metrics_port >= 0) {
        if ((st = corral_host_metrics_http_start(host, metrics_bind, (uint16_t)metrics_port,
                                                 &metrics_srv, &err)) != CORRAL_OK) {
            corral_cli_error("cannot serve metrics: %s", corral_err_msg(&err));
            goto stop;
        }
        corral_log(CORRAL_LOG_INFO, "up", "metrics at http://%s:%u/metrics",
                   metrics_bind ? metrics_bind : "127.0.0.1",
                   (unsigned)corral_host_metrics_http_port(metrics_srv));
    }
    /* the dashboard is a client of the control socket opened just above, or
     * on a lattice of the lattice (docs/ui.md); a seed given as text was
     * wiped above, so only a seed file reaches it */
    if (ui_port >= 0 &&
        (st = lattice ? corral_cli_ui_serve_lattice(lattice, nats_url, nats_creds,
                                                    nats_nkey && *nats_nkey ? nats_nkey : NULL,
                                                    (uint16_t)ui_port, &ui, &err)
                      : corral_cli_ui_serve(run_dir, (uint16_t)ui_port, &ui, &err)) != CORRAL_OK) {
        corral_cli_error("cannot serve the dashboard: %s", corral_err_msg(&err));
        goto stop;
    }
    if (m && (st = apply_manifest(host, m, allow_unsigned, &err)) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        rc = st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
        goto stop;
    }
    corral_log(CORRAL_LOG_INFO, "up", "host %s ready: %zu actor(s), %zu provider(s), %zu link(s)%s%s; control socket %s",
               corral_host_key(host), m ? m->n_actors : 0, m ? m->n_providers : 0,
               m ? m->n_links : 0, m ? " from " : "", m ? m->file : "",
               corral_host_control_path(host));
    while (!corral_host_wait(host, 0)) {
    }
    corral_log(CORRAL_LOG_INFO, "up", "stopping: draining calls in flight");
    rc = CORRAL_EXIT_OK;
stop:
    corral_ui_free(ui); /* before the host: its requests go to the host */
    ui = NULL;
    corral_host_metrics_http_stop(metrics_srv);
    metrics_srv = NULL;
    corral_host_stop(host);
#ifdef CORRAL_HAVE_LATTICE
    corral_lattice_free(lat); /* after the host: nothing is inside a lattice hook now */
    lat = NULL;
#endif
    if (rc == CORRAL_EXIT_OK) corral_log(CORRAL_LOG_INFO, "up", "host stopped");
done:
    g_host = NULL;
#ifdef CORRAL_HAVE_LATTICE
    corral_lattice_free(lat);
#endif
    corral_host_free(host);
    corral_free(issuers);
    corral_free(allowed);
    corral_free(revoked);
    corral_free(aot_signers);
    for (size_t i = 0; i < n_cli_labels; i++) corral_free((char *)labels[i].key);
    corral_free(labels);
    corral_manifest_free(m);
    return rc;
}

#endif /* CORRAL_HAVE_HOST */
